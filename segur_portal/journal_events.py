"""What each event writes in the journal: one function per kind of event, called by
the services where the event happens (inside their transaction).

The data hold identifiers, hashes and the texts of the procedure, never a person's
name or e-mail address: an entry cannot be erased, and a person is named through the
account the entry points to (the IP address of a download or a signature is there, as
in their own records)."""

from candidatures.enums import IN_PROGRESS_STATES, CandidatureState
from segur_portal.enums import JournalKind
from segur_portal.journal import journal_append, journal_append_many

S = CandidatureState
PUBLIC_STATES = IN_PROGRESS_STATES | {S.REFERENCEE}


def journal_transition(transition) -> None:
    """A change of state (CandidatureTransition), and the registry's change it makes."""
    journal_append_many(transition_events(transition))


def transition_events(transition) -> list[dict]:
    """What journal_transition appends, for journal_append_many."""
    candidature = transition.candidature
    event = {"actor": transition.actor, "candidature": candidature, "at": transition.at}
    events = [
        {
            **event,
            "kind": JournalKind.TRANSITION,
            "data": {
                "transition": transition.name,
                "from": transition.from_state,
                "to": transition.to_state,
                "reason": transition.reason,
            },
        }
    ]
    if transition.to_state == S.REFERENCEE:
        attestation = _attestation(candidature)
        if attestation is not None:
            events.append(
                {
                    **event,
                    "kind": JournalKind.ATTESTATION,
                    "data": {"attestation": attestation.pk, "numero": attestation.numero},
                }
            )
    if registre := _registre_data(transition):
        events.append({**event, "kind": JournalKind.REGISTRE, "data": registre})
    return events


def _attestation(candidature):
    from college.models import Attestation

    return Attestation.objects.filter(candidature=candidature).first()


def registre_event(from_state: str, to_state: str) -> str:
    """How a change of state changes the public registry ('' when it does not)."""
    was, now = from_state in PUBLIC_STATES, to_state in PUBLIC_STATES
    if to_state == S.REFERENCEE and from_state != S.REFERENCEE:
        return "referencee"
    if from_state == S.REFERENCEE and to_state != S.REFERENCEE:
        return "dereferencee"
    if now and not was:
        return "publiee"
    if was and not now:
        return "sortie"
    return ""


# The reasons the registry shows: a déréférencement is motivated publicly, a
# withdrawal is the company's own statement (the form says it is published).
PUBLIC_REASONS = {S.DEREFERENCEE, S.RETIREE}


def _registre_data(transition) -> dict | None:
    event = registre_event(transition.from_state, transition.to_state)
    if not event:
        return None
    candidature = transition.candidature
    data = {
        "event": event,
        "state": transition.to_state,
        "dsr": candidature.campagne.dsr.code,
        "editeur": candidature.editeur.raison_sociale,
        "nom_commercial": candidature.nom_commercial,
        "version_technique": candidature.version_technique,
        "reason": transition.reason if transition.to_state in PUBLIC_REASONS else "",
    }
    if event in {"referencee", "dereferencee"}:
        attestation = _attestation(candidature)
        data["numero"] = attestation.numero if attestation else ""
    return data


def journal_candidature_created(candidature) -> None:
    journal_append(
        kind=JournalKind.CANDIDATURE_CREEE,
        actor=candidature.created_by,
        candidature=candidature,
        at=candidature.created_at,
        data={
            "dsr": candidature.campagne.dsr.code,
            "nom_commercial": candidature.nom_commercial,
            "version_technique": candidature.version_technique,
        },
    )


def _fichier_data(fichier) -> dict:
    return {
        "fichier": fichier.pk,
        "name": fichier.original_name,
        "size": fichier.size,
        "sha256": fichier.sha256,
    }


def _fichier_entry(kind, fichier, *, actor, data: dict, at=None) -> None:
    from preuves.selectors import fichier_context

    candidature_id, context = fichier_context(fichier)
    journal_append(
        kind=kind,
        actor=actor,
        candidature=_candidature(candidature_id),
        editeur=fichier.editeur,
        at=at,
        data={**_fichier_data(fichier), "context": context, **data},
    )


def _candidature(candidature_id):
    from candidatures.models import Candidature

    return Candidature(pk=candidature_id) if candidature_id else None


def journal_fichier_received(fichier, *, generated: bool = False) -> None:
    """A file stored: an upload, or a document the portal made (already accepted)."""
    journal_append(
        kind=JournalKind.FICHIER_RECU,
        actor=fichier.uploaded_by,
        editeur=fichier.editeur,
        at=fichier.uploaded_at,
        data={**_fichier_data(fichier), "generated": generated},
    )


def journal_fichier_checked(fichier) -> None:
    _fichier_entry(
        JournalKind.FICHIER_VERIFIE,
        fichier,
        actor=None,
        at=fichier.checked_at,
        data={
            "status": fichier.status,
            "mime": fichier.detected_mime,
            "reason": fichier.refusal_reason,
            "virus": fichier.virus_signature,
        },
    )


