"""Demo data for the embedded portal. Idempotent: running it again changes nothing new."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from candidatures.enums import RemStatus
from candidatures.models import Campagne, Dsr, Editeur, RemVersion
from candidatures.services.referentiel import rem_version_import, rem_version_publish
from segur_portal.enums import CompanyRole, Role
from segur_portal.models import User

DEMO_PASSWORD = "demo-segur-2026"
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
DEMO_REM = FIXTURES / "rem" / "ans_rem_va2_drimbox_prepub_exigences.csv"
DEMO_REM_DSR = "RAD-DRIMBOX-Va2"
# Every DSR with a demo campaign has a published REM: a guichet does not open without one.
# (DSR, file, label, the REM column's value in a multi-REM sheet)
DEMO_REMS = [
    (DEMO_REM_DSR, DEMO_REM, "prépublication IT4 2023-03-14", ""),
    (
        "MDV-LGC-Va2",
        FIXTURES / "rem" / "ans_rem_va2_lgc_prepub.csv",
        "prépublication LGC 2023-03-14",
        "LGC",
    ),
]
DEMO_FILES = FIXTURES / "demo"
DEMO_CAMPAIGN_DSRS = ["RAD-DRIMBOX-Va2", "MDV-LGC-Va2"]
DEMO_CAMPAIGN_LABEL = "Campagne de démonstration"
DEMO_EDITEUR = {
    "siret": "73282932000074",
    "raison_sociale": "Éditeur Démo Santé",
    "representant_nom": "Hélène Martin",
    "representant_titre": "Directrice générale",
    "representant_email": "direction@demo.segur.fr",
    "representant_telephone": "0123456789",
    "contact_nom": "Emma Éditrice",
    "contact_email": "editeur@demo.segur.fr",
    "contact_telephone": "0612345678",
}
OTHER_EDITEUR = {
    "siret": "55210055400013",
    "raison_sociale": "Imagerie Conseil SAS",
    "representant_nom": "Paul Durand",
    "representant_titre": "Président",
    "representant_email": "president@imagerie-conseil.example",
    "representant_telephone": "0198765432",
    "contact_nom": "Lina Morel",
    "contact_email": "lina.morel@imagerie-conseil.example",
    "contact_telephone": "0698765432",
}


@dataclass(frozen=True)
class DemoAccount:
    email: str
    first_name: str
    last_name: str
    role: Role
    company_role: str = ""

    @property
    def label(self) -> str:
        if self.company_role:
            return f"{Role(self.role).label} ({CompanyRole(self.company_role).label.lower()})"
        return Role(self.role).label


DEMO_ACCOUNTS = [
    DemoAccount("admin@demo.segur.fr", "Alice", "Administratrice", Role.ADMIN),
    DemoAccount("instructeur@demo.segur.fr", "Ivan", "Instructeur", Role.INSTRUCTEUR),
    DemoAccount("college@demo.segur.fr", "Camille", "Collège", Role.COLLEGE),
    # A séance decides with a quorum (COLLEGE_QUORUM, 2): three members, one may be away.
    DemoAccount("college2@demo.segur.fr", "Bruno", "Collège", Role.COLLEGE),
    DemoAccount("college3@demo.segur.fr", "Chloé", "Collège", Role.COLLEGE),
    DemoAccount("editeur@demo.segur.fr", "Emma", "Éditrice", Role.EDITEUR, CompanyRole.MANDATAIRE),
]


@transaction.atomic
def seed_demo(*, procedure: bool = True) -> list[DemoAccount]:
    """The demo accounts and référentiel; with `procedure`, candidatures at every step."""
    if not settings.DEBUG:
        raise ImproperlyConfigured(
            "Les comptes de démonstration ne sont créés que lorsque DEBUG est actif."
        )
    editeur, _ = Editeur.objects.update_or_create(
        siret=DEMO_EDITEUR["siret"], defaults=DEMO_EDITEUR
    )
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(email=account.email).first()
        if user is None:
            user = User(email=account.email)
        user.first_name = account.first_name
        user.last_name = account.last_name
        user.role = account.role
        user.editeur = editeur if account.role == Role.EDITEUR else None
        user.company_role = account.company_role
        user.is_active = True
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.set_password(DEMO_PASSWORD)
        user.save()
    seed_referentiel()
    if procedure:
        seed_candidatures(editeur)
    return DEMO_ACCOUNTS


def seed_referentiel() -> None:
    """The couloirs, DSRs and profiles of waves 1 and 2, a real REM, and campaigns whose
    dates put today in phase 1 (the administrative deposit is open)."""
    call_command("loaddata", FIXTURES / "referentiel.json", verbosity=0)
    for code, path, label, rem in DEMO_REMS:
        dsr = Dsr.objects.get(code=code)
        if RemVersion.objects.filter(dsr=dsr, status=RemStatus.PUBLISHED).exists():
            continue
        with path.open("rb") as handle:
            result = rem_version_import(
                dsr=dsr, file=handle, filename=path.name, label=label, rem=rem
            )
        if result.version is None:
            raise ImproperlyConfigured(
                f"Le REM de démonstration {path.name} ne s’importe pas : {result.parsed.errors[:3]}"
            )
        rem_version_publish(version=result.version)
    today = timezone.localdate()

    def at(days: int, hour: time) -> datetime:
        day = today + timedelta(days=days)
        # Jalons fall on weekdays: the agency does not set a deadline on a Sunday.
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return timezone.make_aware(datetime.combine(day, hour))

    end_of_day = time(23, 59)
    for code in DEMO_CAMPAIGN_DSRS:
        Campagne.objects.update_or_create(
            dsr=Dsr.objects.get(code=code),
            label=DEMO_CAMPAIGN_LABEL,
            defaults={
                "j1": at(-7, time(9, 0)),
                "j2": at(14, time(14, 0)),
                "j3": at(28, end_of_day),
                "j4": at(42, end_of_day),
                "j5": at(56, end_of_day),
                "j6": at(112, end_of_day),
                "j7": at(168, end_of_day),
            },
        )


def seed_candidatures(editeur: Editeur) -> None:
    """Candidatures at each step, so the agency's queues are not empty: a draft, two
    submitted (one under sollicitation, from another company), one eligible with part of
    its proofs deposited, one whose complete dossier is in instruction.
    Made through the services, so their histories are real. Once only."""
    from candidatures.models import Candidature, CguAcceptance
    from candidatures.services import candidature as candidature_services
    from candidatures.services.onboarding import current_cgu
    from candidatures.services.sollicitation import sollicitation_open

    if Candidature.objects.filter(editeur=editeur).exists():
        return
    campagne = Campagne.objects.get(dsr__code=DEMO_REM_DSR, label=DEMO_CAMPAIGN_LABEL)
    mandataire = User.objects.get(email="editeur@demo.segur.fr")
    instructeur = User.objects.get(email="instructeur@demo.segur.fr")
    other, _ = Editeur.objects.update_or_create(
        siret=OTHER_EDITEUR["siret"], defaults=OTHER_EDITEUR
    )
    other_user, created = User.objects.get_or_create(
        email="lina.morel@imagerie-conseil.example",
        defaults={
            "first_name": "Lina",
            "last_name": "Morel",
            "role": Role.EDITEUR,
            "editeur": other,
            "company_role": CompanyRole.MANDATAIRE,
            "email_verified_at": timezone.now(),
        },
    )
    if created:
        other_user.set_unusable_password()
        other_user.save()
    for user in (mandataire, other_user):
        CguAcceptance.objects.get_or_create(user=user, cgu=current_cgu())

    def create(actor, name, version):
        return candidature_services.candidature_create(
            actor=actor,
            campagne=campagne,
            data={
                "nom_commercial": name,
                "version_technique": version,
                "date_depot_preuves_prevue": timezone.localdate() + timedelta(days=90),
            },
        )

    create(mandataire, "DRIMview", "3.2.0")
    submitted = create(mandataire, "DRIMview", "3.1.4")
    candidature_services.candidature_submit_admin(candidature=submitted, actor=mandataire)
    questioned = create(other_user, "PACSlink", "2.0.1")
    candidature_services.candidature_submit_admin(candidature=questioned, actor=other_user)
    sollicitation_open(
        candidature=questioned,
        actor=instructeur,
        text="Le numéro de version technique 2.0.1 n’apparaît pas dans l’interface de la "
        "démonstration : merci de joindre une capture d’écran où il est visible.",
    )
    eligible = create(mandataire, "ImagoBox", "5.4.2")
    _make_eligible(eligible, mandataire, instructeur)
    _deposit(eligible, mandataire, share=0.4)
    instructed = create(mandataire, "DRIMview", "3.0.9")
    _make_eligible(instructed, mandataire, instructeur)
    _deposit(instructed, mandataire, share=1.0)
    _instruct(instructed, mandataire, instructeur)
    _college(
        [create(mandataire, name, version) for name, version in PHASE_3_CANDIDATURES],
        mandataire,
        instructeur,
    )


# Decided at the demo's séance: referenced, réserves non bloquantes, refused.
PHASE_3_CANDIDATURES = [
    ("DRIMbox Cloud", "2.4.0"),
    ("DRIMbox Cloud", "2.3.1"),
    ("ImagoBox", "5.3.0"),
]


def _college(candidatures, mandataire, instructeur) -> None:
    """Through instruction, convention and a séance closed today: one referenced with its
    attestation, one under réserves non bloquantes, one refused (réserves bloquantes)."""
    from candidatures.enums import CndaStatus
    from college import services as college
    from college.models import Inscription, Seance
    from preuves import depot, instruction
    from preuves.enums import Verdict
    from segur_portal.clocks import paris_date

    member = User.objects.get(email="college@demo.segur.fr")
    for candidature in candidatures:
        _make_eligible(candidature, mandataire, instructeur)
        _deposit_shared(candidature, mandataire)
        depot.cnda_status_set(candidature=candidature, status=CndaStatus.CERTIFIE, actor=mandataire)
        candidature.refresh_from_db()
        depot.dossier_submit(candidature=candidature, actor=mandataire)
        candidature.refresh_from_db()
        instruction.instruction_take(candidature=candidature, actor=instructeur)
        candidature.refresh_from_db()
        for _key, _title, blocks in depot.dossier(candidature).sections:
            for block in blocks:
                instruction.verdict_record(
                    candidature=candidature,
                    exigence=block.exigence,
                    verdict=Verdict.CONFORME,
                    comment="",
                    actor=instructeur,
                )
        instruction.instruction_close(candidature=candidature, actor=instructeur)
        candidature.refresh_from_db()
        convention = college.convention_issue(candidature=candidature, actor=instructeur)
        college.convention_sign(
            convention=convention,
            actor=mandataire,
            signature=college.Signature(
                password=DEMO_PASSWORD, consent=True, document_sha256=convention.sha256
            ),
        )
    now = timezone.now()
    seance, _ = Seance.objects.get_or_create(
        date=paris_date(now), defaults={"starts_at": now - timedelta(minutes=90)}
    )
    # Today's séance as planned may start later today: the demo holds it now.
    Seance.objects.filter(pk=seance.pk, starts_at__gt=now).update(starts_at=now)
    seance.refresh_from_db()
    Inscription.objects.filter(candidature__in=candidatures).update(seance=seance)
    present = User.objects.filter(role=Role.COLLEGE, email__endswith="@demo.segur.fr")
    college.seance_open(
        seance=seance, actor=member, present_ids=list(present.values_list("pk", flat=True))
    )
    inscriptions = {i.candidature_id: i for i in seance.inscriptions.all()}
    referenced, reserved, refused = candidatures
    exigences = list(
        referenced.rem_version.exigences.order_by("identifier").values_list("identifier", flat=True)
    )
    decisions = [
        (referenced, "sans_reserve", "Le logiciel satisfait les exigences du REM.", []),
        (
            reserved,
            "reserves_non_bloquantes",
            "Deux corrections mineures sont à apporter avant le référencement.",
            [
                college.ReserveInput(
                    "Le nom du patient doit s’afficher en majuscules dans le bandeau.",
                    exigences[:1],
                ),
                college.ReserveInput(
                    "La date de l’examen doit figurer dans le nom du fichier exporté.",
                    exigences[1:2],
                ),
            ],
        ),
        (
            refused,
            "reserves_bloquantes",
            "Les échanges avec le DMP ne respectent pas le guide d’intégration.",
            [
                college.ReserveInput(
                    "Le compte rendu n’est pas alimenté dans le DMP.", exigences[2:3]
                )
            ],
        ),
    ]
    for candidature, kind, text, reserves in decisions:
        college.decision_record(
            inscription=inscriptions[candidature.pk],
            actor=member,
            kind=kind,
            text=text,
            reserves=reserves,
        )
    college.seance_close(seance=seance, actor=member)


def _deposit_shared(candidature, mandataire) -> None:
    """Every expected proof, answered by one small real file per format (checked once),
    so the demo stays quick to seed."""
    from preuves import depot
    from preuves.models import Depot
    from preuves.services import fichier_check

    shared = {}
    for item in depot.dossier(candidature).required_items():
        if item.accepts_url:
            depot.depot_add_link(
                candidature=candidature,
                item=item,
                url="https://gazelle.services.esante.gouv.fr/rapport/demo",
                actor=mandataire,
            )
            continue
        upload = _demo_upload(item)
        key = upload.name.rsplit(".", 1)[-1]
        if key not in shared:
            (added,) = depot.depot_add_files(
                candidature=candidature, item=item, uploads=[upload], actor=mandataire
            )
            fichier_check(fichier_id=added.fichier_id)
            shared[key] = added.fichier_id
            continue
        Depot.objects.create(
            candidature=candidature,
            exigence=item.exigence,
            preuve_attendue=item.preuve,
            fichier_id=shared[key],
            deposited_by=mandataire,
        )


def _make_eligible(candidature, mandataire, instructeur) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from candidatures.parc import model_csv
    from candidatures.services import candidature as candidature_services
    from candidatures.services import eligibility as eligibility_services

    candidature_services.candidature_submit_admin(candidature=candidature, actor=mandataire)
    candidature_services.candidature_validate_admin(candidature=candidature, actor=instructeur)
    letter = (DEMO_FILES / "compte-rendu.pdf").read_bytes()
    eligibility_services.eligibility_save(
        candidature=candidature,
        actor=mandataire,
        data={
            "nie": "NIE-DEMO-01",
            "nil": "NIL-DEMO-54",
            "groupement": False,
            "distribue": False,
            "profils": [],
        },  # fmt: skip
        composants=[],
        membres=[],
        distributeurs=[],
        uploads={
            "cnda_depot": SimpleUploadedFile("depot-cnda.pdf", letter),
            "lettre_engagement": SimpleUploadedFile("lettre-engagement.pdf", letter),
        },
    )
    eligibility_services.parc_upload(
        candidature=candidature,
        actor=mandataire,
        upload=SimpleUploadedFile("parc.csv", model_csv()),
    )
    # The files are checked after the commit; the demo checks them at once.
    candidature.refresh_from_db()
    _accept_demo_files(candidature)
    eligibility_services.candidature_submit_eligibility(candidature=candidature, actor=mandataire)
    eligibility_services.candidature_validate_eligibility(
        candidature=candidature, actor=instructeur
    )
    candidature.refresh_from_db()


def _demo_upload(item):
    """A real small file of a format the expected proof accepts."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    allowed = item.rule.allowed_mime_types
    # DMP/AIRS.03.01.01: a slash would cut the file's name.
    label = item.identifier.replace("/", "-")
    if allowed is None:
        return SimpleUploadedFile(
            f"journal-{label}.log",
            f"2026-11-20 10:02:11 {item.identifier} : appel réussi (démonstration)\n".encode(),
        )
    for name, mime in (
        ("demonstration.mp4", "video/mp4"),
        ("capture-ecran.png", "image/png"),
        ("compte-rendu.pdf", "application/pdf"),
    ):
        if mime in allowed:
            stem, _, suffix = name.rpartition(".")
            return SimpleUploadedFile(f"{stem}-{label}.{suffix}", (DEMO_FILES / name).read_bytes())
    raise ImproperlyConfigured(f"Aucun fichier de démonstration pour {item.identifier}.")


