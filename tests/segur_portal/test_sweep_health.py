"""/healthz and the admin dashboard show the last sweep; a late sweep alerts the
administrators once per outage, in the portal and by e-mail."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from segur_portal import services
from segur_portal.models import Notification, OutboundEmail, PeriodicRun
from segur_portal.tasks import sweep
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _last_sweep(minutes_ago: float) -> PeriodicRun:
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    return PeriodicRun.objects.update_or_create(
        name="sweep", defaults={"last_started_at": finished, "last_finished_at": finished}
    )[0]


@pytest.fixture
def admins():
    UserFactory(admin=True, is_active=False)
    return [UserFactory(admin=True, email="admin1@ans.example"), UserFactory(admin=True)]


def _alerts():
    return Notification.objects.filter(title__startswith="Le balayage des délais")


def test_healthz_shows_the_last_sweep_and_whether_it_is_late(client, admins):
    run = _last_sweep(minutes_ago=2)
    body = client.get("/healthz").json()
    assert body["sweep"] == {"last_finished_at": run.last_finished_at.isoformat(), "late": False}
    assert not _alerts().exists()

    run = _last_sweep(minutes_ago=6)
    response = client.get("/healthz")
    # The web itself is fine: a late sweep is reported, not made a failed probe.
    assert response.status_code == 200
    assert response.json()["sweep"]["late"] is True


def test_a_late_sweep_alerts_each_active_administrator_once(client, admins):
    _last_sweep(minutes_ago=6)
    for _ in range(3):
        client.get("/healthz")
    assert sorted(_alerts().values_list("recipient", flat=True)) == sorted(a.pk for a in admins)
    emails = OutboundEmail.objects.filter(subject__contains="Le balayage des délais est en retard")
    assert sorted(emails.values_list("to", flat=True)) == sorted(a.email for a in admins)
    assert "il y a 6 minutes" in emails.first().body


def test_the_next_outage_alerts_again(admins):
    start = timezone.now()
    _last_sweep(minutes_ago=6)
    assert services.sweep_late_alert(now=start) is True
    assert services.sweep_late_alert(now=start + timedelta(minutes=1)) is False
    # The sweep ran again, then stopped again.
    PeriodicRun.objects.filter(name="sweep").update(last_finished_at=start + timedelta(minutes=2))
    assert services.sweep_late_alert(now=start + timedelta(minutes=4)) is False
    assert services.sweep_late_alert(now=start + timedelta(minutes=9)) is True
    assert _alerts().count() == 2 * len(admins)


def test_a_sweep_on_time_or_never_run_alerts_nobody(admins):
    assert services.sweep_late_alert(now=timezone.now()) is False
    _last_sweep(minutes_ago=4)
    assert services.sweep_late_alert(now=timezone.now()) is False
    assert not _alerts().exists()


def test_the_sweep_starting_again_tells_of_an_outage_nobody_saw(admins):
    _last_sweep(minutes_ago=45)
    sweep.apply()
    alert = _alerts().get(recipient=admins[0])
    assert alert.title == "Le balayage des délais a repris après une interruption"
    assert "45 minutes" in alert.body


def test_an_outage_already_told_is_not_told_again_when_the_sweep_resumes(client, admins):
    _last_sweep(minutes_ago=8)
    client.get("/healthz")
    sweep.apply()
    assert list(_alerts().filter(recipient=admins[0]).values_list("title", flat=True)) == [
        "Le balayage des délais est en retard"
    ]


def test_the_admin_dashboard_shows_the_last_sweep_and_warns_when_late(client, admins):
    client.force_login(admins[0])
    _last_sweep(minutes_ago=1)
    page = client.get(reverse("dashboard")).content.decode()
    assert "Dernier balayage terminé le" in page
    assert "les délais sont appliqués à l’heure" in page
    assert "est en retard" not in page

    _last_sweep(minutes_ago=20)
    page = client.get(reverse("dashboard")).content.decode()
    assert "Le balayage des délais est en retard" in page
    assert "il y a 20" in page
    assert _alerts().filter(recipient=admins[0]).count() == 1


def test_other_dashboards_do_not_show_the_sweep(client, admins):
    _last_sweep(minutes_ago=20)
    client.force_login(UserFactory(instructeur=True))
    page = client.get(reverse("dashboard")).content.decode()
    assert "balayage" not in page.lower()