def journal_fichier_downloaded(download) -> None:
    _fichier_entry(
        JournalKind.FICHIER_TELECHARGE,
        download.fichier,
        actor=download.user,
        at=download.at,
        data={
            "download": download.pk,
            # A download, a preview in the page or a file of the dossier's archive.
            "consultation": getattr(download, "kind", "telechargement"),
            "ip": download.ip_address,
        },
    )


def journal_fichier_deleted(fichier, *, actor) -> None:
    journal_append(
        kind=JournalKind.FICHIER_SUPPRIME,
        actor=actor,
        editeur=fichier.editeur,
        data=_fichier_data(fichier),
    )


def journal_depot(depot, *, removed: bool = False) -> None:
    fichier = depot.fichier
    journal_append(
        kind=JournalKind.PREUVE_RETIREE if removed else JournalKind.PREUVE_DEPOSEE,
        actor=depot.removed_by if removed else depot.deposited_by,
        candidature=depot.candidature,
        at=depot.removed_at if removed else depot.deposited_at,
        data={
            "depot": depot.pk,
            "exigence": depot.exigence.identifier,
            "preuve": depot.preuve_attendue.identifier if depot.preuve_attendue_id else "",
            "url": depot.url,
            **(_fichier_data(fichier) if fichier is not None else {}),
        },
    )


def journal_message(message, *, candidature=None, editeur=None, first: bool = False) -> None:
    """A message of a sollicitation (`candidature`) or of the support (`editeur`)."""
    sollicitation = candidature is not None
    journal_append(
        kind=JournalKind.SOLLICITATION_MESSAGE if sollicitation else JournalKind.SUPPORT_MESSAGE,
        actor=message.author,
        candidature=candidature,
        editeur=editeur,
        at=message.sent_at,
        data={
            "parent": message.sollicitation_id if sollicitation else message.demande_id,
            "message": message.pk,
            "from_agency": message.from_agency,
            "first": first,
            "text": message.text,
            "fichiers": [_fichier_data(fichier) for fichier in message.fichiers.all()],
        },
    )


def journal_sollicitation(sollicitation, *, kind: str, actor=None, at, **data) -> None:
    journal_append(**sollicitation_event(sollicitation, kind=kind, actor=actor, at=at, **data))


def sollicitation_event(sollicitation, *, kind: str, actor=None, at, **data) -> dict:
    """The arguments of journal_append for an event of a sollicitation, for
    journal_append_many."""
    return {
        "kind": kind,
        "actor": actor,
        "candidature": sollicitation.candidature,
        "at": at,
        "data": {
            "sollicitation": sollicitation.pk,
            "opened_at": sollicitation.opened_at,
            "phase": sollicitation.phase,
            **data,
        },
    }


def journal_verdicts(verdicts) -> None:
    """One entry per verdict, chained in one insert (a bulk verdict records many)."""
    journal_append_many(
        [
            {
                "kind": JournalKind.VERDICT,
                "actor": verdict.by,
                "candidature": verdict.candidature,
                "at": verdict.at,
                "data": {
                    "exigence": verdict.exigence.identifier,
                    "verdict": verdict.verdict,
                    "comment": verdict.comment,
                },
            }
            for verdict in verdicts
        ]
    )


def journal_signature(convention) -> None:
    journal_append(
        kind=JournalKind.SIGNATURE,
        actor=convention.signed_by,
        candidature=convention.candidature,
        at=convention.signed_at,
        data={
            "convention": convention.pk,
            "document_sha256": convention.signed_sha256,
            "signed_document_sha256": convention.signed_document.sha256
            if convention.signed_document_id
            else "",
            "capacity": convention.signer_capacity,
            "consent": convention.consent_text,
            "ip": convention.signed_ip,
        },
    )


def journal_decision(decision) -> None:
    inscription = decision.inscription
    journal_append(
        kind=JournalKind.DECISION,
        actor=decision.recorded_by,
        candidature=inscription.candidature,
        at=decision.recorded_at,
        data={
            "decision": decision.pk,
            "seance": inscription.seance.date,
            "kind": decision.kind,
            "text": decision.text,
            "reserves": [
                {"position": reserve.position, "text": reserve.text}
                for reserve in decision.reserves.order_by("position")
            ],
        },
    )


def journal_attestation_document(attestation) -> None:
    journal_append(
        kind=JournalKind.ATTESTATION,
        candidature=attestation.candidature,
        data={
            "attestation": attestation.pk,
            "numero": attestation.numero,
            "fichier": attestation.fichier_id,
            "sha256": attestation.sha256,
        },
    )


def journal_account(user, *, event: str, actor=None, **data) -> None:
    """An account made, confirmed, given a role or access, or closed."""
    journal_append(
        kind=JournalKind.COMPTE,
        actor=actor if actor is not None else user,
        editeur=user.editeur if user.editeur_id else None,
        data={
            "event": event,
            "user": user.pk,
            "role": user.role,
            "company_role": user.company_role or "",
            "active": user.is_active,
            **data,
        },
    )
