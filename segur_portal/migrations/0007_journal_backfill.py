"""The history recorded before the journal existed, written into it once, in the order
of the events: creations, transitions, REM moves, sollicitation messages, closes,
expiries and reminders, verdicts. Each entry says `"reprise": true` (written after the
fact, on the day of this migration). Downloads logged before stay in FichierDownload."""

from django.db import migrations
from django.utils import timezone

from segur_portal.journal_format import GENESIS, entry_canonical, plain, sha256_hex

CHUNK = 1000


def _events(apps):
    Candidature = apps.get_model("candidatures", "Candidature")
    Transition = apps.get_model("candidatures", "CandidatureTransition")
    RemMove = apps.get_model("candidatures", "CandidatureRemMove")
    Sollicitation = apps.get_model("candidatures", "Sollicitation")
    Message = apps.get_model("candidatures", "SollicitationMessage")
    Verdict = apps.get_model("preuves", "ExigenceVerdict")
    Attestation = apps.get_model("college", "Attestation")
    numeros = dict(Attestation.objects.values_list("candidature_id", "numero"))
    public = {
        "admin_validee", "eligibilite_soumise", "eligible", "dossier_soumis", "en_instruction",
        "preuves_validees", "convention_envoyee", "convention_signee", "en_college",
        "reserves_non_bloquantes", "levee_soumise", "referencee",
    }  # fmt: skip

    for c in Candidature.objects.select_related("campagne__dsr"):
        yield (
            c.created_at,
            "candidature.creee",
            c.created_by_id,
            c.pk,
            {
                "dsr": c.campagne.dsr.code,
                "nom_commercial": c.nom_commercial,
                "version_technique": c.version_technique,
            },
        )
    for t in Transition.objects.select_related(
        "candidature__campagne__dsr", "candidature__editeur"
    ):
        yield (
            t.at,
            "candidature.transition",
            t.actor_id,
            t.candidature_id,
            {
                "transition": t.name,
                "from": t.from_state,
                "to": t.to_state,
                "reason": t.reason,
            },
        )
        was, now = t.from_state in public, t.to_state in public
        if t.to_state == "referencee" and t.from_state != "referencee":
            event = "referencee"
        elif t.from_state == "referencee" and t.to_state != "referencee":
            event = "dereferencee"
        else:
            event = "publiee" if now and not was else "sortie" if was and not now else ""
        if event:
            c = t.candidature
            yield (
                t.at,
                "registre",
                t.actor_id,
                t.candidature_id,
                {
                    "event": event,
                    "state": t.to_state,
                    "dsr": c.campagne.dsr.code,
                    "editeur": c.editeur.raison_sociale,
                    "nom_commercial": c.nom_commercial,
                    "version_technique": c.version_technique,
                    "reason": t.reason if t.to_state in {"dereferencee", "retiree"} else "",
                    **(
                        {"numero": numeros.get(t.candidature_id, "")}
                        if event in {"referencee", "dereferencee"}
                        else {}
                    ),
                },
            )
    for m in RemMove.objects.select_related("from_version", "to_version"):
        yield (
            m.at,
            "candidature.rem",
            m.actor_id,
            m.candidature_id,
            {
                "from": m.from_version.label,
                "to": m.to_version.label,
                "reason": m.reason,
                "impact": "",
            },
        )
    seen = set()
    for m in Message.objects.select_related("sollicitation").order_by("sent_at", "pk"):
        first = m.sollicitation_id not in seen
        seen.add(m.sollicitation_id)
        yield (
            m.sent_at,
            "sollicitation.message",
            m.author_id,
            m.sollicitation.candidature_id,
            {
                "parent": m.sollicitation_id,
                "message": m.pk,
                "from_agency": m.from_agency,
                "first": first and m.from_agency,
                "text": m.text,
                "fichiers": [
                    {"fichier": f.pk, "name": f.original_name, "size": f.size, "sha256": f.sha256}
                    for f in m.fichiers.all()
                ],
            },
        )
    for s in Sollicitation.objects.all():
        base = {"sollicitation": s.pk, "opened_at": s.opened_at, "phase": s.phase}
        if s.expired_at:
            due = s.due_at if s.due_at <= s.closes_at else s.closes_at
            yield (
                s.expired_at,
                "sollicitation.expiree",
                None,
                s.candidature_id,
                {
                    **base,
                    "due_at": due,
                },
            )
        if s.closed_at:
            yield s.closed_at, "sollicitation.close", s.closed_by_id, s.candidature_id, base
        for at, which in [(s.reminder_half_sent_at, "half"), (s.reminder_last_sent_at, "last")]:
            if at:
                yield (
                    at,
                    "sollicitation.rappel",
                    None,
                    s.candidature_id,
                    {
                        **base,
                        "reminder": which,
                    },
                )
    for v in Verdict.objects.select_related("exigence"):
        yield (
            v.at,
            "instruction.verdict",
            v.by_id,
            v.candidature_id,
            {
                "exigence": v.exigence.identifier,
                "verdict": v.verdict,
                "comment": v.comment,
            },
        )


def backfill(apps, schema_editor):
    Entry = apps.get_model("segur_portal", "JournalEntry")
    Head = apps.get_model("segur_portal", "JournalHead")
    Candidature = apps.get_model("candidatures", "Candidature")
    if Entry.objects.exists():
        return
    editeurs = dict(Candidature.objects.values_list("pk", "editeur_id"))
    events = sorted(_events(apps), key=lambda event: event[0])
    recorded_at = timezone.now()
    prev, seq, batch = GENESIS, 0, []
    for at, kind, actor_id, candidature_id, data in events:
        seq += 1
        data = plain({**data, "reprise": True})
        editeur_id = editeurs.get(candidature_id)
        entry_hash = sha256_hex(
            entry_canonical(
                seq=seq,
                prev_hash=prev,
                recorded_at=recorded_at,
                at=at,
                kind=kind,
                actor_id=actor_id,
                candidature_id=candidature_id,
                editeur_id=editeur_id,
                data=data,
            )
        )
        batch.append(
            Entry(
                seq=seq,
                recorded_at=recorded_at,
                at=at,
                kind=kind,
                actor_id=actor_id,
                candidature_id=candidature_id,
                editeur_id=editeur_id,
                data=data,
                prev_hash=prev,
                hash=entry_hash,
            )
        )
        prev = entry_hash
        if len(batch) >= CHUNK:
            Entry.objects.bulk_create(batch)
            batch = []
    Entry.objects.bulk_create(batch)
    if seq:
        Head.objects.update_or_create(
            pk=1, defaults={"seq": seq, "hash": prev, "recorded_at": recorded_at}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("segur_portal", "0006_journal"),
        ("candidatures", "0009_candidature_rem_move"),
        ("preuves", "0003_fichier_infectee"),
        ("college", "0004_repair_stuck_levees"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
