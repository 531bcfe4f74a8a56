from celery import shared_task


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=10, max_retries=5)
def convention_issue(candidature_id: int, actor_id: int) -> int | None:
    """Issue the convention once the proofs are validated (rendered off the request)."""
    from candidatures.enums import CandidatureState
    from candidatures.models import Candidature
    from college import services
    from segur_portal.models import User

    candidature = Candidature.objects.get(pk=candidature_id)
    if candidature.state != CandidatureState.PREUVES_VALIDEES:
        existing = services.current_convention(candidature)
        return existing.pk if existing else None
    return services.convention_issue(
        candidature=candidature, actor=User.objects.get(pk=actor_id)
    ).pk


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=10, max_retries=5)
def attestation_render(attestation_id: int) -> str:
    from college import services

    return services.attestation_render(attestation_id=attestation_id).sha256


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=10, max_retries=5)
def seance_minutes_render(seance_id: int) -> str | None:
    from college import services

    seance = services.seance_minutes_render(seance_id=seance_id)
    return str(seance.minutes_id) if seance.minutes_id else None
