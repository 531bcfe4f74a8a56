"""The agency's lists (issue 12, items 2-5): the three queues and the list of every
candidature, their filters, sorts, pages and counts, assignment to an instructor, and
their CSV and XLSX exports."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState, SollicitationStatus
from candidatures.models import Assignment, Candidature, Sollicitation
from candidatures.selectors.pilotage import QUEUES
from candidatures.services.assignment import candidature_assign
from candidatures.services.sollicitation import sollicitation_open
from segur_portal.models import Notification
from tests.factories import CandidatureFactory, EditeurFactory, UserFactory, company_user
from tests.pages import body, csv_rows, page_queries, xlsx_cells, xlsx_rows
from tests.preuves.test_queue_clock import _sollicitation

pytestmark = pytest.mark.django_db

S = CandidatureState
QUEUE = "instruction:queue_phase"


def _proof_dossier(days_ago: float = 1, **kwargs) -> Candidature:
    candidature = CandidatureFactory(eligible=True, **kwargs)
    Candidature.objects.filter(pk=candidature.pk).update(
        state=S.DOSSIER_SOUMIS, dossier_submitted_at=timezone.now() - timedelta(days=days_ago)
    )
    candidature.refresh_from_db()
    return candidature


def _rows(response) -> list[Candidature]:
    return [row.candidature for row in response.context["rows"]]


# Queries: fixed whatever the number of rows (the proofs queue ran one query per row)


def _queue_sizes(count: int) -> None:
    """`count` dossiers in each queue, each with what its row reads: an open
    sollicitation, an instruction time with a suspension, an instructor."""
    instructeur = UserFactory(instructeur=True)
    for _ in range(count):
        admin = CandidatureFactory(admin_soumise=True)
        sollicitation_open(candidature=admin, actor=instructeur, text="Précisez.")
        CandidatureFactory(eligibilite_soumise=True, instructeur=instructeur)
        dossier = _proof_dossier(days_ago=10, instructeur=instructeur)
        _sollicitation(
            dossier,
            hours_ago=100,
            status=SollicitationStatus.REPONDUE,
            answered_at=timezone.now() - timedelta(hours=90),
        )


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (reverse(QUEUE, args=["administratif"]), {}),
        (reverse(QUEUE, args=["eligibilite"]), {"etat": "a_decider", "tri": "horloge"}),
        (reverse(QUEUE, args=["preuves"]), {}),
        (reverse(QUEUE, args=["preuves"]), {"instructeur": "moi", "retard": "1", "q": "Log"}),
        (reverse("candidatures:list"), {}),
        (reverse("candidatures:list"), {"etat": "en_cours", "tri": "-editeur"}),
    ],
    ids=["administratif", "eligibilite", "preuves", "preuves-filtrees", "liste", "liste-triee"],
)
def test_an_agency_list_runs_the_same_queries_at_two_sizes(client, url, params):
    client.force_login(UserFactory(admin=True))
    _queue_sizes(2)
    small, _content = page_queries(client, url, params)
    _queue_sizes(12)
    large, content = page_queries(client, url, params)
    assert large == small <= 15
    assert b"portal-agency-table" in content or b"portal-empty-state" in content


# Filters, sorts, pages, counts


def test_the_proofs_queue_shows_late_dossiers_first_and_their_place_in_the_queue(client):
    first = _proof_dossier(days_ago=3)
    second = _proof_dossier(days_ago=2)
    third = _proof_dossier(days_ago=1)
    _sollicitation(first, hours_ago=25)  # 24 h without an answer: lost its place
    overdue = _proof_dossier(days_ago=60)  # 60 days of instruction: past the 6 weeks
    client.force_login(UserFactory(instructeur=True))

    response = client.get(reverse(QUEUE, args=["preuves"]))

    assert _rows(response) == [overdue, first, second, third]
    ranks = {row.candidature: row.rank for row in response.context["rows"]}
    assert ranks == {overdue: 1, second: 2, third: 3, first: 4}
    reasons = {row.candidature: row.late for row in response.context["rows"]}
    assert reasons[overdue] == ["instruction au-delà des 6 semaines"]
    assert reasons[first] == ["dépriorisée"]
    assert response.context["counts"]["late"] == 2
    content = response.content.decode()
    assert "2 dossiers en retard" in content
    assert "?retard=depriorisee" in content

    response = client.get(reverse(QUEUE, args=["preuves"]), {"tri": "file"})
    assert _rows(response) == [overdue, second, third, first]
    response = client.get(reverse(QUEUE, args=["preuves"]), {"retard": "six_semaines"})
    assert _rows(response) == [overdue]
    response = client.get(reverse(QUEUE, args=["preuves"]), {"tri": "horloge"})
    assert _rows(response)[0] == overdue


def test_the_instruction_time_sorted_on_is_net_of_the_suspensions(client):
    """60 days since the dossier, 30 of them waiting for the company: 30 days of
    instruction, under the 6 weeks, unlike 45 days without a sollicitation."""
    suspended = _proof_dossier(days_ago=60)
    _sollicitation(
        suspended,
        hours_ago=50 * 24,
        status=SollicitationStatus.REPONDUE,
        answered_at=timezone.now() - timedelta(days=20),
        depriorisation_applied_at=None,
    )
    Candidature.objects.filter(pk=suspended.pk).update(depriorisee_at=None)
    running = _proof_dossier(days_ago=45)
    client.force_login(UserFactory(instructeur=True))

    response = client.get(reverse(QUEUE, args=["preuves"]), {"retard": "six_semaines"})

    assert _rows(response) == [running]
    response = client.get(reverse(QUEUE, args=["preuves"]), {"tri": "horloge"})
    assert _rows(response) == [running, suspended]


def test_phase_1_late_first_then_by_submission_and_the_clock_sort(client):
    instructeur = UserFactory(instructeur=True)
    older = CandidatureFactory(admin_soumise=True)
    Candidature.objects.filter(pk=older.pk).update(
        admin_submitted_at=timezone.now() - timedelta(days=9)
    )
    waiting = CandidatureFactory(admin_soumise=True)
    sollicitation = sollicitation_open(candidature=waiting, actor=instructeur, text="Précisez.")
    late = CandidatureFactory(admin_soumise=True)
    Sollicitation.objects.filter(pk=sollicitation.pk).update(
        due_at=timezone.now() + timedelta(days=1)
    )
    late_sollicitation = sollicitation_open(candidature=late, actor=instructeur, text="Et ceci ?")
    # Its 5 working days ran out; the sweep has not closed it yet.
    Sollicitation.objects.filter(pk=late_sollicitation.pk).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    client.force_login(instructeur)

    response = client.get(reverse(QUEUE, args=["administratif"]))
    assert _rows(response)[0] == late
    assert response.context["rows"][0].late == ["sollicitation sans réponse dans le délai"]
    response = client.get(reverse(QUEUE, args=["administratif"]), {"tri": "anciennete"})
    assert _rows(response)[0] == older
    response = client.get(reverse(QUEUE, args=["administratif"]), {"tri": "horloge"})
    assert _rows(response) == [late, waiting, older]
    response = client.get(reverse(QUEUE, args=["administratif"]), {"etat": "a_decider"})
    assert _rows(response) == [older]


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("zèbre médical", "company"),
        ("73282932", "siret"),
        ("cardiolog", "product"),
        ("9.9.9-BETA", "version"),
        ("C-{pk:06d}", "number"),
        ("{pk}", "number"),
    ],
)
def test_search_by_company_software_or_number(client, typed, found):
    company = CandidatureFactory(
        admin_soumise=True, editeur=EditeurFactory(raison_sociale="Zèbre Médical SAS")
    )
    siret = CandidatureFactory(admin_soumise=True, editeur=EditeurFactory(siret="73282932000074"))
    product = CandidatureFactory(admin_soumise=True, nom_commercial="CardioLogic")
    version = CandidatureFactory(admin_soumise=True, version_technique="9.9.9-beta")
    number = CandidatureFactory(admin_soumise=True)
    expected = {"company": company, "siret": siret, "product": product, "version": version,
                "number": number}[found]  # fmt: skip
    client.force_login(UserFactory(instructeur=True))

    response = client.get(reverse(QUEUE, args=["administratif"]), {"q": typed.format(pk=number.pk)})

    assert expected in _rows(response)
    assert len(_rows(response)) == 1 or found == "number"


def test_mine_unassigned_and_a_colleagues_queue(client):
    me, colleague = UserFactory(instructeur=True), UserFactory(instructeur=True)
    mine = _proof_dossier(instructeur=me)
    theirs = _proof_dossier(instructeur=colleague)
    nobodys = _proof_dossier()
    client.force_login(me)
    url = reverse(QUEUE, args=["preuves"])

    assert _rows(client.get(url, {"instructeur": "moi"})) == [mine]
    assert _rows(client.get(url, {"instructeur": "aucun"})) == [nobodys]
    assert _rows(client.get(url, {"instructeur": colleague.pk})) == [theirs]
    response = client.get(url)
    counts = response.context["counts"]
    assert (counts["total"], counts["mine"], counts["unassigned"]) == (3, 1, 1)
    assert "1 attribué à moi" in response.content.decode()


def test_pages_keep_the_filters_and_the_sort(client, monkeypatch):
    monkeypatch.setattr("candidatures.selectors.pilotage.PAGE_SIZE", 2)
    dossiers = [_proof_dossier(days_ago=5 - index, nom_commercial="Pagé") for index in range(5)]
    client.force_login(UserFactory(instructeur=True))
    url = reverse(QUEUE, args=["preuves"])

    first = client.get(url, {"q": "Pagé", "tri": "-anciennete"})
    assert _rows(first) == dossiers[::-1][:2]
    content = first.content.decode()
    assert "?q=Pag%C3%A9&amp;tri=-anciennete&amp;page=2" in content
    assert 'aria-sort="descending"' in content
    third = client.get(url, {"q": "Pagé", "tri": "-anciennete", "page": 3})
    assert _rows(third) == [dossiers[0]]
    # Past the last page: the last page, not an error.
    assert _rows(client.get(url, {"q": "Pagé", "tri": "-anciennete", "page": 99})) == [dossiers[0]]


def test_unknown_filter_and_sort_values_fall_back_to_the_defaults(client):
    dossier = _proof_dossier()
    client.force_login(UserFactory(instructeur=True))
    response = client.get(
        reverse(QUEUE, args=["preuves"]),
        {
            "tri": "'; DROP TABLE",
            "etat": "nimporte",
            "instructeur": "x",
            "retard": "zz",
            "page": "z",
        },
    )
    assert response.status_code == 200
    assert _rows(response) == [dossier]
    assert response.context["sort"].key == "retard"


# The administrators' list of every candidature


def test_the_admin_lists_every_candidature_but_drafts_with_the_same_filters(client):
    draft = CandidatureFactory()
    submitted = CandidatureFactory(admin_soumise=True, nom_commercial="Alpha")
    dossier = _proof_dossier(nom_commercial="Bravo")
    closed = CandidatureFactory(admin_soumise=True, nom_commercial="Charlie")
    Candidature.objects.filter(pk=closed.pk).update(state=S.REJETEE)
    client.force_login(UserFactory(admin=True))
    url = reverse("candidatures:list")

    response = client.get(url)
    assert response.status_code == 200
    assert set(_rows(response)) == {submitted, dossier, closed}
    assert draft not in _rows(response)
    assert _rows(client.get(url, {"etat": "closes"})) == [closed]
    assert _rows(client.get(url, {"etat": "en_instruction"})) == []
    assert _rows(client.get(url, {"etat": "dossier_soumis"})) == [dossier]
    assert _rows(client.get(url, {"tri": "logiciel"})) == [submitted, dossier, closed]
    assert _rows(client.get(url, {"q": "bravo"})) == [dossier]


@pytest.mark.parametrize("trait", ["college", "mandataire"])
def test_the_agency_list_is_not_for_the_college_or_editors(client, trait):
    user = UserFactory(**{trait: True})
    if trait == "mandataire":
        user = company_user(EditeurFactory(), company_role="mandataire")
        from candidatures.models import CguAcceptance
        from candidatures.services.onboarding import current_cgu

        CguAcceptance.objects.create(user=user, cgu=current_cgu())
        user.email_verified_at = timezone.now()
        user.save()
    other = CandidatureFactory(admin_soumise=True, nom_commercial="Confidentiel")
    client.force_login(user)
    response = client.get(reverse("candidatures:list"), {"export": "csv"})
    if trait == "college":
        assert response.status_code == 403
    else:
        # The editor keeps its own list, without another company's candidature.
        assert response.status_code == 200
        assert "Confidentiel" not in response.content.decode()
        assert other.reference not in response.content.decode()
    assert (
        client.post(reverse("candidatures:list"), {"candidatures": [other.pk]}).status_code == 403
    )
    for phase in QUEUES:
        assert client.get(reverse(QUEUE, args=[phase]), {"export": "xlsx"}).status_code == 403


def test_anonymous_is_sent_to_the_login(client):
    for url in (reverse("candidatures:list") + "?export=csv", reverse(QUEUE, args=["preuves"])):
        response = client.get(url)
        assert response.status_code == 302 and "/connexion/" in response["Location"]


# Assignment (a service with permission, logged, notified)


def test_assigning_records_notifies_and_tells_the_previous_instructor(
    django_capture_on_commit_callbacks,
):
    admin = UserFactory(admin=True, first_name="Ada", last_name="Admin")
    before = UserFactory(instructeur=True)
    after = UserFactory(instructeur=True, first_name="Ines", last_name="Instructrice")
    first = _proof_dossier(instructeur=before)
    second = CandidatureFactory(admin_soumise=True)

    with django_capture_on_commit_callbacks(execute=True):
        changed = candidature_assign(candidatures=[first, second], instructeur=after, actor=admin)

    assert {c.pk for c in changed} == {first.pk, second.pk}
    assert set(Candidature.objects.filter(instructeur=after)) == {first, second}
    log = Assignment.objects.order_by("candidature_id")
    assert [(a.candidature, a.instructeur, a.previous, a.assigned_by) for a in log] == [
        (first, after, before, admin),
        (second, after, None, admin),
    ]
    received = Notification.objects.get(recipient=after)
    assert received.title == "2 dossiers vous sont attribués"
    assert first.reference in received.body and second.reference in received.body
    lost = Notification.objects.get(recipient=before)
    assert lost.title == "Dossier réattribué" and first.reference in lost.body
    assert second.reference not in lost.body
    assert {m.to[0] for m in mail.outbox} >= {after.email, before.email}


def test_assigning_to_the_same_instructor_changes_nothing():
    instructeur = UserFactory(instructeur=True)
    dossier = _proof_dossier(instructeur=instructeur)
    assert (
        candidature_assign(candidatures=[dossier], instructeur=instructeur, actor=instructeur) == []
    )
    assert not Assignment.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("trait", ["admin", "college", "mandataire", "inactive"])
def test_a_dossier_goes_to_an_active_instructor_only(trait):
    dossier = _proof_dossier()
    fields = {"instructeur": True, "is_active": False} if trait == "inactive" else {trait: True}
    with pytest.raises(ValidationError) as error:
        candidature_assign(
            candidatures=[dossier],
            instructeur=UserFactory(**fields),
            actor=UserFactory(instructeur=True),
        )
    assert "instructeur" in error.value.message_dict
    dossier.refresh_from_db()
    assert dossier.instructeur is None and not Assignment.objects.exists()


@pytest.mark.parametrize("trait", ["college", "mandataire"])
def test_only_the_agency_assigns(trait):
    dossier = _proof_dossier()
    with pytest.raises(PermissionDenied):
        candidature_assign(
            candidatures=[dossier],
            instructeur=UserFactory(instructeur=True),
            actor=UserFactory(**{trait: True}),
        )
    assert not Assignment.objects.exists()


def test_one_dossier_that_cannot_be_assigned_stops_them_all():
    open_dossier = _proof_dossier()
    draft = CandidatureFactory()
    closed = CandidatureFactory(admin_soumise=True)
    Candidature.objects.filter(pk=closed.pk).update(state=S.REFUSEE)
    instructeur = UserFactory(instructeur=True)
    for other in (draft, closed):
        with pytest.raises(ValidationError):
            candidature_assign(
                candidatures=[open_dossier, other],
                instructeur=instructeur,
                actor=UserFactory(admin=True),
            )
    open_dossier.refresh_from_db()
    assert open_dossier.instructeur is None and not Assignment.objects.exists()


def test_assigning_from_the_queue_comes_back_to_the_same_filters(client):
    instructeur = UserFactory(instructeur=True)
    colleague = UserFactory(instructeur=True, first_name="Paul", last_name="Collègue")
    first, second, untouched = _proof_dossier(), _proof_dossier(), _proof_dossier()
    client.force_login(instructeur)
    url = reverse(QUEUE, args=["preuves"]) + "?instructeur=aucun&tri=file"

    response = client.post(
        url, {"instructeur": colleague.pk, "candidatures": [first.pk, second.pk]}
    )

    assert response.status_code == 302
    assert response["Location"] == url
    assert set(Candidature.objects.filter(instructeur=colleague)) == {first, second}
    page = client.get(response["Location"])
    assert _rows(page) == [untouched]
    assert "2 dossiers attribués à Paul Collègue, qui en est notifié." in page.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"candidatures": ["{pk}"]}, "instructeur", "Choisissez l’instructeur"),
        ({"instructeur": "{instructeur}"}, "candidatures", "Cochez au moins un dossier"),
        ({"instructeur": "{editor}", "candidatures": ["{pk}"]}, "instructeur", "instructeur de l’ANS"),
        ({"instructeur": "{admin}", "candidatures": ["{pk}"]}, "instructeur", "instructeur de l’ANS"),
        ({"instructeur": "{instructeur}", "candidatures": ["999999"]}, "candidatures", "n’existe pas"),
        ({"instructeur": "{instructeur}", "candidatures": ["{draft}"]}, "candidatures", "n’existe pas"),
        ({"instructeur": "{instructeur}", "candidatures": ["x';--"]}, "candidatures", "n’existe pas"),
        ({"instructeur": "abc", "candidatures": ["{pk}"]}, "instructeur", "instructeur de l’ANS"),
    ],
    ids=["no-instructor", "no-dossier", "an-editor", "an-admin", "unknown-dossier", "a-draft",
         "forged-id", "forged-instructor"],
)  # fmt: skip
def test_a_refused_assignment_says_why_at_its_field_and_keeps_the_ticks(
    client, data, field, message
):
    dossier = _proof_dossier()
    draft = CandidatureFactory()
    values = {
        "pk": dossier.pk,
        "draft": draft.pk,
        "instructeur": UserFactory(instructeur=True).pk,
        "editor": company_user(EditeurFactory()).pk,
        "admin": UserFactory(admin=True).pk,
    }
    posted = {
        key: [item.format(**values) for item in value] if isinstance(value, list)
        else value.format(**values)
        for key, value in data.items()
    }  # fmt: skip
    client.force_login(UserFactory(admin=True))

    response = client.post(reverse(QUEUE, args=["preuves"]), posted)

    assert response.status_code == 400
    assert message in " ".join(response.context["assign_form"].errors[field])
    assert message in response.content.decode()
    if str(dossier.pk) in posted.get("candidatures", []):
        assert f'value="{dossier.pk}" form="attribution" checked' in response.content.decode()
    assert not Assignment.objects.exists()


def test_the_assignment_asks_for_confirmation_in_a_dsfr_modal(client):
    _proof_dossier()
    client.force_login(UserFactory(instructeur=True))
    content = client.get(reverse(QUEUE, args=["preuves"])).content.decode()
    assert 'data-confirm="confirmer-attribution"' in content
    assert '<dialog id="confirmer-attribution" class="fr-modal"' in content
    assert "js/attribution.js" in content


# Exports: the list's filters and order, streamed, formula-safe


HOSTILE = ['=HYPERLINK("https://evil.example","x")', "+33 1 02", "-2+3", "@SUM(A1)", "\t=1+1"]


def test_a_queue_exports_what_its_filters_select_in_csv_and_xlsx(client):
    kept = [
        _proof_dossier(days_ago=3, nom_commercial=HOSTILE[0], version_technique=HOSTILE[1]),
        _proof_dossier(days_ago=2, editeur=EditeurFactory(raison_sociale=HOSTILE[3])),
    ]
    _proof_dossier(
        days_ago=1, nom_commercial="Hors filtre", instructeur=UserFactory(instructeur=True)
    )
    client.force_login(UserFactory(admin=True))
    url = reverse(QUEUE, args=["preuves"])
    params = {"instructeur": "aucun", "tri": "anciennete"}

    response = client.get(url, {**params, "export": "csv"})
    assert response.streaming
    assert response["Content-Disposition"] == 'attachment; filename="file-preuves.csv"'
    rows = csv_rows(body(response))
    assert rows[0][:3] == ["Référence", "DSR", "Éditeur"]
    assert [row[0] for row in rows[1:]] == [c.reference for c in kept]
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell and cell[0] in "=+-@\t"]
    assert "'" + HOSTILE[0] in cells and "'" + HOSTILE[3] in cells

    response = client.get(url, {**params, "export": "xlsx"})
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    content = body(response)
    sheet = xlsx_rows(content)
    assert [row[0] for row in sheet[1:]] == [c.reference for c in kept]
    assert not [cell for cell in xlsx_cells(content) if cell.data_type == "f"]
    texts = [cell.value for cell in xlsx_cells(content) if isinstance(cell.value, str)]
    assert not [text for text in texts if text and text[0] in "=+-@\t"]
    # Dates stay dates, in Paris time; the instruction time a number.
    created = sheet[1][sheet[0].index("Créée le")]
    assert created.date() == timezone.localdate(kept[0].created_at)
    assert isinstance(sheet[1][sheet[0].index("Temps d’instruction net (jours)")], int | float)


def test_the_export_of_the_admin_list_keeps_the_search(client):
    CandidatureFactory(admin_soumise=True, nom_commercial="Gardée")
    CandidatureFactory(admin_soumise=True, nom_commercial="Écartée")
    client.force_login(UserFactory(admin=True))
    rows = csv_rows(body(client.get(reverse("candidatures:list"), {"q": "gard", "export": "csv"})))
    assert [row[4] for row in rows[1:]] == ["Gardée"]


def test_the_export_reads_by_chunks_in_a_fixed_number_of_queries(client):
    client.force_login(UserFactory(admin=True))
    _queue_sizes(2)
    url = reverse("candidatures:list")
    small, _content = page_queries(client, url, {"export": "csv"})
    _queue_sizes(8)
    large, content = page_queries(client, url, {"export": "csv"})
    assert large == small
    assert len(csv_rows(content)) == 1 + 30
