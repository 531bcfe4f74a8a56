"""Every form that takes files stops at its limit while the body streams: 413 with a
French message, nothing stored, and the view that would store it never runs."""

import contextlib
import inspect
import select
import socket

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver, reverse
from django.utils.crypto import get_random_string

from candidatures.models import CguAcceptance, Sollicitation
from candidatures.services.eligibility import PARC_RULE
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import ATTACHMENT_RULE, sollicitation_open
from candidatures.views.candidature import MAX_ELIGIBILITY_FILES
from preuves.models import Fichier
from preuves.uploads import FORM_OVERHEAD_BYTES, bounded_upload
from tests.factories import CandidatureFactory, UserFactory, company_user

GIB = 2**30


def _ready(user):
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


@pytest.fixture
def company(client):
    candidature = CandidatureFactory(admin_validee=True)
    member = _ready(company_user(candidature.editeur))
    client.force_login(member)
    return candidature


def _stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def _url(name, candidature):
    if name == "candidatures:sollicitation_answer":
        submitted = CandidatureFactory(admin_soumise=True, editeur=candidature.editeur)
        sollicitation = sollicitation_open(
            candidature=submitted, actor=UserFactory(instructeur=True), text="Précisez."
        )
        return reverse(name, args=[submitted.pk, sollicitation.pk])
    if name == "college:reserve_answer":
        return reverse("college:reserve_answer", args=[1])
    if name == "administration_rem_import":
        return reverse("referentiel_admin:import", args=[candidature.campagne.dsr.code])
    if name == "verifier":
        return reverse("verifier:attestation", args=["SEGUR-X-2026-00001"])
    return reverse(name, args=[candidature.pk])


# Every upload form a company reaches, and the agency's REM import.
FORMS = [
    "candidatures:sollicitation_answer",
    "candidatures:parc_upload",
    "candidatures:eligibility",
    "dossier:recording",
    "dossier:lot_new",
    "verifier",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", FORMS)
def test_a_declared_gigabyte_is_refused_before_reading(client, company, media_root, name):
    url = _url(name, company)
    # The body is a few bytes; the declared length is what a 1 GiB upload announces.
    # The server must answer from the header alone, without waiting for the body.
    response = client.post(
        url,
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(GIB),
    )
    assert response.status_code == 413, f"{url} → {response.status_code}"
    assert "rien n’a été enregistré" in response.text
    assert Fichier.objects.count() == 0
    assert _stored_files(media_root) == []


@pytest.mark.django_db
def test_reserve_answer_refuses_an_oversize_body(client, company):
    response = client.post(
        reverse("college:reserve_answer", args=[1]),
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(GIB),
    )
    assert response.status_code == 413


@pytest.mark.django_db
def test_rem_import_refuses_an_oversize_body(client):
    admin = _ready(UserFactory(admin=True))
    client.force_login(admin)
    candidature = CandidatureFactory()
    response = client.post(
        reverse("referentiel_admin:import", args=[candidature.campagne.dsr.code]),
        b"--x\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(GIB),
    )
    assert response.status_code == 413


@pytest.mark.django_db
def test_parc_sheet_one_byte_over_the_limit_stops_the_upload(client, company, media_root):
    sheet = SimpleUploadedFile("parc.csv", b"a" * (PARC_RULE.max_bytes + 1))
    response = client.post(reverse("candidatures:parc_upload", args=[company.pk]), {"file": sheet})
    assert response.status_code == 413
    assert "« parc.csv » dépasse la taille maximale de 5 Mo" in response.text
    assert Fichier.objects.count() == 0
    assert _stored_files(media_root) == []
    company.refresh_from_db()
    assert company.parc_fichier_id is None


@pytest.mark.django_db
def test_attachment_one_byte_over_the_limit_does_not_answer(client, company, media_root):
    url = _url("candidatures:sollicitation_answer", company)
    big = SimpleUploadedFile("capture.pdf", b"%PDF-1.4\n" + b"0" * ATTACHMENT_RULE.max_bytes)
    response = client.post(url, {"text": "Voici la pièce.", "files": [big]})
    assert response.status_code == 413
    assert "« capture.pdf » dépasse la taille maximale de 50 Mo" in response.text
    assert Fichier.objects.count() == 0
    assert Sollicitation.objects.get().status == "ouverte"


@pytest.mark.django_db
def test_too_many_attachments_are_refused(client, company):
    url = _url("candidatures:sollicitation_answer", company)
    files = [SimpleUploadedFile(f"f{i}.txt", b"texte") for i in range(11)]
    response = client.post(url, {"text": "Onze pièces.", "files": files})
    assert response.status_code == 413
    assert Fichier.objects.count() == 0


def test_the_overhead_is_small():
    assert FORM_OVERHEAD_BYTES <= 2**20


# Through the real HTTP stack: the body is sent from a socket of ours, chunk by chunk,
# and the answer must arrive while most of it is still unsent.

STREAM_CHUNK = 64 * 1024


def _send_streamed(live_server, path: str, *, cookies: str, headers: dict, head: bytes, size: int,
                   chunked: bool = False) -> tuple[int, bytes, int]:  # fmt: skip
    """POST `head` then `size` bytes of file content; stop sending as soon as the server
    answers. Returns the status, the answer and how many body bytes were sent."""
    tail = b"\r\n--x--\r\n"
    host, port = live_server.thread.host, live_server.thread.port
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             f"Cookie: {cookies}", "Content-Type: multipart/form-data; boundary=x"]  # fmt: skip
    lines += [f"{key}: {value}" for key, value in headers.items()]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {len(head) + size + len(tail)}")
    sock = socket.create_connection((host, port), timeout=30)
    sent = 0
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

        def frame(data: bytes) -> bytes:
            return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data

        sock.sendall(frame(head))
        chunk = frame(b"0" * STREAM_CHUNK)
        while sent < size:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += STREAM_CHUNK
        answer = b""
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while data := sock.recv(65536):
                answer += data
    finally:
        sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return status, answer, sent


