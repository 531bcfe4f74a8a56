"""The ANS support (DSR §4.7): a company asks about the procedure or the portal, outside
any sollicitation; the agency answers. A support request never starts, stops or moves a
clock: it touches no sollicitation and no candidature."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from candidatures.models import SupportDemande, SupportMessage
from candidatures.permissions import PROCEDURE_ROLES, runs_procedure
from candidatures.services.sollicitation import message_create
from preuves.services import receiving_files
from segur_portal.enums import Role
from segur_portal.services import notification_send


def _company_member(actor) -> bool:
    return (
        actor.is_authenticated
        and actor.is_active
        and actor.role == Role.EDITEUR
        and actor.editeur_id is not None
    )


def support_url(demande: SupportDemande) -> str:
    return reverse("support:demande", args=[demande.pk])


def _agents_to_notify(demande: SupportDemande) -> tuple[list, bool]:
    """The agents who already answered this request, by e-mail too; for a question nobody
    has answered yet, every agent running the procedure, in the portal only (a new
    question is not worth an e-mail to the whole agency)."""
    from segur_portal.models import User

    agents = User.objects.filter(is_active=True, role__in=PROCEDURE_ROLES)
    answered = agents.filter(pk__in=demande.messages.filter(from_agency=True).values("author_id"))
    if answered.exists():
        return list(answered), True
    return list(agents), False


def _notify_agency(demande: SupportDemande, message: SupportMessage, *, new: bool) -> None:
    recipients, email = _agents_to_notify(demande)
    company = demande.editeur.raison_sociale
    notification_send(
        recipients=recipients,
        title=(
            f"Question au support de {company} : {demande.subject}"
            if new
            else f"Nouveau message de {company} au support : {demande.subject}"
        ),
        body=f"{message.author.get_full_name()} ({company}) a écrit :\n\n{message.text}",
        url=support_url(demande),
        email=email,
    )


def _require_text(text: str, message: str) -> None:
    if not text.strip():
        raise ValidationError({"text": message})


def support_demande_open(*, actor, subject: str, text: str, files=(), now=None) -> SupportDemande:
    """A company's new question to the support, with its first message."""
    now = now or timezone.now()
    if not _company_member(actor):
        raise PermissionDenied("Seuls les comptes d’une entreprise posent une question au support.")
    errors = {}
    if not subject.strip():
        errors["subject"] = "Donnez un objet à votre question."
    if not text.strip():
        errors["text"] = "Écrivez votre question."
    if errors:
        raise ValidationError(errors)
    with receiving_files(), transaction.atomic():
        demande = SupportDemande.objects.create(
            editeur_id=actor.editeur_id,
            subject=subject.strip(),
            created_by=actor,
            created_at=now,
            last_message_at=now,
            waiting_since=now,
        )
        message = message_create(
            SupportMessage,
            demande=demande,
            actor=actor,
            from_agency=False,
            now=now,
            text=text,
            files=files,
            editeur=actor.editeur,
        )
    _notify_agency(demande, message, new=True)
    return demande


def support_message_send(*, demande: SupportDemande, actor, text: str, files=(), now=None):
    """A message in a support request: the company's waits for the agency (the inbox puts
    it first), the agency's answers it."""
    now = now or timezone.now()
    from_company = _company_member(actor) and actor.editeur_id == demande.editeur_id
    if not (from_company or runs_procedure(actor)):
        raise PermissionDenied(
            "Seuls les comptes de l’entreprise et les agents de l’ANS écrivent dans cette demande."
        )
    _require_text(text, "Écrivez votre message.")
    with receiving_files(), transaction.atomic():
        demande = (
            SupportDemande.objects.select_for_update(of=("self",))
            .select_related("editeur")
            .get(pk=demande.pk)
        )
        message = message_create(
            SupportMessage,
            demande=demande,
            actor=actor,
            from_agency=not from_company,
            now=now,
            text=text,
            files=files,
            editeur=demande.editeur,
        )
        demande.last_message_at = now
        if not from_company:
            demande.waiting_since = None
        elif demande.waiting_since is None:
            demande.waiting_since = now
        demande.save(update_fields=["last_message_at", "waiting_since"])
    if from_company:
        _notify_agency(demande, message, new=False)
    else:
        notification_send(
            recipients=demande.editeur.members.filter(is_active=True),
            title=f"Réponse du support de l’ANS : {demande.subject}",
            body=f"{text.strip()}\n\nLa conversation est dans le portail, rubrique Support.",
            url=support_url(demande),
        )
    return message
