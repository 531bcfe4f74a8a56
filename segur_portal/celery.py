import logging
import os
import threading
import time

from celery import Celery, Task
from celery.signals import worker_init
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segur_portal.settings")

logger = logging.getLogger(__name__)

# After a failed publish, the next ones in this process fail at once for this long: one
# request may queue several tasks (an e-mail per recipient), and each would otherwise
# wait for the broker's timeout again.
BROKER_PAUSE_SECONDS = 10.0


class BrokerUnavailable(OperationalError):
    """The broker failed a publish moments ago; this one is not tried."""


class _BrokerState:
    def __init__(self):
        self._lock = threading.Lock()
        self._down_until = 0.0

    def is_down(self) -> bool:
        return time.monotonic() < self._down_until

    def mark_down(self) -> None:
        with self._lock:
            self._down_until = time.monotonic() + BROKER_PAUSE_SECONDS

    def reset(self) -> None:
        with self._lock:
            self._down_until = 0.0


broker_state = _BrokerState()


class PortalTask(Task):
    """Every task of the portal: fire-and-forget, published once.

    A publish never makes the caller wait longer than the broker's timeout, and after a
    failure the next publishes of the process give up at once for a few seconds. What was
    not queued is queued again by the sweep (see settings.SWEEPERS), so a caller treats a
    failed publish as late, not lost: services publish in `transaction.on_commit(...,
    robust=True)`.
    """

    def apply_async(self, *args, **kwargs):
        if self.app.conf.task_always_eager:
            return super().apply_async(*args, **kwargs)
        if broker_state.is_down():
            raise BrokerUnavailable(f"broker unavailable, {self.name} not queued")
        try:
            return super().apply_async(*args, **kwargs)
        except OperationalError:
            broker_state.mark_down()
            logger.warning("broker unavailable: %s not queued, the sweep will", self.name)
            raise


app = Celery("segur_portal", task_cls="segur_portal.celery:PortalTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def warm_up() -> float:
    """What a worker does once at its start, before any task: build the URL resolver
    (every view module imported, 0.6 s here), which the first notification's link would
    otherwise build inside the first sweep. Returns the seconds it took."""
    from django.urls import get_resolver

    began = time.perf_counter()
    get_resolver().reverse_dict  # noqa: B018 - populating the resolver is the point
    return time.perf_counter() - began


@worker_init.connect
def _warm_up_worker(**_kwargs) -> None:
    # In the worker's main process, before the pool forks: its children inherit it.
    logger.info("worker warmed up in %.1f s", warm_up())
