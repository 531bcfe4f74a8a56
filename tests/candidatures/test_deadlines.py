"""Deadlines close what they close (issue 10, item 6): drafts past J2, the submit
buttons past J2 and J4, campaigns without a published REM or with J2 at another hour."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from candidatures.enums import CandidatureState
from candidatures.forms.referentiel import CampagneForm
from candidatures.models import Campagne, CguAcceptance
from candidatures.services import candidature as services
from candidatures.services import referentiel as referentiel_services
from candidatures.services.onboarding import current_cgu
from segur_portal.models import Notification
from segur_portal.tasks import sweep
from tests.factories import (
    CampagneFactory,
    CandidatureFactory,
    DsrFactory,
    RemVersionFactory,
    UserFactory,
    company_user,
)

pytestmark = pytest.mark.django_db
S = CandidatureState

# Monday 4 January 2027, 14:00 Paris (13:00 UTC): J2 of the campaigns below.
J2 = datetime(2027, 1, 4, 13, 0, tzinfo=UTC)


def _campagne(**kwargs):
    return CampagneFactory(j1=J2 - timedelta(days=21), j2=J2, **kwargs)


def _member(candidature):
    user = company_user(candidature.editeur)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    return user


# The sweep closes drafts never submitted before J2


def test_a_draft_still_a_draft_at_j2_is_closed_once_with_its_reason(
    django_capture_on_commit_callbacks,
):
    draft = CandidatureFactory(campagne=_campagne())
    member = _member(draft)
    assert services.candidatures_close_drafts(now=J2 - timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert services.candidatures_close_drafts(now=J2) == 1
    draft.refresh_from_db()
    assert draft.state == S.REJETEE
    assert draft.closed_at == J2
    assert "non soumise avant la date limite de première soumission (J2)" in draft.closed_reason
    assert "lundi 4 janvier 2027 à 14:00" in draft.closed_reason
    (transition,) = draft.transitions.all()
    assert (transition.name, transition.actor, transition.from_state) == (
        "close_draft", None, S.BROUILLON,
    )  # fmt: skip
    # Idempotent: a later or repeated sweep finds nothing more to do.
    assert services.candidatures_close_drafts(now=J2 + timedelta(days=3)) == 0
    assert draft.transitions.count() == 1
    assert Notification.objects.filter(recipient=member).count() == 1
    assert any(member.email in message.to for message in mail.outbox)


def test_the_sweep_touches_only_drafts_of_campaigns_past_j2():
    past = _campagne()
    open_campaign = CampagneFactory(j1=J2 - timedelta(days=7), j2=J2 + timedelta(days=7))
    draft = CandidatureFactory(campagne=past)
    submitted = CandidatureFactory(campagne=past, admin_soumise=True)
    open_draft = CandidatureFactory(campagne=open_campaign)
    assert services.candidatures_close_drafts(now=J2 + timedelta(hours=1)) == 1
    for candidature, state in [(draft, S.REJETEE), (submitted, S.ADMIN_SOUMISE),
                               (open_draft, S.BROUILLON)]:  # fmt: skip
        candidature.refresh_from_db()
        assert candidature.state == state


def test_an_eligibility_form_never_submitted_by_j4_closes_the_candidature_once():
    campagne = _campagne()
    validated = CandidatureFactory(campagne=campagne, admin_validee=True)
    submitted = CandidatureFactory(campagne=campagne, eligibilite_soumise=True)
    member = _member(validated)
    j4 = campagne.j4
    assert services.candidatures_close_drafts(now=j4 - timedelta(seconds=1)) == 0
    assert services.candidatures_close_drafts(now=j4) == 1
    assert services.candidatures_close_drafts(now=j4 + timedelta(days=1)) == 0
    validated.refresh_from_db()
    submitted.refresh_from_db()
    assert (validated.state, submitted.state) == (S.REJETEE, S.ELIGIBILITE_SOUMISE)
    assert "Formulaire d’éligibilité non soumis" in validated.closed_reason
    assert "(J4)" in validated.closed_reason
    (transition,) = validated.transitions.filter(to_state=S.REJETEE)
    assert (transition.name, transition.actor) == ("close_eligibility_unsubmitted", None)
    assert Notification.objects.filter(recipient=member).count() == 1


def test_the_periodic_sweep_runs_it():
    assert "candidatures.services.candidature.candidatures_close_drafts" in settings.SWEEPERS
    draft = CandidatureFactory(campagne=CampagneFactory(
        j1=timezone.now() - timedelta(days=30), j2=timezone.now() - timedelta(minutes=1)))  # fmt: skip
    sweep()
    draft.refresh_from_db()
    assert draft.state == S.REJETEE


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans")
def test_the_sweep_reads_the_drafts_through_an_index():
    due = services.Candidature.objects.filter(state=S.BROUILLON, campagne__j2__lte=J2)
    sql, params = due.query.sql_with_params()
    with connection.cursor() as cursor:
        # Whatever the table's size: the planner may reach the drafts by an index.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on candidatures_candidature" not in plan, plan
    assert "Index Cond: ((state)::text = 'brouillon'::text)" in plan, plan


# The page says why it offers no submission


def test_after_j2_the_draft_page_hides_the_submit_button_and_says_why(client):
    draft = CandidatureFactory(
        campagne=CampagneFactory(
            j1=timezone.now() - timedelta(days=30), j2=timezone.now() - timedelta(minutes=5)
        )
    )
    client.force_login(_member(draft))
    html = client.get(reverse("candidatures:detail", args=[draft.pk])).content.decode()
    assert "Soumettre la candidature administrative" not in html
    assert "Compléter la candidature" not in html
    assert "Date limite de soumission dépassée" in html
    assert "ne peut plus l’être" in html


def test_before_j2_the_button_is_there(client):
    draft = CandidatureFactory()
    client.force_login(_member(draft))
    html = client.get(reverse("candidatures:detail", args=[draft.pk])).content.decode()
    assert "Soumettre la candidature administrative" in html


def test_after_j4_the_eligibility_submit_button_is_gone(client):
    now = timezone.now()
    validated = CandidatureFactory(
        admin_validee=True,
        campagne=CampagneFactory(
            j1=now - timedelta(days=60), j2=now - timedelta(days=50), j3=now - timedelta(days=40),
            j4=now - timedelta(minutes=5),
        ),
    )  # fmt: skip
    client.force_login(_member(validated))
    html = client.get(reverse("candidatures:detail", args=[validated.pk])).content.decode()
    assert "Soumettre le formulaire d’éligibilité" not in html
    assert "Remplir le formulaire d’éligibilité" not in html
    assert "J4, heure de Paris" in html


# Campaigns: a published REM, J2 at 14:00 Paris


def _dates(**overrides):
    # Monday 4 January 2027, 09:00 Paris; J2 two weeks later at 14:00 Paris.
    dates = {
        "j1": datetime(2027, 1, 4, 8, 0, tzinfo=UTC),
        "j2": datetime(2027, 1, 18, 13, 0, tzinfo=UTC),
    }
    for k in range(3, 8):
        dates[f"j{k}"] = datetime(2027, 1, 4, 22, 59, tzinfo=UTC) + timedelta(days=7 * k)
    dates.update(overrides)
    return dates


def test_a_campaign_cannot_be_opened_without_a_published_rem():
    dsr = DsrFactory()
    admin = UserFactory(admin=True)
    RemVersionFactory(dsr=dsr, status="draft")
    campagne = Campagne(dsr=dsr, label="Guichet 1", **_dates())
    with pytest.raises(ValidationError) as error:
        referentiel_services.campagne_save(campagne=campagne, actor=admin)
    assert "n’est pas publié" in " ".join(error.value.messages)
    assert not Campagne.objects.exists()
    RemVersionFactory(dsr=dsr)
    referentiel_services.campagne_save(campagne=campagne, actor=admin)
    assert Campagne.objects.count() == 1


@pytest.mark.parametrize(
    "j2",
    [
        datetime(2027, 1, 18, 17, 0, tzinfo=UTC),  # 18:00 Paris
        datetime(2027, 1, 18, 14, 0, tzinfo=UTC),  # 15:00 Paris: 14:00 UTC is not Paris
        datetime(2027, 1, 18, 13, 0, 30, tzinfo=UTC),
    ],
)
def test_j2_at_another_time_than_14h_paris_is_refused_at_j2(j2):
    dsr = RemVersionFactory().dsr
    campagne = Campagne(dsr=dsr, label="Guichet 1", **_dates(j2=j2))
    with pytest.raises(ValidationError) as error:
        referentiel_services.campagne_save(campagne=campagne, actor=UserFactory(admin=True))
    assert "J2 ferme à 14:00, heure de Paris" in error.value.message_dict["j2"][0]


def test_j2_at_14h_paris_in_summer_time_is_accepted():
    dsr = RemVersionFactory().dsr
    summer = _dates(
        j1=datetime(2027, 6, 1, 7, tzinfo=UTC),
        j2=datetime(2027, 6, 15, 12, 0, tzinfo=UTC),  # 14:00 Paris (UTC+2)
        **{f"j{k}": datetime(2027, 6, 15, 21, 59, tzinfo=UTC) + timedelta(days=7 * k)
           for k in range(3, 8)},
    )  # fmt: skip
    referentiel_services.campagne_save(
        campagne=Campagne(dsr=dsr, label="Été", **summer), actor=UserFactory(admin=True)
    )


def _form_data(**overrides):
    data = {"label": "Guichet 1"}
    for k, day in enumerate(["2027-01-04", "2027-01-18", "2027-01-25", "2027-02-08",
                             "2027-02-15", "2027-04-12", "2027-06-07"], start=1):  # fmt: skip
        data[f"j{k}_date"] = day
        data[f"j{k}_time"] = ""
    data.update(overrides)
    return data


def test_the_campaign_form_refuses_18h_at_the_j2_hour_field():
    form = CampagneForm(_form_data(j2_time="18:00"))
    assert not form.is_valid()
    assert "J2 ferme à 14:00" in form.errors["j2_time"][0]
    assert CampagneForm(_form_data(j2_time="14:00")).is_valid()


def test_the_admin_campaign_page_says_it_at_the_fields(client):
    dsr = DsrFactory()
    admin = UserFactory(admin=True)
    CguAcceptance.objects.create(user=admin, cgu=current_cgu())
    client.force_login(admin)
    url = reverse("referentiel_admin:campagne_new", args=[dsr.code])
    page = client.get(url)
    assert "Aucun REM publié pour" in page.content.decode()
    response = client.post(url, _form_data())
    assert response.status_code == 200
    assert "n’est pas publié" in response.content.decode()
    RemVersionFactory(dsr=dsr)
    response = client.post(url, _form_data(j2_time="18:00"))
    assert "J2 ferme à 14:00" in response.context["form"].errors["j2_time"][0]
    assert not Campagne.objects.exists()
    response = client.post(url, _form_data())
    assert response.status_code == 302
    assert Campagne.objects.get().j2 == datetime(2027, 1, 18, 13, 0, tzinfo=UTC)


def test_the_django_admin_refuses_it_too(client):
    dsr = DsrFactory()
    client.force_login(UserFactory(admin=True))
    data = {"dsr": dsr.pk, "label": "Guichet 1", "created_at_0": "2027-01-01",
            "created_at_1": "09:00"}  # fmt: skip
    for key, moment in _dates(j2=datetime(2027, 1, 18, 17, 0, tzinfo=UTC)).items():
        local = timezone.localtime(moment)
        data[f"{key}_0"], data[f"{key}_1"] = f"{local:%Y-%m-%d}", f"{local:%H:%M}"
    response = client.post(reverse("admin:candidatures_campagne_add"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "J2 ferme à 14:00" in html
    assert "n’est pas publié" in html
    assert not Campagne.objects.exists()


# A DSR whose REM is not published does not show as open


def test_public_pages_do_not_show_a_campaign_without_published_rem_as_open(client):
    campagne = CampagneFactory()
    RemVersionFactory(dsr=campagne.dsr, status="draft")
    listing = client.get(reverse("referentiel:list")).content.decode()
    detail = client.get(reverse("referentiel:dsr", args=[campagne.dsr.code])).content.decode()
    for html in (listing, detail):
        assert "Guichet fermé : REM pas encore publié" in html
        assert "Phase 1 — identification et éligibilité" not in html
    RemVersionFactory(dsr=campagne.dsr)
    listing = client.get(reverse("referentiel:list")).content.decode()
    assert "Phase 1 — identification et éligibilité" in listing


def test_the_new_candidature_page_offers_only_dsrs_with_a_published_rem(client):
    published = CampagneFactory()
    RemVersionFactory(dsr=published.dsr)
    unpublished = CampagneFactory()
    RemVersionFactory(dsr=unpublished.dsr, status="draft")
    user = UserFactory(mandataire=True)
    CguAcceptance.objects.create(user=user, cgu=current_cgu())
    client.force_login(user)
    choices = list(
        client.get(reverse("candidatures:new")).context["form"].fields["campagne"].queryset
    )
    assert choices == [published]


def test_the_public_list_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    from django.test.utils import CaptureQueriesContext

    CampagneFactory()
    with CaptureQueriesContext(connection) as first:
        client.get(reverse("referentiel:list"))
    for _ in range(4):
        RemVersionFactory(dsr=CampagneFactory().dsr)
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(reverse("referentiel:list"))
