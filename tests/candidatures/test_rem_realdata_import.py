"""The real ANS sheets, imported into the database: every count checked against the raw file."""

import csv
import re
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.management import call_command

from candidatures.models import Dsr, PreuveAttendue, Scenario
from candidatures.services.referentiel import rem_version_import

REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata"
ALL_REMS = REALDATA / "ans_rem_va2_prepub_exigences_scenarios_preuves_all_rems.csv"
DRIMBOX = REALDATA / "ans_rem_va2_drimbox_prepub_exigences.csv"
BIO_XLSX = REALDATA / "ans_squash_create_rem_bio_va2_20230109.xlsx"
DSR_OF_REM = {
    "BIO": "BIO-SGL-Va2",
    "DB": "RAD-DRIMBOX-Va2",
    "DPI": "HOP-DPI-Va2",
    "LGC": "MDV-LGC-Va2",
    "PFI": "HOP-PFI-Va2",
    "RIS": "RAD-RIS-Va2",
}
PROOF_LINE = re.compile(r"^\s*(\S+)\s*:")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _referentiel():
    call_command("loaddata", Path(settings.BASE_DIR) / "fixtures" / "referentiel.json", verbosity=0)


def _counts_in_db(version):
    return (
        version.exigences.count(),
        Scenario.objects.filter(exigence__rem_version=version).count(),
        PreuveAttendue.objects.filter(scenario__exigence__rem_version=version).count(),
    )


def _expected_all_rems(rem: str):
    with ALL_REMS.open(encoding="utf-8", newline="") as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["REM"] == rem and "obsol" not in row["arbitrage"].lower()
        ]
    requirements = {row["reference"].strip() for row in rows}
    scenarios = {(row["reference"], row["ref scenario"]) for row in rows if row["ref scenario"]}
    proofs = {
        (row["reference"], row["ref scenario"], match[1])
        for row in rows
        for line in row["preuve"].splitlines()
        if (match := PROOF_LINE.match(line))
    }
    return len(requirements), len(scenarios), len(proofs)


@pytest.mark.parametrize("rem", sorted(DSR_OF_REM))
def test_each_rem_of_the_multi_rem_sheet_imports_faithfully(rem):
    with ALL_REMS.open("rb") as handle:
        result = rem_version_import(
            dsr=Dsr.objects.get(code=DSR_OF_REM[rem]),
            file=handle,
            filename=ALL_REMS.name,
            label=f"prépublication {rem}",
            rem=rem,
        )
    assert result.parsed.errors == []
    assert _counts_in_db(result.version) == _expected_all_rems(rem)


def test_drimbox_sheet_imports_faithfully():
    with DRIMBOX.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = (
        len({row["N° exigence"] for row in rows}),
        len({(row["N° exigence"], row["N° scénario"]) for row in rows if row["N° scénario"]}),
        len(
            {
                (row["N° scénario"], row[f"N° preuve {k}"])
                for row in rows
                for k in range(1, 11)
                if row[f"N° preuve {k}"].strip()
            }
        ),
    )
    with DRIMBOX.open("rb") as handle:
        result = rem_version_import(
            dsr=Dsr.objects.get(code="RAD-DRIMBOX-Va2"),
            file=handle,
            filename=DRIMBOX.name,
            label="IT4",
        )
    version = result.version
    assert _counts_in_db(version) == expected
    airs = version.exigences.get(identifier="DMP/AIRS.06")
    assert airs.statement.startswith("Le système DOIT prendre en compte")
    # 34 rows have no profile in this pre-publication sheet: kept under Général, said so.
    assert sum("Général" in warning for warning in version.warnings) == 34


def test_bio_squash_workbook_imports_faithfully():
    workbook = openpyxl.load_workbook(BIO_XLSX, read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    header = rows[0]
    status = header.index("REQ_VERSION_STATUS")
    reference = header.index("REQ_VERSION_REFERENCE")
    expected = len({row[reference] for row in rows[1:] if row[status] != "OBSOLETE"})
    with BIO_XLSX.open("rb") as handle:
        result = rem_version_import(
            dsr=Dsr.objects.get(code="BIO-SGL-Va2"),
            file=handle,
            filename=BIO_XLSX.name,
            label="création IT3",
        )
    assert _counts_in_db(result.version) == (expected, 0, 0)
    assert result.version.skipped_obsolete == 7
