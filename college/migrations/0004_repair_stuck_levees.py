"""Repair: candidatures left in « levée soumise » although every réserve of their decision
was lifted — two instructors lifting the last two réserves at once, before the services
locked the candidature. Each is referenced as its last lifting should have done: number,
attestation, history, the company told in the portal and by e-mail. The attestation's
PDF is rendered by the sweep, which queues every attestation still without its PDF.

Those whose CNDA homologations are not all obtained are left to the sweep rule
(college.services.reserves_sweep), which references them once they are. Idempotent: a
repaired candidature is no longer in « levée soumise ».

Historical models only: the rules are restated here as they stand at this migration.
"""

import re
import unicodedata
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.utils import timezone

REASON = "Réserves non bloquantes levées"


def _fold(value: str) -> str:
    return "".join(
        char
        for char in unicodedata.normalize("NFKD", value.casefold())
        if not unicodedata.combining(char)
    )


def _cnda_obtained(apps, candidature) -> bool:
    """Declared « certifié », and every CNDA homologation proof of the dossier with an
    accepted file (preuves.cnda, preuves.depot.is_cnda_homologation)."""
    if candidature.cnda_homologation != "certifie":
        return False
    PreuveAttendue = apps.get_model("candidatures", "PreuveAttendue")
    Depot = apps.get_model("preuves", "Depot")
    perimetres = ["vague_2"]
    if candidature.numero_referencement_v1 and (
        candidature.v1_sans_engagement_compatibilite
        or candidature.v1_audit_non_conformite
        or candidature.v1_defaut_non_resolu
        or candidature.v1_dereferencement_en_cours
    ):
        perimetres.append("vague_1")
    proofs = PreuveAttendue.objects.filter(
        scenario__exigence__rem_version_id=candidature.rem_version_id,
        scenario__exigence__nature="exigence",
        scenario__exigence__perimetre__in=perimetres,
        scenario__exigence__profil__in=candidature.profils.all(),
        text__icontains="cnda",
    )
    for proof in proofs:
        text = _fold(proof.text)
        if "homologation" not in text or "cnda" not in text:
            continue
        depots = Depot.objects.filter(
            candidature=candidature, preuve_attendue=proof, removed_at__isnull=True
        ).select_related("fichier")
        if not any(d.url or (d.fichier and d.fichier.status == "acceptee") for d in depots):
            return False
    return True


def _numero(apps, dsr_code: str, year: int) -> str:
    NumeroSequence = apps.get_model("college", "NumeroSequence")
    code = re.sub(r"[^A-Z0-9]+", "-", dsr_code.upper()).strip("-")
    prefix = f"SEGUR-{code}-{year}"
    NumeroSequence.objects.get_or_create(prefix=prefix)
    sequence = NumeroSequence.objects.select_for_update().get(prefix=prefix)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{sequence.last:05d}"


def _tell_company(apps, candidature, attestation) -> None:
    Notification = apps.get_model("segur_portal", "Notification")
    OutboundEmail = apps.get_model("segur_portal", "OutboundEmail")
    User = apps.get_model("segur_portal", "User")
    title = f"Réserves levées : logiciel référencé — {candidature.nom_commercial}"
    body = (
        "L’ANS a levé toutes les réserves. Numéro de référencement : "
        f"{attestation.numero}. L’attestation est téléchargeable sur la page de la "
        "candidature."
    )
    url = f"/candidatures/{candidature.pk}/"
    text = (
        f"Bonjour,\n\n{title}\n\n{body}\n\nPour consulter le détail : {settings.SITE_URL}{url}\n"
        "\n—\nPortail de référencement Ségur — Agence du Numérique en Santé\nCe courriel est "
        "envoyé automatiquement : merci de ne pas y répondre."
    )
    subject = " ".join(title.split())[:200]
    addresses = set()
    for user in User.objects.filter(editeur_id=candidature.editeur_id, is_active=True):
        notification = Notification.objects.create(
            recipient=user, title=title, body=body, url=url
        )
        OutboundEmail.objects.create(
            to=user.email, subject=subject, body=text, notification=notification
        )
        addresses.add(user.email.lower())
    editeur = candidature.editeur
    for address in {editeur.contact_email, editeur.representant_email} - {"", None}:
        if address.strip().lower() not in addresses:
            OutboundEmail.objects.create(to=address.strip().lower(), subject=subject, body=text)


def repair(apps, schema_editor):
    Candidature = apps.get_model("candidatures", "Candidature")
    CandidatureTransition = apps.get_model("candidatures", "CandidatureTransition")
    Reserve = apps.get_model("college", "Reserve")
    Attestation = apps.get_model("college", "Attestation")
    now = timezone.now()
    stuck = Candidature.objects.filter(state="levee_soumise").select_related(
        "editeur", "campagne__dsr"
    )
    for candidature in stuck.select_for_update(of=("self",)):
        reserves = Reserve.objects.filter(
            decision__inscription__candidature=candidature,
            decision__notified_at__isnull=False,
            decision__kind="reserves_non_bloquantes",
        )
        if not reserves.exists() or reserves.exclude(status="levee").exists():
            continue
        if not _cnda_obtained(apps, candidature):
            continue
        day = now.astimezone(ZoneInfo("Europe/Paris")).date()
        attestation = Attestation.objects.create(
            candidature=candidature,
            numero=_numero(apps, candidature.campagne.dsr.code, day.year),
            referenced_on=day,
            issued_at=now,
        )
        Candidature.objects.filter(pk=candidature.pk).update(
            state="referencee", closed_at=now, closed_reason=REASON
        )
        last = reserves.order_by("-lifted_at", "-pk").first()
        CandidatureTransition.objects.create(
            candidature=candidature,
            name="grant_referencing",
            from_state="levee_soumise",
            to_state="referencee",
            actor_id=last.lifted_by_id,
            at=now,
            reason=f"{REASON} (toutes l’étaient : référencement attribué à la réparation)",
        )
        _tell_company(apps, candidature, attestation)


class Migration(migrations.Migration):
    dependencies = [
        ("candidatures", "0006_alter_candidature_state_and_more"),
        ("college", "0003_decision_levee_overdue_notified_at"),
        ("preuves", "0003_fichier_infectee"),
        ("segur_portal", "0003_outboundemail_failed_at"),
    ]

    operations = [migrations.RunPython(repair, migrations.RunPython.noop)]
