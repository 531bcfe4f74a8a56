"""Editor onboarding: CGU acceptance, company declaration and its changes."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from candidatures.models import Cgu, CguAcceptance, Editeur, EditeurChange
from candidatures.models.editeur import EDITEUR_FIELDS
from candidatures.permissions import can_edit_company
from segur_portal.cache import public_pages_changed
from segur_portal.enums import CompanyRole, Role
from segur_portal.journal_events import journal_account


def current_cgu() -> Cgu | None:
    return Cgu.objects.order_by("-published_at").first()


def cgu_accepted(user) -> bool:
    """Whether the user accepted the CGU in force. Only editors are asked."""
    cgu = current_cgu()
    return cgu is None or CguAcceptance.objects.filter(user=user, cgu=cgu).exists()


def cgu_accept(*, user, cgu: Cgu, ip_address: str | None = None) -> CguAcceptance:
    if user.role != Role.EDITEUR:
        raise PermissionDenied("Seuls les éditeurs acceptent les CGU du référencement.")
    if cgu != current_cgu():
        raise ValidationError("Cette version des CGU n’est plus en vigueur : relisez la nouvelle.")
    with transaction.atomic():
        acceptance, created = CguAcceptance.objects.get_or_create(
            user=user, cgu=cgu, defaults={"ip_address": ip_address}
        )
        if created:
            journal_account(user, event="cgu_acceptees", cgu=cgu.version, ip=ip_address)
    return acceptance


def editeur_create(*, actor, data: dict) -> Editeur:
    """The first user of a company declares it and becomes its mandataire.

    A company already known (its SIRET is registered) is not declared twice: its
    mandataire invites the newcomer instead.
    """
    if actor.role != Role.EDITEUR or actor.editeur_id is not None:
        raise PermissionDenied("Votre compte est déjà rattaché à une entreprise.")
    if actor.email_verified_at is None:
        raise PermissionDenied("Confirmez d’abord votre adresse électronique.")
    if not cgu_accepted(actor):
        raise PermissionDenied("Acceptez d’abord les conditions générales d’utilisation.")
    if Editeur.objects.filter(siret=data["siret"]).exists():
        raise ValidationError(
            {
                "siret": "Cette entreprise est déjà inscrite sur le portail : demandez à son "
                "mandataire de vous inviter (menu « Mon entreprise » de son compte)."
            }
        )
    try:
        with transaction.atomic():
            editeur = Editeur(created_by=actor, **{f: data[f] for f in ["siret", *EDITEUR_FIELDS]})
            editeur.full_clean()
            editeur.save()
            actor.editeur = editeur
            actor.company_role = CompanyRole.MANDATAIRE
            actor.save(update_fields=["editeur", "company_role"])
            journal_account(actor, event="entreprise_declaree", siret=editeur.siret)
    except IntegrityError as error:
        # Two people declaring the same company at the same instant: one wins.
        raise ValidationError({"siret": "Cette entreprise vient d’être inscrite."}) from error
    return editeur


def editeur_update(*, editeur: Editeur, actor, data: dict) -> list[EditeurChange]:
    """Change the company's data; each changed field is recorded with who and when."""
    if not (can_edit_company(actor) and actor.editeur_id == editeur.pk):
        raise PermissionDenied("Seuls le mandataire et le représentant modifient l’entreprise.")
    now = timezone.now()
    with transaction.atomic():
        editeur = Editeur.objects.select_for_update().get(pk=editeur.pk)
        changes = []
        for field in EDITEUR_FIELDS:
            new = data[field]
            old = getattr(editeur, field)
            if new != old:
                setattr(editeur, field, new)
                changes.append(
                    EditeurChange(
                        editeur=editeur,
                        changed_by=actor,
                        changed_at=now,
                        field=field,
                        old_value=old,
                        new_value=new,
                    )
                )
        if changes:
            editeur.full_clean()
            editeur.save(update_fields=[change.field for change in changes])
            EditeurChange.objects.bulk_create(changes)
            # The registry and the public lists name the company.
            public_pages_changed()
            # The fields only: the values name people, and an entry is never erased.
            journal_account(
                actor, event="entreprise_modifiee", fields=[change.field for change in changes]
            )
    return changes