def _deposit(candidature, mandataire, *, share: float) -> None:
    """Deposit the first `share` of the expected proofs, checked at once."""
    from preuves import depot
    from preuves.services import fichier_check

    items = depot.dossier(candidature).required_items()
    for item in items[: round(len(items) * share)]:
        if item.accepts_url:
            depot.depot_add_link(
                candidature=candidature,
                item=item,
                url="https://gazelle.services.esante.gouv.fr/rapport/demo",
                actor=mandataire,
            )
            continue
        for added in depot.depot_add_files(
            candidature=candidature, item=item, uploads=[_demo_upload(item)], actor=mandataire
        ):
            fichier_check(fichier_id=added.fichier_id)


def _instruct(candidature, mandataire, instructeur) -> None:
    """Submitted, taken in instruction, the first requirements found conforme."""
    from candidatures.enums import CndaStatus
    from preuves import depot, instruction
    from preuves.enums import Verdict

    depot.cnda_status_set(candidature=candidature, status=CndaStatus.CERTIFIE, actor=mandataire)
    candidature.refresh_from_db()
    depot.dossier_submit(candidature=candidature, actor=mandataire)
    candidature.refresh_from_db()
    instruction.instruction_take(candidature=candidature, actor=instructeur)
    candidature.refresh_from_db()
    blocks = [
        block for _key, _title, blocks in depot.dossier(candidature).sections for block in blocks
    ]
    for block in blocks[:5]:
        instruction.verdict_record(
            candidature=candidature,
            exigence=block.exigence,
            verdict=Verdict.CONFORME,
            comment="",
            actor=instructeur,
        )


def _accept_demo_files(candidature) -> None:
    from preuves.services import fichier_check

    for fichier in (candidature.cnda_depot, candidature.lettre_engagement):
        fichier_check(fichier_id=fichier.pk)