def _multipart_head(fields: dict, file_field: str, file_name: str) -> bytes:
    parts = b"".join(
        b'--x\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (key.encode(), value.encode())
        for key, value in fields.items()
    )
    return parts + (
        b'--x\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" % (file_field.encode(), file_name.encode())
    )


@pytest.fixture
def live_answer(live_server, client, company):
    token = get_random_string(32)
    url = _url("candidatures:sollicitation_answer", company)
    cookies = f"sessionid={client.cookies['sessionid'].value}; csrftoken={token}"
    return url, cookies, {"X-CSRFToken": token, "Referer": live_server.url}


@pytest.mark.django_db(transaction=True)
def test_a_streamed_attachment_over_the_limit_is_cut_short(live_server, live_answer, media_root):
    url, cookies, headers = live_answer
    size = ATTACHMENT_RULE.max_bytes + 40 * 2**20  # declared honestly, within 10 files
    head = _multipart_head({"text": "Voici."}, "files", "grosse.pdf")
    status, answer, sent = _send_streamed(
        live_server, url, cookies=cookies, headers=headers, head=head, size=size
    )
    assert status == 413, answer[:500]
    assert "dépasse la taille maximale de 50 Mo".encode() in answer
    # The server stopped at the limit (give or take what the sockets buffer), not at the end.
    assert sent < ATTACHMENT_RULE.max_bytes + 16 * 2**20, sent
    assert Fichier.objects.count() == 0
    assert _stored_files(media_root) == []
    assert Sollicitation.objects.get().status == "ouverte"


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_without_length_is_not_read(live_server, live_answer, media_root):
    url, cookies, headers = live_answer
    head = _multipart_head({"text": "Voici."}, "files", "sans-longueur.pdf")
    status, answer, sent = _send_streamed(
        live_server, url, cookies=cookies, headers=headers, head=head, size=200 * 2**20,
        chunked=True,
    )  # fmt: skip
    # No declared length: Django reads no body at all, so no file reaches the view (the
    # message form comes back empty, 422).
    assert status in (302, 400, 411, 413, 422), answer[:500]
    assert sent < 32 * 2**20, sent
    assert Fichier.objects.count() == 0
    assert _stored_files(media_root) == []
    assert Sollicitation.objects.get().status == "ouverte"


