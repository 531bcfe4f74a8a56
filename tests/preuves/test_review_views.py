"""The review workspace in the browser's absence: who reaches it, verdicts recorded in
place (htmx), nothing preselected, filters with counts, the bulk action, errors at
their field, reuse flags for the agency only, and the log of who saw what."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.models import CguAcceptance, Exigence
from candidatures.services.onboarding import current_cgu
from college.models import Inscription, Seance
from preuves.models import Depot, ExigenceVerdict, FichierDownload
from preuves.services import fichier_download_record
from tests.factories import UserFactory, company_user
from tests.preuves.dossiers import eligible_candidature
from tests.preuves.factories import FichierFactory
from tests.preuves.reviews import instructing

pytestmark = pytest.mark.django_db
S = CandidatureState
HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(candidature, name="dossier:review", *args):
    return reverse(name, args=[candidature.pk, *args])


def _exigence(candidature, identifier):
    return Exigence.objects.get(rem_version=candidature.rem_version, identifier=identifier)


def _editor(candidature):
    user = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


def _on_agenda(candidature):
    seance = Seance.objects.create(
        date=timezone.localdate() + timezone.timedelta(days=7),
        starts_at=timezone.now() + timezone.timedelta(days=7),
    )
    Inscription.objects.create(seance=seance, candidature=candidature, signed_at=timezone.now())


@pytest.fixture
def instructor_client(client):
    candidature, instructeur = instructing()
    client.force_login(instructeur)
    client.candidature = candidature
    return client


def test_the_workspace_opens_with_no_verdict_preselected(instructor_client):
    candidature = instructor_client.candidature
    response = instructor_client.get(_url(candidature))
    assert response.status_code == 200
    content = response.content.decode()
    exigence = _exigence(candidature, "INS.01")
    assert f'id="verdict-{exigence.pk}-conforme" name="verdict" value="conforme">' in content
    radios = re.findall(r'<input type="radio" id="verdict-[^>]*>', content)
    assert len(radios) == 2 * 3  # three requirements in a Général-only dossier
    assert not [radio for radio in radios if "checked" in radio]
    # Filters with their counts; no verdict yet.
    assert (
        '<option value="sans_verdict" data-label="Sans verdict">Sans verdict (3)</option>'
        in content
    )
    assert (
        '<option value="non_conforme" data-label="Non conforme">Non conforme (0)</option>'
        in content
    )
    assert (
        '<option value="complement" data-label="Complément demandé">Complément demandé (0)</option>'
        in content
    )
    assert "(3)</option>" in content and "Toutes les sections" in content


def test_a_verdict_is_recorded_in_place_with_its_block_counts_and_announcement(
    instructor_client,
):
    candidature = instructor_client.candidature
    exigence = _exigence(candidature, "INS.01")
    response = instructor_client.post(
        _url(candidature, "dossier:review_verdict", exigence.pk),
        {"verdict": "conforme", "comment": ""},
        **HTMX,
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert len(response.content) <= 20_000
    assert content.count('<article class="portal-review-block"') == 1
    assert f'id="exigence-{exigence.pk}"' in content
    assert "data-focus-now>Verdict « Conforme » enregistré sur INS.01.</p>" in content
    assert 'id="review-counts" hx-swap-oob="true"' in content
    assert "Sans verdict : <strong>2</strong>" in content
    assert (
        'id="review-announce" role="status" hx-swap-oob="innerHTML">Verdict « Conforme »' in content
    )
    # It inherits its target from the page: the next post replaces it again.
    assert f'hx-post="{_url(candidature, "dossier:review_verdict", exigence.pk)}"' in content
    # What is recorded is what was chosen; the form comes back empty.
    assert ExigenceVerdict.objects.get().verdict == "conforme"
    assert " checked" not in re.sub(r'<input type="checkbox"[^>]*>', "", content)


def test_a_non_conforme_without_comment_shows_the_error_at_its_field_with_a_summary(
    instructor_client,
):
    candidature = instructor_client.candidature
    exigence = _exigence(candidature, "GAZ.05")
    url = _url(candidature, "dossier:review_verdict", exigence.pk)
    response = instructor_client.post(url, {"verdict": "non_conforme", "comment": " "}, **HTMX)
    # 200: htmx swaps it in, with the error.
    assert response.status_code == 200
    content = response.content.decode()
    assert 'role="alert" tabindex="-1" data-focus-now>' in content
    assert (
        f'<a href="#commentaire-{exigence.pk}">Dites en quoi l’exigence n’est pas satisfaite.</a>'
        in content
    )
    assert (
        f'<p class="fr-error-text" id="commentaire-{exigence.pk}-erreur">'
        "Dites en quoi l’exigence n’est pas satisfaite.</p>"
    ) in content
    assert f'aria-describedby="commentaire-{exigence.pk}-erreur"' in content
    assert 'value="non_conforme" checked>' in content  # the choice is kept
    assert "Verdict non enregistré sur GAZ.05" in content
    assert not ExigenceVerdict.objects.exists()
    # Without script: the whole page, 400, the error at the field.
    response = instructor_client.post(url, {"verdict": "non_conforme", "comment": ""})
    assert response.status_code == 400
    assert f'id="commentaire-{exigence.pk}-erreur"' in response.content.decode()
    # And once the comment is given, back to the requirement, filters kept (read from
    # the page the form was sent from, never from another site).
    filtered = f"http://testserver{_url(candidature)}?statut=sans_verdict&section=GAZ"
    response = instructor_client.post(
        url, {"verdict": "non_conforme", "comment": "Rapport en échec."}, HTTP_REFERER=filtered
    )
    assert response.status_code == 302
    assert response["Location"] == (
        f"{_url(candidature)}?statut=sans_verdict&section=GAZ#exigence-{exigence.pk}"
    )
    response = instructor_client.post(
        url,
        {"verdict": "conforme"},
        HTTP_REFERER=f"https://evil.example{_url(candidature)}?statut=x",
    )
    assert response["Location"] == f"{_url(candidature)}#exigence-{exigence.pk}"


def test_nothing_is_recorded_when_no_verdict_is_chosen(instructor_client):
    candidature = instructor_client.candidature
    exigence = _exigence(candidature, "INS.01")
    response = instructor_client.post(
        _url(candidature, "dossier:review_verdict", exigence.pk), {"comment": "x"}, **HTMX
    )
    assert "Choisissez « conforme » ou « non conforme »." in response.content.decode()
    assert not ExigenceVerdict.objects.exists()


def _verdict_queries(client, django_assert_num_queries, candidature, identifier) -> int:
    exigence = _exigence(candidature, identifier)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            _url(candidature, "dossier:review_verdict", exigence.pk),
            {"verdict": "conforme", "comment": ""},
            **HTMX,
        )
    assert response.status_code == 200
    return len(queries)


def _grow(candidature, extra: int):
    """`extra` more files deposited in the dossier."""
    member = candidature.editeur.members.first()
    depot = Depot.objects.filter(candidature=candidature, fichier__isnull=False).first()
    for _ in range(extra):
        Depot.objects.create(
            candidature=candidature, exigence_id=depot.exigence_id,
            preuve_attendue_id=depot.preuve_attendue_id,
            fichier=FichierFactory(editeur=candidature.editeur, accepted=True),
            deposited_by=member,
        )  # fmt: skip


def test_a_verdict_and_the_page_run_a_fixed_number_of_queries(client, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for extra in (0, 30):
        candidature, instructeur = instructing()
        _grow(candidature, extra)
        client.force_login(instructeur)
        # The first entry of the portal's journal creates its head: not measured.
        _verdict_queries(client, django_assert_num_queries, candidature, "SSI.07")
        with CaptureQueriesContext(connection) as page:
            assert client.get(_url(candidature)).status_code == 200
        verdict = _verdict_queries(client, django_assert_num_queries, candidature, "INS.01")
        counts.append((len(page), verdict))
    assert counts[0] == counts[1]
    # 18: the session with its account, the candidature and its profiles, the
    # requirement; the lock, the verdict, the journal's head and entry (4); the index
    # (5) and the block (3).
    assert counts[0][1] <= 18, counts


def test_the_bulk_action_costs_the_same_queries_for_2_or_9_requirements(client):
    """On the real DRIMbox dossier: the requirements are checked against the
    candidature's profiles read once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from preuves.depot import _applicable
    from tests.preuves.reviews import drimbox_instructing

    candidature, instructeur = drimbox_instructing()
    client.force_login(instructeur)
    every = list(_applicable(candidature).order_by("position").values_list("pk", flat=True))
    # The journal's first entry creates its head: not measured.
    client.post(
        _url(candidature, "dossier:review_bulk"), {"exigences": every[:1], "verdict": "conforme"}
    )
    counts = []
    for chosen in (every[1:3], every[3:12]):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                _url(candidature, "dossier:review_bulk"),
                {"exigences": chosen, "verdict": "conforme", "comment": ""},
            )
        assert response.status_code == 302
        counts.append(len(queries))
    assert ExigenceVerdict.objects.filter(candidature=candidature).count() == 12
    assert counts[0] == counts[1], counts


