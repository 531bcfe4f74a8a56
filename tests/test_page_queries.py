"""Every page of issue 12 runs a fixed number of queries, 15 at most, whatever the size
of the wave: each measured at two sizes (issue 12, item 2). The agency's lists and the
statistics page have theirs beside their other tests (tests/candidatures/test_pilotage.py,
tests/segur_portal/test_statistics.py)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from candidatures.models import Candidature, CguAcceptance, Exigence
from candidatures.services.onboarding import current_cgu
from candidatures.services.sollicitation import sollicitation_open
from college.enums import DecisionKind, SeanceStatus
from college.models import Decision, Inscription, Reserve, Seance
from segur_portal.models import Notification
from tests.college.phase3 import open_seance_with, signed_candidature
from tests.college.test_registre import referenced
from tests.factories import CampagneFactory, CandidatureFactory, UserFactory, company_user
from tests.pages import page_queries
from tests.preuves.factories import FichierFactory

pytestmark = pytest.mark.django_db

LIMIT = 15


def _same_at_two_sizes(client, url, grow, params=None) -> int:
    grow(2)
    # A first visit does what is done once (the séances of the coming weeks planned).
    page_queries(client, url, params)
    small, _content = page_queries(client, url, params)
    grow(20)
    large, content = page_queries(client, url, params)
    assert large == small <= LIMIT, (url, small, large)
    return large


# Public pages


@pytest.fixture
def campagne():
    return CampagneFactory()


def _in_progress(campagne):
    def grow(count):
        for index in range(count):
            candidature = CandidatureFactory(admin_validee=True, campagne=campagne)
            Candidature.objects.filter(pk=candidature.pk).update(
                parc_received_at=timezone.now() - timedelta(hours=index)
            )
            withdrawn = CandidatureFactory(admin_validee=True, campagne=campagne)
            Candidature.objects.filter(pk=withdrawn.pk).update(
                state="retiree", closed_at=timezone.now(), closed_reason="Abandon."
            )

    return grow


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("registre:en_cours", {}),
        ("registre:en_cours", {"q": "Log", "tri": "-editeur", "page": 2}),
        ("registre:en_cours_csv", {}),
        ("registre:en_cours_json", {"dsr": "x"}),
        ("registre:parc_index", {}),
        ("registre:parc_index", {"tri": "recue", "q": "Médi"}),
    ],
)
def test_public_lists_of_candidatures(client, campagne, name, params):
    _same_at_two_sizes(client, reverse(name), _in_progress(campagne), params)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("registre:referencees", {}),
        ("registre:referencees", {"tri": "-date", "q": "Médi"}),
        ("registre:referencees_csv", {}),
        ("registre:referencees_json", {}),
    ],
)
def test_the_registry(client, campagne, name, params):
    def grow(count):
        for _ in range(count):
            referenced(campagne=campagne)

    _same_at_two_sizes(client, reverse(name), grow, params)


# The collège


def test_the_list_of_seances(client):
    member = UserFactory(college=True)
    client.force_login(member)
    first = timezone.localdate() - timedelta(days=7)
    made = []

    def grow(count):
        for _ in range(count):
            day = first - timedelta(days=7 * len(made))
            seance = Seance.objects.create(
                date=day, starts_at=timezone.now() - timedelta(days=7 * len(made) + 7),
                status=SeanceStatus.CLOSE,
            )  # fmt: skip
            candidature = CandidatureFactory(admin_validee=True)
            inscription = Inscription.objects.create(
                seance=seance, candidature=candidature, signed_at=timezone.now()
            )
            Decision.objects.create(inscription=inscription, kind=DecisionKind.SANS_RESERVE,
                                    text="Oui.", recorded_by=member)  # fmt: skip
            made.append(seance)

    _same_at_two_sizes(client, reverse("college:seances"), grow)
    _same_at_two_sizes(client, reverse("college:seances"), grow, {"export": "csv"})


def test_a_seance_page(client):
    seance, (member, *_) = open_seance_with(signed_candidature())
    client.force_login(member)

    def grow(count):
        for _ in range(count):
            candidature = signed_candidature()
            Inscription.objects.filter(candidature=candidature).update(seance=seance)

    _same_at_two_sizes(client, reverse("college:seance", args=[seance.pk]), grow)


def test_a_closed_seance_page(client):
    """A séance of the past: its minutes, and decisions with réserves on requirements
    (the wave's largest past séance ran one query more than the open one)."""
    member = UserFactory(college=True)
    client.force_login(member)
    seance = Seance.objects.create(
        date=timezone.localdate() - timedelta(days=14),
        starts_at=timezone.now() - timedelta(days=14),
        status=SeanceStatus.CLOSE,
        closed_at=timezone.now() - timedelta(days=14),
        closed_by=member,
        minutes=FichierFactory(content=b"%PDF-1.4"),
    )

    def grow(count):
        for _ in range(count):
            candidature = CandidatureFactory(admin_validee=True)
            inscription = Inscription.objects.create(
                seance=seance, candidature=candidature, signed_at=timezone.now()
            )
            decision = Decision.objects.create(
                inscription=inscription, kind=DecisionKind.RESERVES_NON_BLOQUANTES,
                text="Deux corrections.", recorded_by=member,
            )  # fmt: skip
            exigence = Exigence.objects.create(
                rem_version=candidature.rem_version,
                profil=candidature.campagne.dsr.profils.first(),
                identifier=f"EX-{candidature.pk}", perimetre="vague_2", nature="exigence",
                statement="Le système DOIT…", position=1,
            )  # fmt: skip
            Reserve.objects.create(decision=decision, position=1, text="À lever").exigences.set(
                [exigence]
            )

    _same_at_two_sizes(client, reverse("college:seance", args=[seance.pk]), grow)


# Signed-in pages


def test_the_notifications(client):
    user = UserFactory(instructeur=True)
    client.force_login(user)

    def grow(count):
        for index in range(count):
            Notification.objects.create(
                recipient=user, title=f"Message {index}", body="Texte.", url="/",
                read_at=timezone.now() if index % 2 else None,
            )  # fmt: skip

    _same_at_two_sizes(client, reverse("notifications"), grow)
    _same_at_two_sizes(client, reverse("notifications"), grow, {"etat": "non_lues", "page": 2})


def test_the_editors_dashboard(client):
    candidature = CandidatureFactory(admin_soumise=True)
    editor = company_user(candidature.editeur, company_role="mandataire")
    editor.email_verified_at = timezone.now()
    editor.save()
    CguAcceptance.objects.create(user=editor, cgu=current_cgu())
    instructeur = UserFactory(instructeur=True)
    client.force_login(editor)

    def grow(count):
        for _ in range(count):
            other = CandidatureFactory(admin_soumise=True, editeur=candidature.editeur)
            sollicitation_open(candidature=other, actor=instructeur, text="Précisez.")

    _same_at_two_sizes(client, reverse("dashboard"), grow)


@pytest.mark.parametrize("trait", ["instructeur", "admin"])
def test_the_agency_dashboards(client, trait):
    client.force_login(UserFactory(**{trait: True}))

    def grow(count):
        for _ in range(count):
            CandidatureFactory(admin_soumise=True)
            CandidatureFactory(eligibilite_soumise=True)

    _same_at_two_sizes(client, reverse("dashboard"), grow)
