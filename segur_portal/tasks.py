import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from segur_portal import services
from segur_portal.models import PeriodicRun

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=services.EMAIL_MAX_ATTEMPTS,
)
def email_deliver(email_id: int) -> bool:
    return services.email_deliver(email_id=email_id)


@shared_task(acks_late=True)
def emails_deliver_queue(email_ids: list[int]) -> int:
    """Queue email_deliver for each e-mail: what a sweep wrote, published once by the
    sweep. Those a broker outage leaves unqueued, emails_requeue queues later."""
    for email_id in email_ids:
        email_deliver.delay(email_id)
    return len(email_ids)


@shared_task(acks_late=True)
def sweep() -> dict[str, int]:
    """Run every sweeper of settings.SWEEPERS. Each one is idempotent, so a late,
    repeated or concurrent run enforces each deadline once."""
    now = timezone.now()
    run, _ = PeriodicRun.objects.get_or_create(name="sweep")
    PeriodicRun.objects.filter(pk=run.pk).update(last_started_at=now)
    results, errors = {}, []
    try:
        # An outage nobody noticed (the web down too) is told when the sweep starts again.
        services.sweep_late_alert(now=now, resumed=True)
    except Exception as error:
        logger.exception("sweep lateness alert failed")
        errors.append(f"sweep_late_alert: {type(error).__name__}: {error}")
    for path in settings.SWEEPERS:
        try:
            results[path] = import_string(path)(now=now)
        except Exception as error:
            # One failing sweeper must not stop the clocks of the others.
            logger.exception("sweeper %s failed", path)
            errors.append(f"{path}: {type(error).__name__}: {error}")
    PeriodicRun.objects.filter(pk=run.pk).update(
        last_finished_at=timezone.now(), last_error="\n".join(errors)
    )
    return results


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: str, due_at: str | None = None) -> None:
    """One attempt at a webhook delivery, due at `due_at` (ISO 8601, the clock of whoever
    queued it); a failure waits its back-off in the database, and the sweep queues it
    again (segur_portal.webhooks)."""
    from segur_portal.webhooks import webhook_deliver as deliver

    deliver(
        delivery_id=delivery_id,
        due_at=datetime.fromisoformat(due_at) if due_at else None,
    )