def test_the_bulk_action_records_one_verdict_for_the_ticked_requirements(instructor_client):
    candidature = instructor_client.candidature
    ins, gaz = _exigence(candidature, "INS.01"), _exigence(candidature, "GAZ.05")
    page = instructor_client.get(_url(candidature)).content.decode()
    # Confirmed in a DSFR modal, which the script fills with the count.
    assert 'data-confirm="confirmer-lot"' in page
    assert '<dialog id="confirmer-lot" class="fr-modal"' in page
    assert "data-confirm-count" in page
    assert f'name="exigences" value="{ins.pk}" id="lot-{ins.pk}" form="lot"' in page
    response = instructor_client.post(
        _url(candidature, "dossier:review_bulk"),
        {
            "exigences": [ins.pk, gaz.pk],
            "verdict": "conforme",
            "comment": "",
            "statut": "sans_verdict",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{_url(candidature)}?statut=sans_verdict"
    assert sorted(ExigenceVerdict.objects.values_list("exigence__identifier", "verdict")) == [
        ("GAZ.05", "conforme"), ("INS.01", "conforme"),
    ]  # fmt: skip
    page = instructor_client.get(response["Location"]).content.decode()
    assert "Conforme : enregistré sur 2 exigence(s) en une fois." in page


def test_a_refused_bulk_action_keeps_what_was_ticked_and_typed(instructor_client):
    candidature = instructor_client.candidature
    ins = _exigence(candidature, "INS.01")
    response = instructor_client.post(
        _url(candidature, "dossier:review_bulk"),
        {"exigences": [ins.pk], "verdict": "non_conforme", "comment": ""},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert '<a href="#lot-comment">Dites en quoi l’exigence n’est pas satisfaite.</a>' in content
    assert f'value="{ins.pk}" id="lot-{ins.pk}" form="lot" checked>' in content
    assert 'id="lot-non_conforme" name="verdict" value="non_conforme" checked>' in content
    response = instructor_client.post(
        _url(candidature, "dossier:review_bulk"), {"verdict": "conforme"}
    )
    assert "Cochez au moins une exigence." in response.content.decode()
    assert not ExigenceVerdict.objects.exists()


def test_a_bulk_complement_sends_one_request_for_all_the_ticked_requirements(
    instructor_client,
):
    candidature = instructor_client.candidature
    ins, gaz = _exigence(candidature, "INS.01"), _exigence(candidature, "GAZ.05")
    response = instructor_client.post(
        _url(candidature, "dossier:review_bulk"),
        {"exigences": [ins.pk, gaz.pk], "verdict": "complement", "comment": "Précisez."},
    )
    assert response.status_code == 302
    [sollicitation] = candidature.sollicitations.all()
    assert set(sollicitation.exigences.values_list("identifier", flat=True)) == {"INS.01", "GAZ.05"}
    assert ExigenceVerdict.objects.filter(verdict="complement").count() == 2


def test_a_forged_requirement_is_refused_and_records_nothing(instructor_client):
    candidature = instructor_client.candidature
    other, _ = instructing()
    foreign = _exigence(other, "INS.01")  # same identifier, another REM version
    response = instructor_client.post(
        _url(candidature, "dossier:review_verdict", foreign.pk), {"verdict": "conforme"}, **HTMX
    )
    assert response.status_code == 404
    preconisation = _exigence(candidature, "PREC.03")
    response = instructor_client.post(
        _url(candidature, "dossier:review_verdict", preconisation.pk),
        {"verdict": "conforme"},
        **HTMX,
    )
    assert response.status_code == 404
    response = instructor_client.post(
        _url(candidature, "dossier:review_bulk"),
        {"exigences": [foreign.pk, "x"], "verdict": "conforme"},
    )
    assert response.status_code == 400
    assert not ExigenceVerdict.objects.exists()


def test_who_reaches_the_workspace(client):
    candidature, _instructeur = instructing()
    url = _url(candidature)
    verdict_url = _url(candidature, "dossier:review_verdict", _exigence(candidature, "INS.01").pk)
    # Anonymous: to the login page.
    assert client.get(url).status_code == 302
    # The company reads its dossier on its own page, not here.
    client.force_login(_editor(candidature))
    assert client.get(url).status_code == 403
    assert client.post(verdict_url, {"verdict": "conforme"}).status_code == 403
    # Another company: nothing there.
    client.force_login(_editor(eligible_candidature()))
    assert client.get(url).status_code == 404
    # The collège: not before the candidature is on its agenda, then read only.
    member = UserFactory(college=True)
    client.force_login(member)
    assert client.get(url).status_code == 404
    _on_agenda(candidature)
    response = client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "lecture seule" in content
    assert 'name="verdict"' not in content and 'id="lot"' not in content
    assert client.post(verdict_url, {"verdict": "conforme"}).status_code == 403
    assert client.post(_url(candidature, "dossier:review_bulk")).status_code == 403
    assert not ExigenceVerdict.objects.exists()


def test_another_companys_identical_file_is_flagged_to_the_agency_only(client):
    candidature, instructeur = instructing()
    depot = Depot.objects.filter(candidature=candidature, fichier__isnull=False).first()
    other = eligible_candidature()
    copy = FichierFactory(editeur=other.editeur, accepted=True)
    type(copy).objects.filter(pk=copy.pk).update(sha256=depot.fichier.sha256)
    flag = "Identique au fichier d’une autre entreprise"
    client.force_login(instructeur)
    content = client.get(_url(candidature)).content.decode()
    assert flag in content and "data-reuse-elsewhere" in content
    # The collège reads the dossier, not what other companies filed.
    client.force_login(UserFactory(college=True))
    _on_agenda(candidature)
    content = client.get(_url(candidature)).content.decode()
    assert flag not in content and "data-reuse-elsewhere" not in content
    # Never the company: neither its dossier page nor the workspace tell it.
    client.force_login(_editor(candidature))
    content = client.get(_url(candidature, "dossier:page")).content.decode()
    assert "autre entreprise" not in content and "data-reuse" not in content
    assert client.get(_url(candidature)).status_code == 403


def test_the_log_says_who_saw_what_when_from_where_for_the_agency_only(client):
    candidature, instructeur = instructing()
    fichier = Depot.objects.filter(candidature=candidature, fichier__isnull=False).first().fichier
    reader = UserFactory(college=True, first_name="Inès", last_name="Collège")
    for _ in range(3):
        fichier_download_record(fichier=fichier, user=reader, ip_address="192.0.2.7")
    url = _url(candidature, "dossier:consultations")
    client.force_login(instructeur)
    response = client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "3 consultations" in content
    assert content.count("Inès Collège") == 3
    assert "192.0.2.7" in content and "compte-rendu.pdf" in content
    assert "Téléchargement" in content
    # Company, collège: not theirs to read.
    client.force_login(_editor(candidature))
    assert client.get(url).status_code == 403
    _on_agenda(candidature)
    client.force_login(reader)
    assert client.get(url).status_code == 403


def test_the_log_is_paged_in_fixed_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    candidature, instructeur = instructing()
    fichiers = [
        d.fichier for d in Depot.objects.filter(candidature=candidature, fichier__isnull=False)
    ]
    client.force_login(instructeur)
    url = _url(candidature, "dossier:consultations")
    counts = []
    for rows in (2, 120):
        FichierDownload.objects.all().delete()
        FichierDownload.objects.bulk_create(
            FichierDownload(fichier=fichiers[n % len(fichiers)], user=instructeur)
            for n in range(rows)
        )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url + "?page=2" if rows > 50 else url)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert "2 / 3" in response.content.decode()


def test_the_dossier_page_links_to_the_workspace_for_the_agency_only(client):
    candidature, instructeur = instructing()
    client.force_login(instructeur)
    assert _url(candidature) in client.get(_url(candidature, "dossier:page")).content.decode()
    client.force_login(_editor(candidature))
    assert _url(candidature) not in client.get(_url(candidature, "dossier:page")).content.decode()
