"""A broker outage never holds a request: the portal, served by gunicorn in its production
shape, on a real Redis that the test starts, then stops (SIGTERM) or freezes (SIGSTOP).

A request that queues tasks answers within a second either way, its work saved; the
e-mails it could not queue go out once the broker is back, queued again by the sweep.
Nothing here imitates the broker: a frozen Redis accepts connections and never answers,
which is what a hung server or a network cut does to a client.
"""

import json
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from http.client import HTTPConnection

import pytest
import redis
from django.db.models import F
from django.urls import reverse
from django.utils.crypto import get_random_string

from candidatures.enums import CandidatureState
from segur_portal.models import OutboundEmail
from tests.factories import CandidatureFactory, UserFactory, company_user
from tests.processes import ROOT, free_port, portal_env, start_gunicorn, stop
from tests.worker import _test_database_url

REDIS_SERVER = shutil.which("redis-server")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server absent"),
]

# A bound on a fault, not a speed target: today's answer with the broker down is 20 s.
# It is what the outage adds to the same request with the broker up, so that a machine
# busy with other work does not make it fail.
MAX_SECONDS = 1.0


class RedisServer:
    """A throwaway redis-server of this test, on a port of its own, without persistence."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            stop(self.process)


@pytest.fixture
def broker():
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def portal(broker, tmp_path):
    queue = f"segur-outage-{get_random_string(8).lower()}"
    env = portal_env(
        _test_database_url(),
        REDIS_URL=broker.url,
        CELERY_QUEUE=queue,
        CELERY_TASK_ALWAYS_EAGER="0",
        SEGUR_VAR_DIR=str(tmp_path),
    )
    process, port = start_gunicorn(env, tmp_path / "gunicorn.log")
    yield {"port": port, "env": env, "queue": queue, "log": tmp_path / "gunicorn.log"}
    stop(process)


def _post(port: int, path: str, session: str) -> tuple[int, float]:
    # A CSRF secret of our own, as the cookie and as the header, as the pages send it.
    token = get_random_string(32)
    connection = HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.monotonic()
    try:
        connection.request(
            "POST",
            path,
            body=b"",
            headers={
                "Cookie": f"sessionid={session}; csrftoken={token}",
                "X-CSRFToken": token,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()
    return response.status, time.monotonic() - started


def _queued(broker: RedisServer, queue: str) -> set[tuple[str, str]]:
    messages = [json.loads(raw) for raw in broker.client().lrange(queue, 0, -1)]
    return {(m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages}


def _validate_url(candidature) -> str:
    return reverse("candidatures:validate_admin", args=[candidature.pk])


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
def test_an_instructor_action_answers_within_a_second_with_the_broker_down(
    fault, broker, portal, client
):
    instructeur = UserFactory(instructeur=True)
    candidatures = [CandidatureFactory(admin_soumise=True) for _ in range(3)]
    for candidature in candidatures:
        # Each validation notifies every member: several e-mails, one task each.
        company_user(candidature.editeur)
        company_user(candidature.editeur)
    client.force_login(instructeur)
    session = client.cookies["sessionid"].value

    status, baseline = _post(portal["port"], _validate_url(candidatures[0]), session)
    assert status == 302
    first_emails = OutboundEmail.objects.count()
    assert first_emails >= 2
    assert len(_queued(broker, portal["queue"])) == first_emails

    if fault == "stopped":
        broker.process.terminate()
        broker.process.wait(timeout=10)
    else:
        broker.process.send_signal(signal.SIGSTOP)

    for candidature in candidatures[1:]:
        status, elapsed = _post(portal["port"], _validate_url(candidature), session)
        assert status == 302
        assert elapsed - baseline < MAX_SECONDS, (
            f"{elapsed:.2f} s avec le broker {fault}, {baseline:.2f} s avec le broker en marche"
        )
        candidature.refresh_from_db()
        assert candidature.state == CandidatureState.ADMIN_VALIDEE
    held = set(OutboundEmail.objects.order_by("pk").values_list("pk", flat=True)[first_emails:])
    assert len(held) >= 2 * first_emails - 2

    if fault == "stopped":
        broker.start()
    else:
        broker.process.send_signal(signal.SIGCONT)
    # What a frozen server had read before it stopped may reach it now: start from an
    # empty queue, so that what is found next was queued by the sweep.
    broker.client().delete(portal["queue"])
    # The sweep queues again the e-mails no worker has sent after EMAIL_REQUEUE_AFTER.
    OutboundEmail.objects.update(created_at=F("created_at") - timedelta(minutes=6))
    # The command the operators run, as beat would: its other sweepers are not this
    # test's business, what it queued is.
    sweep = subprocess.run(
        [sys.executable, "manage.py", "sweep"],
        cwd=ROOT, env=portal["env"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    queued = _queued(broker, portal["queue"])
    expected = {("segur_portal.tasks.email_deliver", f"({pk},)") for pk in held}
    assert expected <= queued, sweep.stderr
