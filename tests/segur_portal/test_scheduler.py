import time

import pytest
from django.utils import timezone

from segur_portal.celery import app
from segur_portal.models import OutboundEmail, PeriodicRun
from segur_portal.scheduler import InProcessBeat
from tests.worker import wait_for


@pytest.mark.django_db
def test_in_process_beat_runs_each_entry_when_due():
    beat = InProcessBeat(
        app, schedule={"sweep": {"task": "segur_portal.tasks.sweep", "schedule": 0.3}}
    )
    assert beat.run_pending() == ["sweep"]
    assert beat.run_pending() == []
    time.sleep(0.35)
    assert beat.run_pending() == ["sweep"]
    run = PeriodicRun.objects.get(name="sweep")
    assert run.last_finished_at is not None
    assert run.last_error == ""


def test_in_process_beat_reads_the_celery_beat_schedule():
    beat = InProcessBeat(app)
    assert set(beat.entries) == {"sweep"}
    assert beat.entries["sweep"]["schedule"].run_every.total_seconds() == 60


@pytest.mark.django_db(transaction=True)
def test_in_process_beat_thread_keeps_the_clocks_ticking(mailoutbox):
    """Started as `manage.py runportal` starts it, the thread sweeps on its own."""
    stale = OutboundEmail.objects.create(to="a@exemple.fr", subject="En attente", body="x")
    OutboundEmail.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=10)
    )
    beat = InProcessBeat(
        app,
        schedule={"sweep": {"task": "segur_portal.tasks.sweep", "schedule": 0.2}},
        tick_seconds=0.05,
    )
    beat.start()
    try:
        wait_for(lambda: OutboundEmail.objects.get(pk=stale.pk).sent_at, timeout=10)
    finally:
        beat.stop()
        beat.join(timeout=5)
    assert not beat.is_alive()
    assert [message.subject for message in mailoutbox] == ["En attente"]
