"""The beat schedule, run by a thread inside the web process.

In the embedded shape there is no broker and no `celery beat`: `manage.py runportal`
starts this thread so the clocks keep ticking while the portal is up. It reads the
same CELERY_BEAT_SCHEDULE as `celery beat` and runs each task in-process.
"""

import logging
import threading
from datetime import datetime

from celery.schedules import maybe_schedule
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)


class InProcessBeat(threading.Thread):
    def __init__(self, app, schedule: dict | None = None, tick_seconds: float = 1.0):
        super().__init__(name="segur-beat", daemon=True)
        self.app = app
        # Outside a worker, Celery registers the tasks modules only when asked to.
        app.loader.import_default_modules()
        self.entries = {
            name: {**entry, "schedule": maybe_schedule(entry["schedule"], app=app)}
            for name, entry in (
                schedule if schedule is not None else app.conf.beat_schedule
            ).items()
        }
        self.tick_seconds = tick_seconds
        self.last_run_at: dict[str, datetime] = {}
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run_pending(self) -> list[str]:
        ran = []
        for name, entry in self.entries.items():
            last = self.last_run_at.get(name)
            if last is not None and not entry["schedule"].is_due(last).is_due:
                continue
            self.last_run_at[name] = self.app.now()
            try:
                self.app.tasks[entry["task"]].apply(
                    args=entry.get("args", ()), kwargs=entry.get("kwargs", {}), throw=True
                )
            except Exception:
                logger.exception("periodic task %s failed", name)
            ran.append(name)
        return ran

    def run(self) -> None:
        logger.info("in-process beat started: %s", ", ".join(self.entries))
        while not self._stopping.is_set():
            try:
                self.run_pending()
            finally:
                # This thread's own connection: drop it when broken or too old.
                close_old_connections()
            self._stopping.wait(self.tick_seconds)
        connections.close_all()
