"""Personal API tokens: made by a company user in « Mon compte », shown once, stored as
their SHA-256, revoked by their owner or by the company's mandataire (docs/API.md).

A token acts as its creator: every call goes through the same per-object rules as the
pages. It stops working when it expires, is revoked, or its creator leaves the company.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from segur_portal.enums import ApiTokenScope, Role
from segur_portal.journal_events import journal_account
from segur_portal.models_api import ApiToken

TOKEN_PREFIX = "sgr_"
# The longest validity a token may have (the issue: one year at most).
TOKEN_MAX_DAYS = 365
# Durations offered by the page, in days.
TOKEN_DURATIONS = {30: "30 jours", 90: "90 jours", 180: "6 mois", 365: "1 an"}
# last_used_at is written at most this often: one UPDATE per minute, not per call.
LAST_USED_EVERY = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def may_hold_tokens(user) -> bool:
    """Company users only: the agency works in the browser."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role == Role.EDITEUR
        and user.editeur_id is not None
    )


def api_token_create(
    *, actor, name: str, scope: str, days: int, now: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for `actor`. Returns the token and its raw value, which is shown once
    and never stored."""
    now = now or timezone.now()
    if not may_hold_tokens(actor):
        raise PermissionDenied("Seuls les comptes d’une entreprise obtiennent un jeton d’API.")
    errors = {}
    name = name.strip()
    if not name:
        errors["name"] = (
            "Donnez un nom au jeton, pour le reconnaître (par exemple « Intégration continue »)."
        )
    if scope not in ApiTokenScope.values:
        errors["scope"] = "Choisissez la portée du jeton : lecture seule, ou lecture et écriture."
    if not 1 <= days <= TOKEN_MAX_DAYS:
        errors["days"] = f"Un jeton vaut {TOKEN_MAX_DAYS} jours au plus."
    if errors:
        raise ValidationError(errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name,
            prefix=raw[:12],
            token_hash=token_hash(raw),
            scope=scope,
            editeur_id=actor.editeur_id,
            created_by=actor,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        journal_account(
            actor, event="jeton_api_cree", token=token.pk, token_name=token.name, scope=scope
        )
    return token, raw


def can_revoke(user, token: ApiToken) -> bool:
    """Its owner, or the mandataire of its company."""
    if not may_hold_tokens(user) or user.editeur_id != token.editeur_id:
        return False
    return token.created_by_id == user.pk or user.is_mandataire


def api_token_revoke(*, token: ApiToken, actor, now: datetime | None = None) -> ApiToken:
    now = now or timezone.now()
    if not can_revoke(actor, token):
        raise PermissionDenied
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = now
            locked.revoked_by = actor
            locked.save(update_fields=["revoked_at", "revoked_by"])
            journal_account(
                locked.created_by,
                actor=actor,
                event="jeton_api_revoque",
                token=locked.pk,
                token_name=locked.name,
            )
    return locked


def api_token_authenticate(raw: str, *, now: datetime | None = None) -> ApiToken | None:
    """The usable token of this raw value, with its creator, or None: unknown (forged),
    revoked or expired, or a creator who is no longer an active member of the company."""
    now = now or timezone.now()
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("created_by", "editeur")
        .filter(token_hash=token_hash(raw))
        .first()
    )
    if token is None or not token.is_usable(now):
        return None
    user = token.created_by
    if not may_hold_tokens(user) or user.editeur_id != token.editeur_id:
        return None
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def tokens_visible_to(user) -> QuerySet[ApiToken]:
    """The user's own tokens; the mandataire sees every token of the company."""
    if not may_hold_tokens(user):
        return ApiToken.objects.none()
    tokens = ApiToken.objects.filter(editeur_id=user.editeur_id)
    if not user.is_mandataire:
        tokens = tokens.filter(created_by=user)
    return tokens.select_related("created_by", "revoked_by")
