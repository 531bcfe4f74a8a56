"""One upload path for every form: limits enforced while the body streams, not after.

`bounded_upload` wraps every view that takes files. Before a byte of the body is read
it refuses a request whose declared length already passes the limit (the server never
reads it); then it counts each file's bytes as they arrive and stops reading at the
first one over the limit. Either way the answer is a 413 with a French message, and
nothing is stored: the view itself is not called.
"""

from collections.abc import Callable
from functools import wraps

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import connections
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect

# Room for the form's other fields and the multipart boundaries around the files.
FORM_OVERHEAD_BYTES = 256 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    """Counts each file's bytes as they arrive and stops reading the request as soon as
    one passes `max_bytes`; the next handlers (memory up to 2.5 Mo, then a temporary file
    on disk) store what is under the limit, so a 50 Mo video never sits in memory.

    The view reads `request.upload_too_large` (the file's name) to tell the user.
    """

    def __init__(self, request, max_bytes: int, max_files: int | None = None):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.received = 0
        self.files = 0
        request.upload_too_large = None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.files += 1
        if self.max_files is not None and self.files > self.max_files:
            self.request.upload_too_large = self.file_name
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.request.upload_too_large = self.file_name
            # connection_reset: the rest of the body is not read at all.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None

    def upload_complete(self):
        # A large body takes seconds to arrive, and the request's database connection
        # was opened before it (session, rights). A database restarted meanwhile has
        # closed it: check it now, so the view reconnects instead of failing with a 500.
        drop_broken_connections()


def drop_broken_connections() -> None:
    """Close each database connection of this thread that no longer answers; the next
    query opens a new one. A connection inside a transaction is left as it is."""
    for connection in connections.all(initialized_only=True):
        if (
            connection.connection is not None
            and not connection.in_atomic_block
            and not connection.is_usable()
        ):
            connection.close()


def declared_length(request) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def format_limit(max_bytes: int) -> str:
    mo = max_bytes / 2**20
    return f"{mo:.0f} Mo" if mo == int(mo) else f"{mo:.1f} Mo".replace(".", ",")


def too_large_response(request, *, max_bytes: int, max_files: int, name: str | None):
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = ""
    if name:
        message = (
            f"« {name} » dépasse la taille maximale de {format_limit(max_bytes)} pour ce "
            "formulaire : rien n’a été enregistré."
        )
    else:
        message = (
            f"L’envoi dépasse ce que ce formulaire accepte ({max_files} fichier(s) de "
            f"{format_limit(max_bytes)} au plus chacun) : rien n’a été enregistré."
        )
    template = "preuves/_upload_error.html" if request.headers.get("HX-Request") else "413.html"
    return render(
        request,
        template,
        {"title": "Envoi trop volumineux", "error": message, "back": back},
        status=413,
    )


def bounded_upload(max_bytes: int | Callable[..., int], *, max_files: int = 1):
    """Bound the files a view receives. `max_bytes` is the limit of one file, or a
    function of the request and the view's arguments that gives it (the expected
    proof's kind); `max_files` caps how many files one request may carry.

    CSRF is checked after the handlers are in place (Django reads the body to find the
    token), as Django documents for upload handlers.
    """

    def decorator(view):
        protected = csrf_protect(view)

        @csrf_exempt
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method != "POST":
                return protected(request, *args, **kwargs)
            limit = max_bytes(request, *args, **kwargs) if callable(max_bytes) else max_bytes
            if declared_length(request) > limit * max_files + FORM_OVERHEAD_BYTES:
                return too_large_response(request, max_bytes=limit, max_files=max_files, name=None)
            request.upload_handlers.insert(0, SizeLimitUploadHandler(request, limit, max_files))
            # Parsed here, with the handlers above; the CSRF check then reads the result.
            request.POST  # noqa: B018
            if request.upload_too_large:
                return too_large_response(
                    request, max_bytes=limit, max_files=max_files, name=request.upload_too_large
                )
            return protected(request, *args, **kwargs)

        # Read by the test that every view taking files is bounded.
        wrapped.bounded_upload = True
        return wrapped

    return decorator