def _views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern.callback

    return list(walk(get_resolver().url_patterns))


def test_every_view_that_reads_files_is_bounded():
    """A view that reads request.FILES is wrapped in bounded_upload, or installs the size
    handler itself before the body is read; either way the CSRF middleware must not parse
    the body first (it would, with Django's unbounded handlers)."""
    readers = []
    for route, callback in _views():
        if route.startswith("admin/"):
            # Django's admin site: its generic views name request.FILES, but no model
            # it edits takes a file (test_the_admin_site_takes_no_file).
            continue
        view = getattr(callback, "view_class", None) or inspect.unwrap(callback)
        try:
            source = inspect.getsource(view)
        except (OSError, TypeError):
            continue
        if "request.FILES" not in source and "upload_handlers" not in source:
            continue
        readers.append(route)
        bounded = getattr(callback, "bounded_upload", False) or "upload_handlers.insert(" in source
        assert bounded, f"{route} lit des fichiers sans borne pendant l’envoi"
        assert getattr(callback, "csrf_exempt", False), f"{route} : le corps lu avant la borne"
    # The forms of this module and the agency's: none may be missed by the walk.
    assert len(readers) >= 8, readers


def test_the_admin_site_takes_no_file():
    """The admin's forms go through Django's unbounded handlers: none may hold a file."""
    from django.contrib import admin
    from django.db.models import FileField

    for model, model_admin in admin.site._registry.items():
        readonly = set(model_admin.readonly_fields)
        for field in model._meta.get_fields():
            if isinstance(field, FileField) and field.editable:
                assert field.name in readonly or field.name in (model_admin.exclude or ()), (
                    f"{model.__name__}.{field.name} est modifiable dans l’administration"
                )


def _bounded_view(limit: int):
    @bounded_upload(limit, max_files=2)
    def view(request):
        return HttpResponse(str(sum(f.size for f in request.FILES.getlist("files"))))

    return view


def _post(files, **headers):
    request = RequestFactory().post("/envoi/", {"files": files}, headers=headers)
    request._dont_enforce_csrf_checks = True
    request.user = AnonymousUser()
    return request


def test_a_file_at_the_limit_passes():
    response = _bounded_view(1000)(_post([SimpleUploadedFile("a.pdf", b"a" * 1000)]))
    assert response.status_code == 200
    assert response.content == b"1000"


def test_a_file_one_byte_over_the_limit_is_413_in_french():
    response = _bounded_view(1000)(_post([SimpleUploadedFile("a.pdf", b"a" * 1001)]))
    assert response.status_code == 413
    assert "« a.pdf » dépasse la taille maximale" in response.content.decode()
    assert "rien n’a été enregistré" in response.content.decode()


def test_the_htmx_form_gets_a_fragment():
    request = _post([SimpleUploadedFile("a.pdf", b"a" * 1001)], hx_request="true")
    response = _bounded_view(1000)(request)
    assert response.status_code == 413
    assert "<html" not in response.content.decode()
    assert "dépasse la taille maximale" in response.content.decode()


def test_one_file_too_many_is_refused():
    files = [SimpleUploadedFile(f"{n}.pdf", b"a") for n in range(3)]
    assert _bounded_view(1000)(_post(files)).status_code == 413


def test_the_settings_keep_files_out_of_memory_and_cap_their_number():
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 2_621_440
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES == MAX_ELIGIBILITY_FILES
