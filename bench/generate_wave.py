"""Generate a wave at the size the spec plans for, into a PostgreSQL database of its own.

    .venv/bin/python bench/generate_wave.py segur_wave            # creates segur_wave
    .venv/bin/python bench/generate_wave.py segur_wave --replace  # drops it first
    .venv/bin/python bench/generate_wave.py segur_wave_small --scale 0.1

The database is created on the server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/), migrated, then filled; a name that starts with
"test_" (the test databases of pytest) is refused. At scale 1 (issue 12):

- 500 companies with 3 accounts each, 40 instructors, 10 collège members, 1 admin;
- the 7 DSRs of wave 2, each with a published REM (the real DRIMbox and LGC REMs, the
  DRIMbox one copied for the others), 10 campaigns at staggered dates;
- 10,000 candidatures over every state, with timestamps consistent with their campaign,
  their transitions, profiles, customer-base versions and eligibility documents;
- 1,000,000 Fichier rows, most of them answering one expected proof (Depot rows);
- 100,000 open sollicitations (open clocks), of which about 1 % are due at the
  generation's instant (a reminder, a deprioritisation, a delay or an expiry to apply),
  the rest with every past event already applied, as a sweep each minute leaves them;
  20,000 closed and 2,000 answered ones, each with its messages;
- 2,000 referenced candidatures with their attestation (and 50 withdrawn), their
  convention, inscription and decision at one of 40 past séances, 4 séances ahead;
- 300,000 notifications and e-mails, 200,000 downloads, the journal of every
  candidature's creation and transitions, chained, its past days closed and timestamped.

Every clock is relative to the generation's instant, stored in the table `bench_wave`
(generated_at): bench/sweep.py runs the sweepers at that instant, so the wave stays
"1 % due" however long after it is used. Big tables are filled with set-based SQL
(INSERT … SELECT over generate_series) or COPY; the REMs and the journal go through the
portal's own services. Prints what it made and how long each step took.
"""

import argparse
import hashlib
import io
import json
import os
import random
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-segur-2026"


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", help="name of the database to create (not test_…)")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: the full wave")
    parser.add_argument("--replace", action="store_true", help="drop the database first")
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args()


ARGS = _parse_args() if __name__ == "__main__" else None


def _database_url(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _create_database(name: str, replace: bool) -> None:
    import psycopg2

    if name.startswith("test_") or not name.replace("_", "").isalnum():
        sys.exit(f"Nom de base refusé : {name!r} (lettres, chiffres, _ ; pas test_…).")
    connection = psycopg2.connect(_database_url("postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone():
            if not replace:
                sys.exit(f"La base {name} existe : --replace pour la refaire.")
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


if ARGS is not None:
    _create_database(ARGS.database, ARGS.replace)
    os.environ["DATABASE_URL"] = _database_url(ARGS.database)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "segur_portal.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
os.environ.setdefault("SEGUR_VAR_DIR", "var/bench")
os.environ.setdefault("SITE_URL", "https://127.0.0.1")
os.environ.setdefault("CLAMD_SOCKET", "var/bench/clamd.sock")
os.environ.setdefault("SEAL_DEMO", "1")
# The generator queues nothing: without a broker, no task leaves the process.
os.environ.pop("REDIS_URL", None)

import django

django.setup()

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, models, transaction
from django.utils import timezone

from candidatures.enums import (
    CandidatureState,
    RemStatus,
    SollicitationPhase,
    SollicitationStatus,
)
from candidatures.models import (
    Campagne,
    Candidature,
    CandidatureTransition,
    Cgu,
    CguAcceptance,
    Dsr,
    Editeur,
    Exigence,
    PreuveAttendue,
    Profil,
    RemVersion,
    Scenario,
    Sollicitation,
    SollicitationMessage,
    VersionParc,
)
from college.enums import AttestationStatus, DecisionKind, ReserveStatus, SeanceStatus
from college.models import (
    Attestation,
    Convention,
    Decision,
    Inscription,
    NumeroSequence,
    Reserve,
    Seance,
    SeanceMembre,
)
from preuves.models import (
    Depot,
    DossierSoumission,
    Fichier,
    FichierDownload,
    VisiteConformite,
)
from segur_portal.clocks import (
    deadline_after_calendar_days,
    deadline_after_hours,
    deadline_after_working_days,
    halfway,
    one_working_day_before,
    paris_date,
)
from segur_portal.enums import CompanyRole, JournalKind, Role
from segur_portal.journal_format import GENESIS, entry_canonical, plain, sha256_hex
from segur_portal.models import (
    JournalEntry,
    JournalHead,
    Notification,
    OutboundEmail,
    User,
)

S = CandidatureState
Phase = SollicitationPhase
Status = SollicitationStatus
DAY = timedelta(days=1)
# Campaign jalons, in days after J1 (as the demo campaigns space them).
JALON_DAYS = {"j2": 21, "j3": 35, "j4": 49, "j5": 63, "j6": 119, "j7": 175}
# Days between each campaign's J1 and the generation's instant.
CAMPAIGN_AGES = [5, 12, 25, 40, 55, 80, 100, 130, 150, 170]
# (state, count at scale 1, the campaign ages it may be in).
STATES = [
    (S.BROUILLON, 500, lambda age: age < 21),
    (S.ADMIN_SOUMISE, 600, lambda age: age < 35),
    (S.ADMIN_VALIDEE, 300, lambda age: age < 49),
    (S.ELIGIBILITE_SOUMISE, 600, lambda age: 12 <= age < 63),
    (S.ELIGIBLE, 700, lambda age: 25 <= age < 119),
    (S.DOSSIER_SOUMIS, 800, lambda age: 40 <= age < 175),
    (S.EN_INSTRUCTION, 1200, lambda age: 40 <= age < 175),
    (S.PREUVES_VALIDEES, 20, lambda age: age >= 80),
    (S.CONVENTION_ENVOYEE, 100, lambda age: age >= 80),
    (S.CONVENTION_SIGNEE, 100, lambda age: age >= 80),
    (S.EN_COLLEGE, 150, lambda age: age >= 80),
    (S.RESERVES_NON_BLOQUANTES, 100, lambda age: age >= 100),
    (S.LEVEE_SOUMISE, 30, lambda age: age >= 100),
    (S.REFERENCEE, 2000, lambda age: age >= 80),
    (S.REFUSEE, 150, lambda age: age >= 100),
    (S.REJETEE, 1600, lambda age: True),
    (S.ABANDONNEE, 300, lambda age: age >= 80),
    (S.RETIREE, 700, lambda age: True),
    (S.DEREFERENCEE, 50, lambda age: age >= 130),
]
# The path of each state, from the draft: the transitions its history holds.
PATHS = {
    S.BROUILLON: [],
    S.ADMIN_SOUMISE: ["submit_admin"],
    S.ADMIN_VALIDEE: ["submit_admin", "validate_admin"],
    S.ELIGIBILITE_SOUMISE: ["submit_admin", "validate_admin", "submit_eligibility"],
    S.ELIGIBLE: ["submit_admin", "validate_admin", "submit_eligibility", "validate_eligibility"],
}
PATHS[S.DOSSIER_SOUMIS] = [*PATHS[S.ELIGIBLE], "submit_dossier"]
PATHS[S.EN_INSTRUCTION] = [*PATHS[S.DOSSIER_SOUMIS], "take_instruction"]
PATHS[S.PREUVES_VALIDEES] = [*PATHS[S.EN_INSTRUCTION], "close_instruction"]
PATHS[S.CONVENTION_ENVOYEE] = [*PATHS[S.PREUVES_VALIDEES], "issue_convention"]
PATHS[S.CONVENTION_SIGNEE] = [*PATHS[S.CONVENTION_ENVOYEE], "sign_convention"]
PATHS[S.EN_COLLEGE] = [*PATHS[S.CONVENTION_SIGNEE], "enter_college"]
PATHS[S.RESERVES_NON_BLOQUANTES] = [*PATHS[S.EN_COLLEGE], "set_reserves"]
PATHS[S.LEVEE_SOUMISE] = [*PATHS[S.RESERVES_NON_BLOQUANTES], "submit_levee"]
PATHS[S.REFERENCEE] = [*PATHS[S.EN_COLLEGE], "grant_referencing"]
PATHS[S.REFUSEE] = [*PATHS[S.EN_COLLEGE], "refuse"]
PATHS[S.DEREFERENCEE] = [*PATHS[S.REFERENCEE], "dereference"]
TARGETS = {
    "submit_admin": S.ADMIN_SOUMISE,
    "validate_admin": S.ADMIN_VALIDEE,
    "submit_eligibility": S.ELIGIBILITE_SOUMISE,
    "validate_eligibility": S.ELIGIBLE,
    "submit_dossier": S.DOSSIER_SOUMIS,
    "take_instruction": S.EN_INSTRUCTION,
    "close_instruction": S.PREUVES_VALIDEES,
    "issue_convention": S.CONVENTION_ENVOYEE,
    "sign_convention": S.CONVENTION_SIGNEE,
    "enter_college": S.EN_COLLEGE,
    "set_reserves": S.RESERVES_NON_BLOQUANTES,
    "submit_levee": S.LEVEE_SOUMISE,
    "grant_referencing": S.REFERENCEE,
    "refuse": S.REFUSEE,
    "dereference": S.DEREFERENCEE,
    "reject": S.REJETEE,
    "abandon": S.ABANDONNEE,
    "withdraw": S.RETIREE,
}
# States that hold a complete proof dossier.
WITH_DOSSIER = {
    S.DOSSIER_SOUMIS,
    S.EN_INSTRUCTION,
    S.PREUVES_VALIDEES,
    S.CONVENTION_ENVOYEE,
    S.CONVENTION_SIGNEE,
    S.EN_COLLEGE,
    S.RESERVES_NON_BLOQUANTES,
    S.LEVEE_SOUMISE,
    S.REFERENCEE,
    S.REFUSEE,
    S.DEREFERENCEE,
    S.ABANDONNEE,
}
PHASE_OF_STATE = {
    S.ADMIN_SOUMISE: Phase.ADMINISTRATIVE,
    S.ELIGIBILITE_SOUMISE: Phase.ELIGIBILITE,
    S.DOSSIER_SOUMIS: Phase.INSTRUCTION,
    S.EN_INSTRUCTION: Phase.INSTRUCTION,
}
PHASE_JALON = {Phase.ADMINISTRATIVE: "j3", Phase.ELIGIBILITE: "j5", Phase.INSTRUCTION: "j7"}


def scaled(count: int) -> int:
    return max(1, round(count * ARGS.scale))


class Step:
    """Times one step of the generation and prints it."""

    total = 0.0

    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.started
        Step.total += seconds
        if exc[0] is None:
            print(f"{seconds:7.1f} s  {self.label}", flush=True)


# Writing rows


def _columns(model, given: set[str]) -> list[tuple[str, str, object]]:
    """(attname, column, default) of the model's columns: those given, and a default
    (or NULL) for the others; raises when a required column has neither."""
    result = []
    for field in model._meta.concrete_fields:
        if field.attname in given:
            result.append((field.attname, field.column, None))
        elif (
            field.primary_key
            and isinstance(field, models.AutoField | models.BigAutoField)
            or field.null
        ):
            continue
        else:
            default = field.get_default()
            if default is None:
                raise ValueError(f"{model.__name__}.{field.name} : valeur requise")
            result.append(
                (field.attname, field.column, field.get_db_prep_save(default, connection))
            )
    return result


def lit(value) -> str:
    """`value` as an SQL literal (psycopg2's own quoting)."""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        return cursor.mogrify("%s", [value]).decode()


def _csv_cell(value) -> str:
    # Quoted, but for NULL: COPY's CSV reads only an unquoted \N as NULL.
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        value = "t" if value else "f"
    elif isinstance(value, datetime | date):
        value = value.isoformat()
    elif hasattr(value, "adapted"):  # a JSON adapter
        value = json.dumps(value.adapted)
    elif isinstance(value, dict | list):
        value = json.dumps(value)
    return '"' + str(value).replace('"', '""') + '"'


def copy_rows(model, rows: list[dict]) -> None:
    """COPY `rows` (dicts by attname, all with the same keys) into the model's table,
    defaults for the columns they do not give."""
    if not rows:
        return
    columns = _columns(model, set(rows[0]))
    buffer = io.StringIO()
    for row in rows:
        cells = (_csv_cell(row.get(attname, default)) for attname, _c, default in columns)
        buffer.write(",".join(cells) + "\n")
    buffer.seek(0)
    names = ", ".join(f'"{column}"' for _a, column, _d in columns)
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY \"{model._meta.db_table}\" ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            buffer,
        )


def execute(sql: str) -> int:
    """Run SQL without parameters (values are inlined with lit()): % needs no escape."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


def insert_select(model, source: str, exprs: dict[str, str]) -> int:
    """INSERT INTO the model's table the rows of `source` (a SELECT, aliased src),
    each column from its SQL expression in `exprs`, defaults for the others."""
    columns = _columns(model, set(exprs))
    values = [
        exprs[attname] if attname in exprs else lit(default) for attname, _c, default in columns
    ]
    names = ", ".join(f'"{column}"' for _a, column, _d in columns)
    return execute(
        f'INSERT INTO "{model._meta.db_table}" ({names}) '
        f"SELECT {', '.join(values)} FROM ({source}) AS src"
    )


def next_ids(model, count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [model._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def fichier_uuid(key: str) -> uuid.UUID:
    """The id of the file made for `key`: md5(key), as the SQL side computes it."""
    return uuid.UUID(hashlib.md5(key.encode()).hexdigest())


# SQL for a file row from a source with: k (its key), editeur_id, uploaded_by_id,
# uploaded_at, original_name, detected_mime, size.
FICHIER_EXPRS = {
    "id": "md5(src.k)::uuid",
    "storage_name": "'fichiers/' || substr(md5(src.k), 1, 2) || '/' || substr(md5(src.k), 3, 2)"
    " || '/' || md5(src.k)",
    "original_name": "src.original_name",
    "size": "src.size",
    "sha256": "md5(src.k) || md5(src.k || '#')",
    "detected_mime": "src.detected_mime",
    "max_bytes": "52428800",
    "status": "'acceptee'",
    "editeur_id": "src.editeur_id",
    "uploaded_by_id": "src.uploaded_by_id",
    "uploaded_at": "src.uploaded_at",
    "queued_at": "src.uploaded_at",
    "checked_at": "src.uploaded_at + interval '40 seconds'",
    "check_attempts": "1",
}


def insert_fichiers(source: str) -> int:
    return insert_select(Fichier, source, FICHIER_EXPRS)


# The steps


def step_referentiel(admin: User) -> dict[int, RemVersion]:
    """The wave-2 DSRs, each with a published REM: the real DRIMbox and LGC REMs, and
    DRIMbox's requirements copied (with their scenarios and proofs) for the others."""
    from candidatures.services.referentiel import rem_version_import, rem_version_publish
    from segur_portal.demo import DEMO_REMS, FIXTURES

    call_command("loaddata", FIXTURES / "referentiel.json", verbosity=0)
    versions = {}
    for code, path, label, rem in DEMO_REMS:
        dsr = Dsr.objects.get(code=code)
        with path.open("rb") as handle:
            result = rem_version_import(
                dsr=dsr, file=handle, filename=path.name, label=label, rem=rem, actor=admin
            )
        rem_version_publish(version=result.version, actor=admin)
        versions[dsr.pk] = result.version
    model = versions[Dsr.objects.get(code=DEMO_REMS[0][0]).pk]
    for dsr in Dsr.objects.filter(wave=2).exclude(pk__in=versions):
        version = RemVersion.objects.create(
            dsr=dsr,
            label="REM de la vague (copie de banc)",
            status=RemStatus.PUBLISHED,
            published_on=timezone.localdate(),
            published_at=timezone.now(),
            source_name=model.source_name,
            source_sha256=model.source_sha256,
            source_size=model.source_size,
            default_perimetre=model.default_perimetre,
            imported_by=admin,
        )
        profils = list(Profil.objects.filter(dsr=dsr).order_by("position", "pk"))
        _copy_rem(model, version, profils)
        versions[dsr.pk] = version
    return versions


def _copy_rem(model: RemVersion, version: RemVersion, profils: list[Profil]) -> None:
    profil_of = {}
    for exigence in Exigence.objects.filter(rem_version=model).order_by("position"):
        profil_of.setdefault(exigence.profil_id, profils[len(profil_of) % len(profils)].pk)
    with connection.cursor() as cursor:
        cases = " ".join(f"WHEN {old} THEN {new}" for old, new in profil_of.items())
        exigence_columns = [
            f.column
            for f in Exigence._meta.concrete_fields
            if f.column not in ("id", "rem_version_id", "profil_id")
        ]
        cols = ", ".join(exigence_columns)
        cursor.execute(
            f"INSERT INTO candidatures_exigence ({cols}, rem_version_id, profil_id) "
            f"SELECT {cols}, %s, CASE profil_id {cases} END FROM candidatures_exigence "
            "WHERE rem_version_id = %s",
            [version.pk, model.pk],
        )
        scenario_columns = ", ".join(
            f.column
            for f in Scenario._meta.concrete_fields
            if f.column not in ("id", "exigence_id")
        )
        cursor.execute(
            f"INSERT INTO candidatures_scenario ({scenario_columns}, exigence_id) "
            f"SELECT {', '.join('s.' + c for c in scenario_columns.split(', '))}, n.id "
            "FROM candidatures_scenario s JOIN candidatures_exigence o ON o.id = s.exigence_id "
            "JOIN candidatures_exigence n ON n.rem_version_id = %s AND n.identifier = o.identifier "
            "WHERE o.rem_version_id = %s",
            [version.pk, model.pk],
        )
        preuve_columns = [
            f.column
            for f in PreuveAttendue._meta.concrete_fields
            if f.column not in ("id", "scenario_id")
        ]
        cursor.execute(
            f"INSERT INTO candidatures_preuveattendue ({', '.join(preuve_columns)}, scenario_id) "
            f"SELECT {', '.join('p.' + c for c in preuve_columns)}, ns.id "
            "FROM candidatures_preuveattendue p "
            "JOIN candidatures_scenario os ON os.id = p.scenario_id "
            "JOIN candidatures_exigence o ON o.id = os.exigence_id "
            "JOIN candidatures_exigence n ON n.rem_version_id = %s AND n.identifier = o.identifier "
            "JOIN candidatures_scenario ns ON ns.exigence_id = n.id "
            "AND ns.identifier = os.identifier WHERE o.rem_version_id = %s",
            [version.pk, model.pk],
        )


def _siret(number: int) -> str:
    """A 14-digit SIRET with a valid Luhn key."""
    digits = [int(d) for d in f"{number:013d}"]
    for check in range(10):
        candidate = [*digits, check]
        total = 0
        for index, digit in enumerate(reversed(candidate)):
            if index % 2:
                digit *= 2
                digit -= 9 if digit > 9 else 0
            total += digit
        if total % 10 == 0:
            return "".join(map(str, candidate))
    raise AssertionError


def step_accounts(now: datetime):
    password = make_password(PASSWORD)
    agency = [
        User(
            email="admin@vague.banc",
            first_name="Alice",
            last_name="Admin",
            role=Role.ADMIN,
            password=password,
            email_verified_at=now,
        )
    ]
    agency += [
        User(
            email=f"instructeur{n:03d}@vague.banc",
            first_name="Ivan",
            last_name=f"Instructeur {n:03d}",
            role=Role.INSTRUCTEUR,
            password=password,
            email_verified_at=now,
        )
        for n in range(scaled(40))
    ]
    agency += [
        User(
            email=f"college{n:02d}@vague.banc",
            first_name="Camille",
            last_name=f"Collège {n:02d}",
            role=Role.COLLEGE,
            password=password,
            email_verified_at=now,
        )
        for n in range(max(3, scaled(10)))
    ]
    User.objects.bulk_create(agency)
    editeurs = Editeur.objects.bulk_create(
        Editeur(
            raison_sociale=f"Éditeur {n:04d} Santé SAS",
            siret=_siret(7320000000000 + n * 7919),
            representant_nom=f"Représentant {n:04d}",
            representant_titre="Président",
            representant_email=f"direction{n:04d}@editeur.banc",
            representant_telephone="0123456789",
            contact_nom=f"Contact {n:04d}",
            contact_email=f"contact{n:04d}@editeur.banc",
            contact_telephone="0612345678",
            created_at=now - timedelta(days=200),
        )
        for n in range(scaled(500))
    )
    roles = [CompanyRole.MANDATAIRE, CompanyRole.REPRESENTANT, CompanyRole.SALARIE]
    members = User.objects.bulk_create(
        User(
            email=f"{role}{editeur.pk:04d}@editeur.banc",
            first_name=role.label,
            last_name=f"Éditeur {editeur.pk:04d}",
            role=Role.EDITEUR,
            editeur=editeur,
            company_role=role,
            password=password,
            email_verified_at=now - timedelta(days=190),
        )
        for editeur in editeurs
        for role in roles
    )
    cgu = Cgu.objects.order_by("-published_at").first()
    CguAcceptance.objects.bulk_create(
        CguAcceptance(user=user, cgu=cgu, accepted_at=now - timedelta(days=190)) for user in members
    )
    by_role = {role: list(User.objects.filter(role=role)) for role in Role.values}
    return editeurs, by_role


def step_campagnes(now: datetime, versions: dict) -> list[Campagne]:
    dsrs = list(Dsr.objects.filter(pk__in=versions).order_by("code"))
    campagnes = []
    for index, age in enumerate(CAMPAIGN_AGES):
        j1 = now - timedelta(days=age)
        campagnes.append(
            Campagne(
                dsr=dsrs[index % len(dsrs)],
                label=f"Vague 2 — guichet {index + 1}",
                j1=j1,
                created_at=j1 - timedelta(days=10),
                **{name: j1 + timedelta(days=days) for name, days in JALON_DAYS.items()},
            )
        )
    return Campagne.objects.bulk_create(campagnes)


def _steps_between(start: datetime, end: datetime, count: int) -> list[datetime]:
    """`count` instants spread between start and end, in order."""
    if count == 0:
        return []
    span = (end - start) / (count + 1)
    return [start + span * (n + 1) for n in range(count)]


def step_candidatures(now, campagnes, versions, editeurs, by_role, rng):
    """The candidatures with their timestamps, transitions and journal entries."""
    ages = {c.pk: (now - c.j1).days for c in campagnes}
    members = {}
    for user in by_role[Role.EDITEUR]:
        members.setdefault(user.editeur_id, []).append(user)
    instructeurs = by_role[Role.INSTRUCTEUR]
    plan = []
    for state, count, allowed in STATES:
        eligible = [c for c in campagnes if allowed(ages[c.pk])]
        plan += [(state, rng.choice(eligible)) for _ in range(scaled(count))]
    rng.shuffle(plan)
    ids = next_ids(Candidature, len(plan))
    rows, transitions, events = [], [], []
    for pk, (state, campagne) in zip(ids, plan, strict=True):
        editeur = editeurs[pk % len(editeurs)]
        author = members[editeur.pk][0]
        path = list(PATHS.get(state, []))
        if state == S.REJETEE:
            path = [
                *rng.choice([[], PATHS[S.ADMIN_SOUMISE], PATHS[S.ELIGIBILITE_SOUMISE]]),
                "reject",
            ]
        elif state == S.RETIREE:
            path = [*rng.choice([PATHS[S.ADMIN_SOUMISE], PATHS[S.ELIGIBLE]]), "withdraw"]
        elif state == S.ABANDONNEE:
            path = [*PATHS[S.EN_INSTRUCTION], "abandon"]
        created_at = campagne.j1 + timedelta(hours=rng.uniform(1, 24 * 5))
        # Each step before the jalon that bounds it, the last one before now.
        end = min(now - timedelta(hours=2), campagne.j1 + timedelta(days=ages[campagne.pk]))
        at = dict(zip(path, _steps_between(created_at, end, len(path)), strict=True))
        row = {
            "id": pk,
            "editeur_id": editeur.pk,
            "campagne_id": campagne.pk,
            "rem_version_id": versions[campagne.dsr_id].pk,
            "created_by_id": author.pk,
            "created_at": created_at,
            "state": state.value,
            "nom_commercial": f"Logiciel {pk:05d}",
            "version_technique": f"{pk % 7 + 1}.{pk % 11}.{pk % 5}",
            "admin_submitted_at": at.get("submit_admin"),
            "admin_validated_at": at.get("validate_admin"),
            "eligibility_submitted_at": at.get("submit_eligibility"),
            "eligible_at": at.get("validate_eligibility"),
            "dossier_submitted_at": at.get("submit_dossier"),
            "instruction_started_at": at.get("take_instruction"),
            "instruction_closed_at": at.get("close_instruction"),
            "instructeur_id": instructeurs[pk % len(instructeurs)].pk
            if "take_instruction" in at
            else None,
            "parc_received_at": at.get("submit_eligibility"),
            "nie": f"NIE{pk:06d}" if "submit_eligibility" in at else "",
            "nil": f"NIL{pk:06d}" if "submit_eligibility" in at else "",
        }
        row["closed_at"], row["closed_reason"] = None, ""
        if path and path[-1] in ("reject", "withdraw", "abandon", "refuse"):
            row["closed_at"] = at[path[-1]]
            row["closed_reason"] = {
                "reject": "Pièces manquantes après sollicitation.",
                "withdraw": "Version remplacée par une version ultérieure.",
                "abandon": "Pas de réponse à la sollicitation de l’ANS dans les 30 jours.",
                "refuse": "Réserves bloquantes.",
            }[path[-1]]
        rows.append(row)
        events.append(
            (
                created_at,
                JournalKind.CANDIDATURE_CREEE,
                author.pk,
                pk,
                editeur.pk,
                {
                    "dsr": campagne.dsr.code,
                    "nom_commercial": row["nom_commercial"],
                    "version_technique": row["version_technique"],
                },
            )
        )
        previous = S.BROUILLON
        for name in path:
            target = TARGETS[name]
            actor = author.pk if name.startswith("submit") or name == "withdraw" else None
            if name in ("validate_admin", "validate_eligibility", "take_instruction", "reject"):
                actor = instructeurs[pk % len(instructeurs)].pk
            reason = row.get("closed_reason", "") if name == path[-1] else ""
            transitions.append(
                {
                    "candidature_id": pk,
                    "name": name,
                    "from_state": previous.value,
                    "to_state": target.value,
                    "actor_id": actor,
                    "at": at[name],
                    "reason": reason,
                }
            )
            events.append(
                (
                    at[name],
                    JournalKind.TRANSITION,
                    actor,
                    pk,
                    editeur.pk,
                    {"transition": name, "from": previous, "to": target, "reason": reason},
                )
            )
            previous = target
    copy_rows(Candidature, rows)
    copy_rows(CandidatureTransition, transitions)
    # Each candidature declares its DSR's mandatory profiles and the first optional one.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO candidatures_candidature_profils (candidature_id, profil_id)
            SELECT c.id, p.id
            FROM candidatures_candidature c
            JOIN candidatures_campagne g ON g.id = c.campagne_id
            JOIN candidatures_profil p ON p.dsr_id = g.dsr_id
            WHERE p.mandatory OR p.id = (
                SELECT min(q.id) FROM candidatures_profil q
                WHERE q.dsr_id = g.dsr_id AND NOT q.mandatory)
            """
        )
    return rows, events


def step_fichiers_and_depots(now, target_files: int) -> tuple[int, int]:
    """The eligibility documents, then one file per expected proof of each dossier (a
    link for the test-space reports), up to `target_files` rows in all."""
    editeur_user = "(SELECT min(u.id) FROM segur_portal_user u WHERE u.editeur_id = c.editeur_id)"
    documents = 0
    for field, name, mime in [
        ("cnda_depot_id", "attestation-depot-cnda.pdf", "application/pdf"),
        ("lettre_engagement_id", "lettre-engagement-signee.pdf", "application/pdf"),
        ("parc_fichier_id", "versions-parc-client.csv", "text/csv"),
    ]:
        documents += insert_fichiers(
            f"""
            SELECT '{field}-' || c.id AS k, c.editeur_id, {editeur_user} AS uploaded_by_id,
                   c.eligibility_submitted_at - interval '1 hour' AS uploaded_at,
                   '{name}' AS original_name, '{mime}' AS detected_mime,
                   40000 + c.id % 90000 AS size
            FROM candidatures_candidature c WHERE c.eligibility_submitted_at IS NOT NULL
            """
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE candidatures_candidature SET {field} = md5('{field}-' || id)::uuid "
                "WHERE eligibility_submitted_at IS NOT NULL"
            )
    dossier_states = [state.value for state in WITH_DOSSIER]
    proofs = f"""
        SELECT c.id AS candidature_id, c.editeur_id, e.id AS exigence_id, p.id AS preuve_id,
               p.kind, {editeur_user} AS uploaded_by_id,
               coalesce(c.dossier_submitted_at, now()) - (p.id % 600) * interval '1 hour'
                   - (3 - v) * interval '3 days' AS deposited_at,
               e.identifier, v AS version, row_number() OVER () AS n
        FROM candidatures_candidature c
        JOIN candidatures_exigence e ON e.rem_version_id = c.rem_version_id
        JOIN candidatures_scenario s ON s.exigence_id = e.id
        JOIN candidatures_preuveattendue p ON p.scenario_id = s.id
        CROSS JOIN generate_series(1, 3) v
        WHERE c.state IN ({", ".join(f"'{s}'" for s in dossier_states)})
           OR (c.state = 'eligible' AND p.id % 5 < 2)
    """
    budget = max(0, target_files - documents - scaled(60000))
    execute(f"CREATE TEMP TABLE wave_proof AS {proofs}")
    execute(f"DELETE FROM wave_proof WHERE n > {budget}")
    execute("ANALYZE wave_proof")
    mimes = "(ARRAY['video/mp4','image/png','application/pdf','image/jpeg'])[1 + n % 4]"
    files = insert_fichiers(
        f"""
        SELECT 'depot-' || n AS k, editeur_id, uploaded_by_id, deposited_at AS uploaded_at,
               replace(identifier, ' ', '_') || '_preuve_' || preuve_id ||
               (ARRAY['.mp4', '.png', '.pdf', '.jpg'])[1 + n % 4] AS original_name,
               {mimes} AS detected_mime, 20000 + (n * 7919) % 30000000 AS size
        FROM wave_proof WHERE kind <> 'lien_rapport'
        """
    )
    depots = insert_select(
        Depot,
        "SELECT * FROM wave_proof",
        {
            "candidature_id": "src.candidature_id",
            "exigence_id": "src.exigence_id",
            "preuve_attendue_id": "src.preuve_id",
            "fichier_id": "CASE WHEN src.kind = 'lien_rapport' THEN NULL "
            "ELSE md5('depot-' || src.n)::uuid END",
            "url": "CASE WHEN src.kind = 'lien_rapport' "
            "THEN 'https://espace-test.banc/rapport/' || src.n ELSE '' END",
            "deposited_by_id": "src.uploaded_by_id",
            "deposited_at": "src.deposited_at",
            # Each proof deposited three times: the first two replaced, kept on record.
            "removed_at": "CASE WHEN src.version < 3 THEN src.deposited_at + interval '2 days' END",
            "removed_by_id": "CASE WHEN src.version < 3 THEN src.uploaded_by_id END",
        },
    )
    execute("DROP TABLE wave_proof")
    # Attachments and agency uploads fill up to the target, a few still being checked.
    rest = max(0, target_files - documents - files - scaled(20000))
    files += insert_fichiers(
        f"""
        SELECT 'piece-' || g AS k, e.id AS editeur_id,
               (SELECT min(u.id) FROM segur_portal_user u WHERE u.editeur_id = e.id)
                   AS uploaded_by_id,
               {lit(now)} - (g % 4000) * interval '1 hour' AS uploaded_at,
               'piece_jointe_' || g || '.pdf' AS original_name,
               'application/pdf' AS detected_mime, 10000 + g % 500000 AS size
        FROM generate_series(1, {rest}) g
        JOIN candidatures_editeur e ON e.id = (
            SELECT min(id) FROM candidatures_editeur) + g % (SELECT count(*) FROM candidatures_editeur)
        """
    )
    execute(
        "UPDATE preuves_fichier SET status = 'refusee', refusal_reason = "
        "'Type de fichier non accepté pour cette preuve.' WHERE storage_name LIKE "
        "'fichiers/0%' AND size % 13 = 0"
    )
    # Files received in the last minute are still being checked.
    execute(
        "UPDATE preuves_fichier SET status = 'en_verification', checked_at = NULL, "
        f"uploaded_at = {lit(now)} - interval '30 seconds', "
        f"queued_at = {lit(now)} - interval '30 seconds' "
        "WHERE id IN (SELECT id FROM preuves_fichier WHERE original_name LIKE 'piece%' "
        "ORDER BY id LIMIT 50)"
    )
    return documents + files, depots


def step_parc(now) -> int:
    """Five customer-base versions per declared list."""
    return insert_select(
        VersionParc,
        """
        SELECT c.id, c.nom_commercial, v FROM candidatures_candidature c,
               generate_series(1, 5) v WHERE c.parc_received_at IS NOT NULL
        """,
        {
            "candidature_id": "src.id",
            "version_technique": "'v' || src.v || '.' || (src.id % 9)",
            "nom_commercial": "src.nom_commercial || ' ' || src.v",
            "referencee_v1": "src.v = 1",
            "fin_maintenance": "src.v = 1",
            "fin_maintenance_url": "'https://editeur.banc/fin-maintenance/' || src.id",
            "fin_commercialisation": "false",
            "fin_commercialisation_url": "''",
            "position": "src.v",
        },
    )


def step_dossiers(now) -> tuple[int, int]:
    """Each submitted dossier's receipt; the conformity visit of some in instruction."""
    states = ", ".join(f"'{s.value}'" for s in WITH_DOSSIER)
    source = f"""
        SELECT c.id, c.editeur_id, c.dossier_submitted_at, c.instructeur_id, c.state,
               (SELECT min(u.id) FROM segur_portal_user u WHERE u.editeur_id = c.editeur_id)
                   AS member_id
        FROM candidatures_candidature c
        WHERE c.dossier_submitted_at IS NOT NULL AND c.state IN ({states})
    """
    insert_fichiers(
        f"""
        SELECT 'recepisse-' || id AS k, editeur_id, member_id AS uploaded_by_id,
               dossier_submitted_at AS uploaded_at, 'recepisse-depot.pdf' AS original_name,
               'application/pdf' AS detected_mime, 60000 AS size FROM ({source}) d
        """
    )
    receipts = insert_select(
        DossierSoumission,
        source,
        {
            "candidature_id": "src.id",
            "submitted_by_id": "src.member_id",
            "submitted_at": "src.dossier_submitted_at",
            "manifest": "'{}'::jsonb",
            "receipt_id": "md5('recepisse-' || src.id)::uuid",
        },
    )
    # A visit scheduled for one in four dossiers in instruction, its recording due later.
    visits = insert_select(
        VisiteConformite,
        f"SELECT * FROM ({source}) d WHERE state = 'en_instruction' AND id % 4 = 0",
        {
            "candidature_id": "src.id",
            "scheduled_for": f"{lit(now)} + (src.id % 20) * interval '1 day'",
            "scheduled_by_id": "src.instructeur_id",
            "scheduled_at": "src.dossier_submitted_at + interval '2 days'",
            "recording_due_at": f"{lit(now)} + (src.id % 20 + 4) * interval '1 day'",
        },
    )
    return receipts, visits


def _clock_events(phase, opened_at, due_at, closes_at):
    """(field recording it, instant) of every event of an open sollicitation's clock."""
    effective = min(due_at, closes_at)
    events = [
        ("reminder_half_sent_at", halfway(opened_at, effective)),
        ("reminder_last_sent_at", max(one_working_day_before(effective), opened_at)),
    ]
    if phase == Phase.INSTRUCTION:
        events += [
            ("depriorisation_applied_at", deadline_after_hours(opened_at, 24)),
            ("retard_applied_at", deadline_after_calendar_days(opened_at, 5)),
        ]
    return events


def step_sollicitations(now, candidatures, campagnes, by_role, rng):
    """100,000 open sollicitations, about 1 % of them due now; closed and answered ones."""
    jalons = {c.pk: c for c in campagnes}
    instructeurs = by_role[Role.INSTRUCTEUR]
    in_phase = [c for c in candidatures if c["state"] in PHASE_OF_STATE]
    rows = []
    open_count = scaled(100_000)
    due_target = max(1, open_count // 100)
    # The due ones: one expiry per candidature at most (it rejects or abandons it).
    expiring = set(rng.sample(range(open_count), max(1, due_target // 10)))
    expired_candidatures = set()
    due_rest = set(
        rng.sample(sorted(set(range(open_count)) - expiring), due_target - len(expiring))
    )
    for n in range(open_count):
        candidature = in_phase[n % len(in_phase)]
        phase = PHASE_OF_STATE[S(candidature["state"])]
        campagne = jalons[candidature["campagne_id"]]
        closes_at = getattr(campagne, PHASE_JALON[phase])
        span = 29 if phase == Phase.INSTRUCTION else 6
        if n in expiring and candidature["id"] not in expired_candidatures:
            expired_candidatures.add(candidature["id"])
            # Its deadline passed within the last minutes.
            days = 30 if phase == Phase.INSTRUCTION else 7
            opened_at = now - timedelta(days=days, hours=rng.uniform(0, 48))
            due_at = _due(phase, opened_at)
            while due_at > now:
                opened_at -= timedelta(hours=6)
                due_at = _due(phase, opened_at)
        else:
            while True:
                opened_at = now - timedelta(minutes=rng.uniform(2, span * 24 * 60))
                due_at = _due(phase, opened_at)
                if min(due_at, closes_at) > now and opened_at > candidature["created_at"]:
                    break
        row = {
            "candidature_id": candidature["id"],
            "phase": phase.value,
            "status": Status.OUVERTE.value,
            "opened_by_id": instructeurs[n % len(instructeurs)].pk,
            "opened_at": opened_at,
            "due_at": due_at,
            "closes_at": closes_at,
        }
        past = [
            (f, at) for f, at in _clock_events(phase, opened_at, due_at, closes_at) if at <= now
        ]
        # Applied by an earlier sweep, a minute or so after its instant; a due one keeps
        # its latest event waiting for this sweep.
        keep = max(past, key=lambda e: e[1]) if (n in due_rest and past) else None
        for field, at in past:
            if (field, at) != keep:
                row[field] = at + timedelta(seconds=rng.uniform(5, 60))
        if row.get("reminder_last_sent_at") and not row.get("reminder_half_sent_at"):
            row["reminder_half_sent_at"] = row["reminder_last_sent_at"]
        rows.append(row)
    # History: answered exchanges still open, closed and expired ones.
    for n in range(scaled(2000)):
        candidature = in_phase[(n * 7) % len(in_phase)]
        phase = PHASE_OF_STATE[S(candidature["state"])]
        campagne = jalons[candidature["campagne_id"]]
        opened_at = now - timedelta(hours=rng.uniform(3, 100))
        rows.append(
            {
                "candidature_id": candidature["id"],
                "phase": phase.value,
                "status": Status.REPONDUE.value,
                "opened_by_id": instructeurs[n % len(instructeurs)].pk,
                "opened_at": opened_at,
                "due_at": _due(phase, opened_at),
                "closes_at": getattr(campagne, PHASE_JALON[phase]),
                "answered_at": opened_at + timedelta(hours=2),
            }
        )
    later = [c for c in candidatures if c["dossier_submitted_at"] is not None]
    for n in range(scaled(20000)):
        candidature = later[n % len(later)]
        opened_at = candidature["created_at"] + timedelta(days=rng.uniform(1, 10))
        due_at = _due(Phase.ADMINISTRATIVE, opened_at)
        closes_at = jalons[candidature["campagne_id"]].j3
        expired = n % 10 == 0
        rows.append(
            {
                "candidature_id": candidature["id"],
                "phase": Phase.ADMINISTRATIVE.value,
                "status": (Status.EXPIREE if expired else Status.CLOSE).value,
                "opened_by_id": instructeurs[n % len(instructeurs)].pk,
                "opened_at": opened_at,
                "due_at": due_at,
                "closes_at": closes_at,
                "answered_at": None if expired else opened_at + timedelta(hours=20),
                "expired_at": min(due_at, closes_at) if expired else None,
                "closed_at": None if expired else opened_at + timedelta(days=2),
                "reminder_half_sent_at": halfway(opened_at, min(due_at, closes_at))
                if expired
                else None,
            }
        )
    fields = {
        "answered_at",
        "expired_at",
        "closed_at",
        "reminder_half_sent_at",
        "reminder_last_sent_at",
        "depriorisation_applied_at",
        "retard_applied_at",
    }
    for row in rows:
        for field in fields:
            row.setdefault(field, None)
    _set_stored_clock(rows)
    copy_rows(Sollicitation, rows)
    # The agency's request, and the company's answer where there is one.
    messages = insert_select(
        SollicitationMessage,
        "SELECT * FROM candidatures_sollicitation",
        {
            "sollicitation_id": "src.id",
            "author_id": "src.opened_by_id",
            "from_agency": "true",
            "sent_at": "src.opened_at",
            "text": "'Merci de compléter les pièces demandées pour les exigences signalées.'",
        },
    )
    messages += insert_select(
        SollicitationMessage,
        "SELECT s.*, (SELECT min(u.id) FROM segur_portal_user u "
        "JOIN candidatures_candidature c ON c.editeur_id = u.editeur_id "
        "WHERE c.id = s.candidature_id) AS member_id "
        "FROM candidatures_sollicitation s WHERE s.answered_at IS NOT NULL",
        {
            "sollicitation_id": "src.id",
            "author_id": "src.member_id",
            "from_agency": "false",
            "sent_at": "src.answered_at",
            "text": "'Voici les pièces complémentaires.'",
        },
    )
    return len(rows), messages


def _set_stored_clock(rows: list[dict]) -> None:
    """The clock instants the model stores, when it stores them (the sweep's columns)."""
    if not hasattr(Sollicitation, "clock_instants"):
        return
    for row in rows:
        row.update(
            Sollicitation(
                phase=row["phase"],
                opened_at=row["opened_at"],
                due_at=row["due_at"],
                closes_at=row["closes_at"],
            ).clock_instants()
        )


def _due(phase, opened_at):
    if phase == Phase.INSTRUCTION:
        return deadline_after_calendar_days(opened_at, 30)
    return deadline_after_working_days(opened_at, 5)


def step_college(now, candidatures, by_role, rng):
    """Past séances with their decisions, conventions, attestations; séances ahead."""
    from college.services import numero_prefix, seances_plan

    members = by_role[Role.COLLEGE][:3]
    admin = by_role[Role.ADMIN][0]
    today = paris_date(now)
    last = today - timedelta(days=(today.weekday() - 3) % 7 or 7)
    past_days = [last - timedelta(weeks=w) for w in range(40)]
    seances = Seance.objects.bulk_create(
        Seance(
            date=day,
            starts_at=timezone.make_aware(datetime.combine(day, datetime.min.time()))
            + timedelta(hours=14),
            status=SeanceStatus.CLOSE,
            opened_at=timezone.make_aware(datetime.combine(day, datetime.min.time()))
            + timedelta(hours=14),
            opened_by=members[0],
            closed_at=timezone.make_aware(datetime.combine(day, datetime.min.time()))
            + timedelta(hours=17),
            closed_by=members[0],
        )
        for day in sorted(past_days)
    )
    seances_plan(now=now)
    ahead = list(Seance.objects.filter(status=SeanceStatus.PLANIFIEE).order_by("date"))
    insert_fichiers(
        """
        SELECT 'pv-' || s.id AS k, NULL::bigint AS editeur_id, s.closed_by_id AS uploaded_by_id,
               s.closed_at AS uploaded_at, 'proces-verbal.pdf' AS original_name,
               'application/pdf' AS detected_mime, 80000 AS size
        FROM college_seance s WHERE s.status = 'close'
        """
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE college_seance SET minutes_id = md5('pv-' || id)::uuid WHERE status = 'close'"
        )
    SeanceMembre.objects.bulk_create(
        SeanceMembre(seance=seance, user=member, present=True)
        for seance in [*seances, *ahead]
        for member in members
    )
    decided = {
        S.REFERENCEE: DecisionKind.SANS_RESERVE,
        S.DEREFERENCEE: DecisionKind.SANS_RESERVE,
        S.RESERVES_NON_BLOQUANTES: DecisionKind.RESERVES_NON_BLOQUANTES,
        S.LEVEE_SOUMISE: DecisionKind.RESERVES_NON_BLOQUANTES,
        S.REFUSEE: DecisionKind.RESERVES_BLOQUANTES,
    }
    with_convention = {
        S.CONVENTION_ENVOYEE,
        S.CONVENTION_SIGNEE,
        S.EN_COLLEGE,
        *decided,
    }
    conventions, inscriptions, decisions, reserves, attestations = [], [], [], [], []
    sequences: dict[str, int] = {}
    inscription_ids = iter(next_ids(Inscription, len(candidatures)))
    decision_ids = iter(next_ids(Decision, len(candidatures)))
    for index, c in enumerate(candidatures):
        state = S(c["state"])
        if state not in with_convention:
            continue
        issued_at = c["instruction_closed_at"] or (now - timedelta(days=60))
        signed = state != S.CONVENTION_ENVOYEE
        conventions.append(
            {
                "candidature_id": c["id"],
                "document_id": fichier_uuid(f"convention-{c['id']}"),
                "sha256": "c" * 64,
                "data": {},
                "issued_at": issued_at,
                "issued_by_id": c["instructeur_id"],
                "signed_at": issued_at + timedelta(days=3) if signed else None,
                "signed_by_id": c["created_by_id"] if signed else None,
                "signer_name": "Représentant légal" if signed else "",
                "signed_sha256": "c" * 64 if signed else "",
            }
        )
        if state in (S.CONVENTION_ENVOYEE, S.CONVENTION_SIGNEE):
            continue
        seance = ahead[0] if state == S.EN_COLLEGE else seances[index % len(seances)]
        inscription_id = next(inscription_ids)
        inscriptions.append(
            {
                "id": inscription_id,
                "seance_id": seance.pk,
                "candidature_id": c["id"],
                "inscribed_at": issued_at + timedelta(days=4),
                "signed_at": issued_at + timedelta(days=3),
            }
        )
        if state not in decided:
            continue
        notified_at = seance.closed_at
        decision = {
            "id": next(decision_ids),
            "inscription_id": inscription_id,
            "kind": decided[state].value,
            "text": "Décision du collège.",
            "recorded_by_id": members[0].pk,
            "recorded_at": notified_at - timedelta(hours=1),
            "notified_at": notified_at,
        }
        if decided[state] == DecisionKind.RESERVES_NON_BLOQUANTES:
            # A recent séance: the four weeks to lift the réserves still run.
            seance = max(seances, key=lambda s: s.date)
            decision["inscription_id"] = inscription_id
            inscriptions[-1]["seance_id"] = seance.pk
            decision["notified_at"] = seance.closed_at
            decision["reserves_due_at"] = deadline_after_calendar_days(seance.closed_at, 28)
            if halfway(seance.closed_at, decision["reserves_due_at"]) <= now:
                decision["reminder_half_sent_at"] = now
            for position in (1, 2):
                reserves.append(
                    {
                        "decision_id": decision["id"],
                        "position": position,
                        "text": f"Réserve {position} à lever.",
                        "status": (
                            ReserveStatus.REPONSE_SOUMISE
                            if state == S.LEVEE_SOUMISE
                            else ReserveStatus.A_LEVER
                        ).value,
                    }
                )
        decisions.append(decision)
        if state in (S.REFERENCEE, S.DEREFERENCEE):
            prefix = numero_prefix(c["dsr_code"], notified_at.year)
            sequences[prefix] = sequences.get(prefix, 0) + 1
            withdrawn = state == S.DEREFERENCEE
            attestations.append(
                {
                    "candidature_id": c["id"],
                    "numero": f"{prefix}-{sequences[prefix]:05d}",
                    "referenced_on": paris_date(notified_at),
                    "issued_at": notified_at,
                    "fichier_id": fichier_uuid(f"attestation-{c['id']}"),
                    "sha256": "a" * 64,
                    "status": (
                        AttestationStatus.RETIREE if withdrawn else AttestationStatus.VALIDE
                    ).value,
                    "withdrawn_at": notified_at + timedelta(days=20) if withdrawn else None,
                    "withdrawn_reason": "Défaut non corrigé." if withdrawn else "",
                    "withdrawn_by_id": admin.pk if withdrawn else None,
                }
            )
    copy_rows(
        Fichier,
        [
            _document_row(key, at, user)
            for key, at, user in [
                *(
                    (f"convention-{r['candidature_id']}", r["issued_at"], r["issued_by_id"])
                    for r in conventions
                ),
                *(
                    (f"attestation-{r['candidature_id']}", r["issued_at"], admin.pk)
                    for r in attestations
                ),
            ]
        ],
    )
    for rows, model in [
        (conventions, Convention),
        (inscriptions, Inscription),
        (decisions, Decision),
        (reserves, Reserve),
        (attestations, Attestation),
    ]:
        for row in rows:
            for field in model._meta.concrete_fields:
                if field.null and field.attname not in row:
                    row[field.attname] = None
        copy_rows(model, rows)
    NumeroSequence.objects.bulk_create(
        NumeroSequence(prefix=prefix, last=last) for prefix, last in sequences.items()
    )
    return len(seances) + len(ahead), len(inscriptions), len(decisions), len(attestations)


def _document_row(key: str, at: datetime, user_id: int) -> dict:
    hexa = hashlib.md5(key.encode()).hexdigest()
    return {
        "id": uuid.UUID(hexa),
        "storage_name": f"fichiers/{hexa[:2]}/{hexa[2:4]}/{hexa}",
        "original_name": f"{key.split('-')[0]}.pdf",
        "size": 90000,
        "sha256": hexa + hashlib.md5(f"{key}#".encode()).hexdigest(),
        "detected_mime": "application/pdf",
        "max_bytes": 52428800,
        "status": "acceptee",
        "uploaded_by_id": user_id,
        "uploaded_at": at,
        "queued_at": at,
        "checked_at": at + timedelta(seconds=40),
        "editeur_id": None,
    }


def step_traffic(now) -> tuple[int, int, int]:
    """Notifications with their e-mails (sent), and downloads of the deposited files."""
    notifications = insert_select(
        Notification,
        f"""
        SELECT g, u.id AS recipient_id FROM generate_series(1, {scaled(300_000)}) g
        JOIN segur_portal_user u ON u.id = (SELECT min(id) FROM segur_portal_user)
            + g % (SELECT count(*) FROM segur_portal_user)
        """,
        {
            "recipient_id": "src.recipient_id",
            "title": "'Rappel : l’ANS attend votre réponse — Logiciel ' || src.g",
            "body": "'La moitié du délai est écoulée. Répondez dans le portail.'",
            "url": "'/candidatures/' || (src.g % 10000 + 1) || '/'",
            "created_at": f"{lit(now)} - (src.g % 4000) * interval '1 hour'",
            "read_at": "CASE WHEN src.g % 3 = 0 THEN NULL "
            f"ELSE {lit(now)} - (src.g % 4000) * interval '1 hour' + interval '1 day' END",
        },
    )
    emails = insert_select(
        OutboundEmail,
        "SELECT n.*, u.email FROM segur_portal_notification n "
        "JOIN segur_portal_user u ON u.id = n.recipient_id",
        {
            "to": "src.email",
            "subject": "src.title",
            "body": "src.body",
            "notification_id": "src.id",
            "created_at": "src.created_at",
            "sent_at": "src.created_at + interval '5 seconds'",
            "attempts": "1",
        },
    )
    downloads = insert_select(
        FichierDownload,
        f"""
        SELECT f.id AS fichier_id, f.uploaded_by_id, f.uploaded_at, g FROM (
            SELECT id, uploaded_by_id, uploaded_at, row_number() OVER () AS g
            FROM preuves_fichier LIMIT {scaled(200_000)}) f
        """,
        {
            "fichier_id": "src.fichier_id",
            "user_id": "src.uploaded_by_id",
            "at": "src.uploaded_at + interval '3 days'",
            "ip_address": "('10.0.' || (src.g % 250) || '.' || (src.g % 200 + 1))::inet",
        },
    )
    return notifications, emails, downloads


def step_journal(now, events) -> int:
    """The journal of the candidatures' creation and transitions, chained in order; then
    every past day closed and timestamped by the portal's own sweep functions."""
    from segur_portal.journal import journal_close_day, journal_timestamp
    from segur_portal.models import JournalDigest

    events.sort(key=lambda event: event[0])
    rows, previous = [], GENESIS
    for seq, (at, kind, actor_id, candidature_id, editeur_id, data) in enumerate(events, 1):
        data = plain(data)
        entry_hash = sha256_hex(
            entry_canonical(
                seq=seq,
                prev_hash=previous,
                recorded_at=at,
                at=at,
                kind=str(kind),
                actor_id=actor_id,
                candidature_id=candidature_id,
                editeur_id=editeur_id,
                data=data,
            )
        )
        rows.append(
            {
                "seq": seq,
                "recorded_at": at,
                "at": at,
                "kind": str(kind),
                "actor_id": actor_id,
                "candidature_id": candidature_id,
                "editeur_id": editeur_id,
                "data": data,
                "prev_hash": previous,
                "hash": entry_hash,
            }
        )
        previous = entry_hash
    copy_rows(JournalEntry, rows)
    JournalHead.objects.update_or_create(
        pk=1, defaults={"seq": len(rows), "hash": previous, "recorded_at": rows[-1]["recorded_at"]}
    )
    while journal_close_day(now=now) is not None:
        pass
    for digest in JournalDigest.objects.filter(timestamp_token__isnull=True):
        journal_timestamp(digest=digest)
    return len(rows)


def main() -> None:
    rng = random.Random(ARGS.seed)
    now = timezone.now().replace(microsecond=0)
    print(
        f"Vague générée dans {ARGS.database} à l’échelle {ARGS.scale} (instant {now:%Y-%m-%d %H:%M:%S} UTC)"
    )
    with Step("migrations"):
        call_command("migrate", verbosity=0)
    with Step("référentiel : 7 DSR, REM publiés"), transaction.atomic():
        admin = User.objects.create_superuser(
            "root@vague.banc", PASSWORD, first_name="R", last_name="Oot"
        )
        versions = step_referentiel(admin)
    with Step("comptes et entreprises"), transaction.atomic():
        editeurs, by_role = step_accounts(now)
    with Step("campagnes"), transaction.atomic():
        campagnes = step_campagnes(now, versions)
    with Step("candidatures, transitions, profils"), transaction.atomic():
        candidatures, events = step_candidatures(now, campagnes, versions, editeurs, by_role, rng)
        codes = {c.pk: c.dsr.code for c in Campagne.objects.select_related("dsr")}
        for row in candidatures:
            row["dsr_code"] = codes[row["campagne_id"]]
    with Step("fichiers et dépôts") as step, transaction.atomic():
        files, depots = step_fichiers_and_depots(now, scaled(1_000_000))
        step.label += f" ({files} fichiers, {depots} dépôts)"
    with Step("versions des parcs clients"), transaction.atomic():
        step_parc(now)
    with Step("dossiers soumis et visites"), transaction.atomic():
        step_dossiers(now)
    with Step("sollicitations et messages") as step, transaction.atomic():
        count, messages = step_sollicitations(now, candidatures, campagnes, by_role, rng)
        step.label += f" ({count} sollicitations, {messages} messages)"
    with (
        Step("collège : séances, décisions, conventions, attestations") as step,
        transaction.atomic(),
    ):
        seances, inscriptions, decisions, attestations = step_college(
            now, candidatures, by_role, rng
        )
        step.label += (
            f" ({seances} séances, {inscriptions} inscriptions, {attestations} attestations)"
        )
    with Step("notifications, courriels, téléchargements") as step, transaction.atomic():
        notifications, emails, downloads = step_traffic(now)
        step.label += (
            f" ({notifications} notifications, {emails} courriels, {downloads} téléchargements)"
        )
    with Step("journal chaîné, jours clos et horodatés") as step:
        with transaction.atomic():
            entries = step_journal(now, events)
        step.label += f" ({entries} entrées)"
    with Step("ANALYZE et instant de la vague"):
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_wave (generated_at timestamptz, scale float)")
            cursor.execute("INSERT INTO bench_wave VALUES (%s, %s)", [now, ARGS.scale])
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    open_clocks = Sollicitation.objects.filter(status=Status.OUVERTE).count()
    print(
        f"Total {Step.total:.0f} s. {Candidature.objects.count()} candidatures, "
        f"{Fichier.objects.count()} fichiers, {open_clocks} sollicitations ouvertes, "
        f"{Attestation.objects.count()} attestations. Mot de passe des comptes : {PASSWORD}"
    )


if __name__ == "__main__":
    main()
