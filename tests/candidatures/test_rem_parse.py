"""Reading REM sheets: the real ANS files, checked against counts computed here from the
raw files with plain csv/openpyxl code, then synthetic sheets for every rule and error."""

import csv
import io
import random
import re
import tracemalloc
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from candidatures.enums import Nature, Perimetre, ProofKind
from candidatures.rem_import import ImportIssue, parse_rem
from candidatures.rem_import.parser import MAX_ERRORS, NO_DATA, NO_HEADER, TOO_MANY_ERRORS
from candidatures.rem_import.readers import (
    BINARY_FILE,
    EMPTY_FILE,
    FORMULA,
    NOT_A_WORKBOOK,
    UNKNOWN_ENCODING,
    XLS_NOT_SUPPORTED,
    sheet_perimetre,
)

REALDATA = Path(settings.BASE_DIR).parent / "shared" / "realdata"
DRIMBOX = REALDATA / "ans_rem_va2_drimbox_prepub_exigences.csv"
ALL_REMS = REALDATA / "ans_rem_va2_prepub_exigences_scenarios_preuves_all_rems.csv"
BIO_XLSX = REALDATA / "ans_squash_create_rem_bio_va2_20230109.xlsx"
TEMPLATE_XLSX = REALDATA / "ans_template_rem_export_exigences.xlsx"
REMS = ["BIO", "DB", "DPI", "LGC", "PFI", "RIS"]

realdata = pytest.mark.skipif(not REALDATA.is_dir(), reason="shared/realdata is absent")

STATEMENT = "Énoncé de l'exigence (DOIT) ou de la préconisation (PEUT)"
HEADER = [
    "Exigence conditionnelle OUI/NON",
    "Profil",
    "Nature de l'exigence",
    "N° exigence",
    STATEMENT,
    "N° scénario",
    "Scénario de conformité",
    "N° preuve 1",
    "Preuve 1",
    "N° preuve 2",
    "Preuve 2",
]
# The published layout: 31 columns.
PUBLISHED_HEADER = [
    "Exigence conditionnelle OUI/NON",
    "Profil",
    "ID Section",
    "Section",
    "Bloc",
    "Fonction",
    "Nature de l'exigence",
    "N° exigence",
    STATEMENT,
    "N° scénario",
    "Scénario de conformité",
    *[name for k in range(1, 11) for name in (f"N° preuve {k}", f"Preuve {k}")],
]


def record(
    identifier,
    statement="Le système DOIT faire ceci.",
    *,
    profile="Général",
    nature="EXIGENCE",
    conditional="NON",
    scenario="",
    scenario_text="",
    proofs=(),
):
    """A row of HEADER."""
    cells = [conditional, profile, nature, identifier, statement, scenario, scenario_text]
    for proof_id, proof_text in proofs:
        cells += [proof_id, proof_text]
    return cells + [""] * (len(HEADER) - len(cells))


def csv_bytes(rows, *, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for row in rows:
            worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    workbook.close()
    return buffer.getvalue()


def parse_bytes(data, filename="rem.csv", **kwargs):
    return parse_rem(io.BytesIO(data), filename=filename, **kwargs)


def parse_path(path, **kwargs):
    with path.open("rb") as file:
        return parse_rem(file, filename=path.name, **kwargs)


def by_id(result):
    return {exigence.identifier: exigence for exigence in result.exigences}


def located(issues):
    return [(issue.sheet, issue.row, issue.column, issue.message) for issue in issues]


# Real files


def _read_drimbox():
    with DRIMBOX.open(encoding="utf-8", newline="") as handle:
        return list(enumerate(csv.DictReader(handle), start=2))


@realdata
def test_parse_rem_drimbox_csv_matches_raw_file():
    rows = _read_drimbox()
    requirements = {row["N° exigence"].strip() for _, row in rows}
    scenarios = {
        (row["N° exigence"].strip(), row["N° scénario"].strip())
        for _, row in rows
        if row["N° scénario"].strip()
    }
    proofs = {
        (row["N° exigence"].strip(), row["N° scénario"].strip(), row[f"N° preuve {k}"].strip())
        for _, row in rows
        for k in range(1, 11)
        if row[f"N° preuve {k}"].strip()
    }
    first_rows = {}
    for _, row in rows:
        first_rows.setdefault(row["N° exigence"].strip(), row)
    natures = Counter(row["Nature de l'exigence"].lower() for row in first_rows.values())
    conditional = {ref for ref, row in first_rows.items() if row[HEADER[0]] == "OUI"}
    blank_profiles = [number for number, row in rows if not row["Profil"].strip()]
    blank_statements = [number for number, row in rows if not row[STATEMENT].strip()]

    result = parse_path(DRIMBOX)

    assert result.errors == []
    assert result.sheets == [DRIMBOX.name]
    assert result.rows_read == len(rows) == 257
    assert result.skipped_obsolete == 0
    assert [e.identifier for e in result.exigences] == list(first_rows)
    assert {e.identifier for e in result.exigences} == requirements
    assert {(e.identifier, s.identifier) for e in result.exigences for s in e.scenarios} == (
        scenarios
    )
    assert {
        (e.identifier, s.identifier, p.identifier)
        for e in result.exigences
        for s in e.scenarios
        for p in s.proofs
    } == proofs
    assert (len(result.exigences), len(result.scenarios), len(result.proofs)) == (230, 49, 59)
    assert Counter(e.nature.value for e in result.exigences) == natures
    assert {e.identifier for e in result.exigences if e.conditional} == conditional
    assert {e.perimetre for e in result.exigences} == {Perimetre.VAGUE_2}
    assert not any(e.nature_inferred for e in result.exigences)
    # The pre-publication sheet has 34 rows without profile and one requirement
    # (SSI/IAM.94, two rows) without statement: imported, and said so.
    assert len(blank_profiles) == 34
    assert [w.row for w in result.warnings if w.column == "Profil"] == blank_profiles
    assert [w.row for w in result.warnings if w.column == STATEMENT] == blank_statements
    assert blank_statements == [237, 238]
    assert by_id(result)["SSI/IAM.94"].profile == "Général"


@realdata
def test_parse_rem_drimbox_csv_known_requirements():
    exigences = by_id(parse_path(DRIMBOX))

    airs = exigences["DMP/AIRS.06"]
    assert airs.statement.startswith("Le système DOIT prendre en compte")
    assert (airs.profile, airs.nature, airs.conditional) == ("Général", Nature.EXIGENCE, False)
    assert (airs.id_section, airs.bloc) == ("DMP/AIRS", "Consultation du DMP")
    assert [s.identifier for s in airs.scenarios] == ["DMP/AIRS.06.01"]
    scenario = airs.scenarios[0]
    assert scenario.text.startswith("Prérequis :\nDeux comptes utilisateur PS")
    assert "\xa0" not in scenario.text
    assert [(p.identifier, p.kind) for p in scenario.proofs] == [
        ("DMP/AIRS.06.01.01", ProofKind.VIDEO_CAPTURE),
        ("DMP/AIRS.06.01.02", ProofKind.FICHIER),
        ("DMP/AIRS.06.01.03", ProofKind.VIDEO_CAPTURE),
        ("DMP/AIRS.06.01.04", ProofKind.FICHIER),
    ]
    assert scenario.proofs[1].text == "Message SOAP contenant le jeton VIHF de l'utilisateur PS n°1"

    # Entities decoded in a statement: "&amp;" in the sheet.
    viewer = exigences["DB/VI_SO.07"]
    assert "requestType=STUDY&studyUID={StudyInstanceUID}&accessionNumber=" in viewer.statement
    assert "&amp;" not in viewer.statement

    cnda = exigences["DMP/AIRS.03"]
    assert [(p.identifier, p.kind, p.kind_rule) for p in cnda.scenarios[0].proofs] == [
        ("DMP/AIRS.03.01.01", ProofKind.JUSTIFICATIF, "justificatif")
    ]


# "ID : texte" at the start of a line, as the agency writes it in the "preuve" cell.
RAW_PROOF_LINE = re.compile(r"^(\S+) : ")


def _read_all_rems():
    with ALL_REMS.open(encoding="utf-8", newline="") as handle:
        return list(enumerate(csv.DictReader(handle), start=2))


def _expected_rem(rem):
    rows = _read_all_rems()
    mine = [(number, row) for number, row in rows if row["REM"] == rem]
    live = [(number, row) for number, row in mine if row["arbitrage"] != "Obsolète"]
    proofs = set()
    defective_rows = set()
    for number, row in live:
        ids = []
        for line in row["preuve"].splitlines():
            if line.strip().startswith(":"):
                defective_rows.add(number)
            elif match := RAW_PROOF_LINE.match(line):
                ids.append(match[1])
        if len(ids) != len(set(ids)):
            defective_rows.add(number)
        proofs.update((row["reference"].strip(), row["ref scenario"].strip(), i) for i in ids)
    return {
        "requirements": {row["reference"].strip() for _, row in live},
        "scenarios": {
            (row["reference"].strip(), row["ref scenario"].strip())
            for _, row in live
            if row["ref scenario"].strip()
        },
        "proofs": proofs,
        "obsolete": len(mine) - len(live),
        "other_rem": len(rows) - len(mine),
        "defective_rows": defective_rows,
        "profiles": Counter({row["reference"].strip(): row["profil"] for _, row in live}.values()),
    }


@realdata
@pytest.mark.parametrize("rem", REMS)
def test_parse_rem_all_rems_csv_each_rem_matches_raw_file(rem):
    expected = _expected_rem(rem)

    result = parse_path(ALL_REMS, rem=rem)

    assert result.errors == []
    assert result.rows_read == 1712
    assert result.skipped_obsolete == expected["obsolete"]
    assert result.skipped_other_rem == expected["other_rem"]
    assert {e.identifier for e in result.exigences} == expected["requirements"]
    assert len(result.exigences) == len(expected["requirements"])
    assert {(e.identifier, s.identifier) for e in result.exigences for s in e.scenarios} == (
        expected["scenarios"]
    )
    assert {
        (e.identifier, s.identifier, p.identifier)
        for e in result.exigences
        for s in e.scenarios
        for p in s.proofs
    } == expected["proofs"]
    assert len(result.proofs) == len(expected["proofs"])
    assert result.counts_by("profile") == expected["profiles"]
    # Proofs written without identifier, or two proofs under one identifier, are the
    # sheet's own defects: left out with a warning on their row, never an error.
    assert {w.row for w in result.warnings if w.column == "preuve"} == expected["defective_rows"]


@realdata
def test_parse_rem_all_rems_csv_counts_and_defects_are_known():
    counts = {}
    defects = {}
    for rem in REMS:
        result = parse_path(ALL_REMS, rem=rem)
        counts[rem] = (len(result.exigences), len(result.scenarios), len(result.proofs))
        defects[rem] = sorted({w.row for w in result.warnings if w.column == "preuve"})
    assert counts == {
        "BIO": (102, 125, 155),
        "DB": (198, 83, 99),
        "DPI": (106, 121, 149),
        "LGC": (123, 114, 144),
        "PFI": (77, 99, 126),
        "RIS": (150, 152, 191),
    }
    assert defects == {
        "BIO": [200, 239],
        "DB": [283, 287, 288, 326, 698],
        "DPI": [942, 982],
        "LGC": [],
        "PFI": [1380, 1419],
        "RIS": [1656, 1695],
    }


@realdata
def test_parse_rem_all_rems_csv_proofs_from_single_column():
    result = parse_path(ALL_REMS, rem="db")
    airs = by_id(result)["DMP/AIRS.06"]

    # A later wording than the DRIMbox sheet's, on row 589 ("A retravailler").
    assert airs.statement.startswith("Le système DOIT transmettre systématiquement")
    assert airs.row == 589
    assert [s.identifier for s in airs.scenarios] == ["DMP/AIRS.06.01"]
    proofs = airs.scenarios[0].proofs
    assert [p.identifier for p in proofs] == [
        "DMP/AIRS.06.01.01",
        "DMP/AIRS.06.01.02",
        "DMP/AIRS.06.01.03",
        "DMP/AIRS.06.01.04",
    ]
    assert proofs[0].text.startswith("Démonstration (vidéo ou copies d'écran) montrant")
    assert proofs[1].text == "Message SOAP contenant le jeton VIHF de l'utilisateur PS n°1"
    assert [p.kind for p in proofs] == [
        ProofKind.VIDEO_CAPTURE,
        ProofKind.FICHIER,
        ProofKind.VIDEO_CAPTURE,
        ProofKind.FICHIER,
    ]

    # Continuation lines belong to the entry above them.
    psc = by_id(result)["PSC.01"]
    scenario = next(s for s in psc.scenarios if s.identifier == "PSC.01.02")
    assert [p.identifier for p in scenario.proofs] == ["PSC.01.01.02"]
    assert scenario.proofs[0].text.startswith("Video montrant le bon déroulé")
    assert "veuillez déposer la preuve PSC 04.01." in scenario.proofs[0].text


@realdata
def test_parse_rem_all_rems_csv_warns_about_defective_proof_cells():
    result = parse_path(ALL_REMS, rem="BIO")
    warnings = [(w.row, w.column, w.message) for w in result.warnings if w.column == "preuve"]

    assert warnings == [
        (
            200,
            "preuve",
            "deux preuves « SSI/IAM.80.03 » aux textes différents sur la ligne : seule la "
            "première est gardée, « Document présentant le contrat d'interface utilisé entre le… » "
            "est ignorée",
        ),
        (
            239,
            "preuve",
            "preuve sans numéro ignorée : « Lister toutes les méthodes proposées pour la "
            "vérification d… »",
        ),
    ]
    ie44 = by_id(result)["SSI/IE.44"].scenarios[0]
    assert [p.identifier for p in ie44.proofs] == ["SSI/IE.44.01.01", "SSI/IE.44.01.02"]


@realdata
def test_parse_rem_all_rems_csv_without_rem_asks_for_one():
    result = parse_path(ALL_REMS)

    assert result.exigences == []
    assert located(result.errors)[-1] == (
        ALL_REMS.name,
        None,
        "REM",
        "Le fichier contient plusieurs REM (BIO, DB, DPI, LGC, PFI, RIS) : "
        "précisez celle à importer.",
    )


@realdata
def test_parse_rem_all_rems_csv_unknown_rem():
    result = parse_path(ALL_REMS, rem="XYZ")

    assert result.skipped_other_rem == 1712
    assert located(result.errors) == [
        (
            ALL_REMS.name,
            None,
            "REM",
            "Aucune ligne de la REM « XYZ » (REM présentes : BIO, DB, DPI, LGC, PFI, RIS).",
        )
    ]


@realdata
def test_parse_rem_bio_squash_xlsx_matches_raw_file():
    workbook = openpyxl.load_workbook(BIO_XLSX, read_only=True)
    raw = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    header, data = raw[0], [dict(zip(raw[0], row, strict=True)) for row in raw[1:]]
    live = [row for row in data if row["REQ_VERSION_STATUS"] != "OBSOLETE"]
    references = [row["REQ_VERSION_REFERENCE"].strip() for row in live]
    natures = Counter(
        {"CRI": "exigence", "PRECO": "preconisation"}[row["REQ_VERSION_CATEGORY"]] for row in live
    )
    wave_1 = {
        row["REQ_VERSION_REFERENCE"].strip()
        for row in live
        if row["REQ_VERSION_CUF_PROFIL"].lower().startswith("va1")
    }
    sections = {
        row["REQ_VERSION_REFERENCE"].strip(): tuple(row["REQ_VERSION_CUF_SECTION"].split("_", 1))
        for row in live
    }

    result = parse_path(BIO_XLSX)

    assert "REQ_VERSION_DESCRIPTION" in header
    assert result.errors == []
    assert result.sheets == ["REQUIREMENT"]
    assert result.rows_read == len(data) == 130
    assert result.skipped_obsolete == len(data) - len(live) == 7
    assert [e.identifier for e in result.exigences] == references
    assert len(result.exigences) == 123
    assert (result.scenarios, result.proofs) == ([], [])
    assert Counter(e.nature.value for e in result.exigences) == natures
    assert {e.identifier for e in result.exigences if e.perimetre == Perimetre.VAGUE_1} == wave_1
    assert {e.profile for e in result.exigences} == {"Général", "DRIMbox Proxy", "DRIMbox native"}
    assert {e.identifier: (e.id_section, e.section) for e in result.exigences} == sections
    assert not any("<p>" in e.statement or "<br" in e.statement for e in result.exigences)

    exigences = by_id(result)
    assert exigences["SGL.DMP/va1.23"].perimetre == Perimetre.VAGUE_1
    assert exigences["SGL.DMP/va1.23"].profile == "Général"
    assert exigences["SGL.CDA/DD.05"].statement.startswith("Dans le cas où l’utilisateur")
    filters = next(e for e in result.exigences if "filtrer les résultats par" in e.statement)
    assert filters.statement.endswith(
        "par :\n\nModalité(s)\nDate de l’examen (plage de deux dates)\nRégion(s) anatomique(s)."
    )
    drim = next(e for e in result.exigences if "https://<location>/drim" in e.statement)
    assert "où <location> est alloué localement" in drim.statement


@realdata
def test_parse_rem_published_template_layout_is_recognised():
    # The ANS export template carries one placeholder row whose "Preuve 2…10" cells are
    # filled without their "N° preuve": every column is found, and those cells refused.
    result = parse_path(TEMPLATE_XLSX)

    assert result.sheets == ["Exigences"]
    assert located(result.errors) == [
        (
            "Exigences",
            2,
            f"N° preuve {k}",
            f"preuve sans numéro : « N° preuve {k} » est vide alors que « Preuve {k} » est rempli",
        )
        for k in range(2, 11)
    ]


# Synthetic sheets


WAVE_1_HEADER = [
    "Scénario de conformité",
    "N° exigence",
    "Commentaire interne",
    "PROFIL",
    STATEMENT,
    "Nature de l'exigence",
    "N° scénario",
    "Preuve 1",
    "N° preuve 1",
    "Exigence conditionnelle OUI/NON",
    "ID Section",
    "Section",
    "Bloc",
    "Fonction",
    "N°",
    "Preuve 2",
    "N° preuve 2",
]


def _wave_1_row(**cells):
    return [cells.get(name, "") for name in WAVE_1_HEADER]


def test_parse_rem_xlsx_wave_tabs_shuffled_columns_and_html():
    ins_statement = (
        "<p>Le système <b>DOIT</b> qualifier l&#39;identité&nbsp;:</p>"
        "<ul><li>par téléservice</li><li>par <i>lecture</i> de carte</li></ul>"
    )
    common = {
        "N° exigence": "INS.01",
        "PROFIL": "Général",
        STATEMENT: ins_statement,
        "Nature de l'exigence": "EXIGENCE",
        "Exigence conditionnelle OUI/NON": "NON",
        "ID Section": "INS",
        "Section": "<p>Identité <strong>nationale</strong> de santé</p>",
        "Bloc": "Qualification",
        "Fonction": "Appel INSi",
        "N°": 1,
    }
    wave_1 = [
        WAVE_1_HEADER,
        _wave_1_row(
            **common,
            **{
                "N° scénario": "INS.01.01",
                "Scénario de conformité": "<p>Étape 1<br>Étape 2</p>",
                "N° preuve 1": "INS.01.01.01",
                "Preuve 1": "<p>Vidéo de la séquence</p>",
                "N° preuve 2": "INS.01.01.02",
                "Preuve 2": "Log des appels &agrave; INSi",
            },
        ),
        _wave_1_row(
            **common,
            **{
                "N° scénario": "INS.01.02",
                "Scénario de conformité": "Cas dégradé",
                "N° preuve 1": "INS.01.02.01",
                "Preuve 1": "Compte rendu de l&#39;essai",
            },
        ),
        _wave_1_row(
            **common,
            **{
                "N° scénario": "INS.01.03",
                "Scénario de conformité": "Cas sans carte",
                "N° preuve 1": "INS.01.03.01",
                "Preuve 1": "Justificatif",
            },
        ),
        _wave_1_row(
            **{
                "N° exigence": "INS.02",
                "PROFIL": "Médecin traitant",
                STATEMENT: "Le système PEUT afficher l’INS.",
                "Nature de l'exigence": "Préconisation",
                "Exigence conditionnelle OUI/NON": "OUI",
                "Commentaire interne": "colonne en trop, ignorée",
                "N°": 2,
            }
        ),
    ]
    wave_2 = [
        ["N° exigence", "Profil", STATEMENT, "Nature de l'exigence", "N° scénario"],
        [],
        ["DMP.01", "Général", "Le système DOIT alimenter le DMP.", "EXIGENCE", ""],
    ]
    data = xlsx_bytes(
        {"Lisez-moi": [["Ce classeur contient la REM"]], "Vague 1": wave_1, "VAGUE 2": wave_2}
    )

    result = parse_bytes(data, "REM-INS-Va2.xlsx")

    assert result.errors == []
    assert result.warnings == []
    assert result.sheets == ["Vague 1", "VAGUE 2"]
    assert result.rows_read == 5
    assert [e.identifier for e in result.exigences] == ["INS.01", "INS.02", "DMP.01"]
    ins, ins_2, dmp = result.exigences
    assert ins.statement == (
        "Le système DOIT qualifier l'identité :\n\n- par téléservice\n- par lecture de carte"
    )
    assert (ins.sheet, ins.row, ins.numero, ins.perimetre) == (
        "Vague 1",
        2,
        "1",
        Perimetre.VAGUE_1,
    )
    assert (ins.id_section, ins.section, ins.bloc, ins.fonction) == (
        "INS",
        "Identité nationale de santé",
        "Qualification",
        "Appel INSi",
    )
    assert [(s.identifier, s.text) for s in ins.scenarios] == [
        ("INS.01.01", "Étape 1\nÉtape 2"),
        ("INS.01.02", "Cas dégradé"),
        ("INS.01.03", "Cas sans carte"),
    ]
    assert [(p.identifier, p.text, p.kind) for s in ins.scenarios for p in s.proofs] == [
        ("INS.01.01.01", "Vidéo de la séquence", ProofKind.VIDEO_CAPTURE),
        ("INS.01.01.02", "Log des appels à INSi", ProofKind.FICHIER),
        ("INS.01.02.01", "Compte rendu de l'essai", ProofKind.COMPTE_RENDU),
        ("INS.01.03.01", "Justificatif", ProofKind.JUSTIFICATIF),
    ]
    assert (ins_2.nature, ins_2.conditional, ins_2.profile, ins_2.scenarios) == (
        Nature.PRECONISATION,
        True,
        "Médecin traitant",
        [],
    )
    assert (dmp.sheet, dmp.row, dmp.perimetre) == ("VAGUE 2", 3, Perimetre.VAGUE_2)


def test_parse_rem_xlsx_without_wave_tab_reads_first_sheet_only():
    data = xlsx_bytes(
        {
            "Exigences": [HEADER, record("A.01")],
            "Scénarios métier": [HEADER, record("B.01", nature="n'importe quoi")],
        }
    )

    result = parse_bytes(data, "rem.xlsx", default_perimetre=Perimetre.VAGUE_1)

    assert result.errors == []
    assert result.sheets == ["Exigences"]
    assert [(e.identifier, e.perimetre) for e in result.exigences] == [("A.01", Perimetre.VAGUE_1)]


@pytest.mark.parametrize(
    ("title", "perimetre"),
    [
        ("Vague 1", Perimetre.VAGUE_1),
        ("VAGUE 2", Perimetre.VAGUE_2),
        ("Périmètre vague 1", Perimetre.VAGUE_1),
        ("Va1", Perimetre.VAGUE_1),
        ("REM DPI va2", Perimetre.VAGUE_2),
        ("vague_2", Perimetre.VAGUE_2),
        ("Exigences", None),
        ("Vague 12", None),
        ("Vaccination", None),
        ("Exigences v2", None),
    ],
)
def test_sheet_perimetre_reads_tab_names(title, perimetre):
    assert sheet_perimetre(title) == perimetre


def test_parse_rem_headers_matched_by_normalised_name():
    rows = [
        [
            "  no EXIGENCE ",
            "Enonce de l’exigence",
            "profil",
            "Nº scenario",
            "scenario de conformite",
            "n°preuve 1",
            "PREUVE 1",
            "Colonne inconnue",
        ],
        ["X.01", "Le système DOIT.", "Général", "X.01.01", "Vérifier", "X.01.01.01", "Vidéo", "?"],
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.errors == []
    [exigence] = result.exigences
    assert exigence.scenarios[0].proofs[0].identifier == "X.01.01.01"


def test_parse_rem_same_scenario_on_two_rows_merges_proofs():
    rows = [
        HEADER,
        record("A.01", scenario="A.01.01", scenario_text="Vérifier", proofs=[("P.1", "Vidéo")]),
        record(
            "A.01",
            scenario="A.01.01",
            scenario_text=" Vérifier ",
            proofs=[("P.1", "Vidéo"), ("P.2", "Log")],
        ),
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.errors == []
    [scenario] = result.scenarios
    assert [p.identifier for p in scenario.proofs] == ["P.1", "P.2"]


def test_parse_rem_same_scenario_with_other_text_is_an_error():
    rows = [
        HEADER,
        record("A.01", scenario="A.01.01", scenario_text="Vérifier ceci"),
        record("A.01", scenario="A.01.01", scenario_text="Vérifier cela"),
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            3,
            "Scénario de conformité",
            "le scénario « A.01.01 » de l’exigence « A.01 » figure déjà ligne 2 "
            "avec un autre texte",
        )
    ]


def test_parse_rem_same_proof_with_other_text_on_another_row_is_an_error():
    rows = [
        HEADER,
        record("A.01", scenario="A.01.01", scenario_text="V", proofs=[("P.1", "Vidéo")]),
        record("A.01", scenario="A.01.01", scenario_text="V", proofs=[("P.1", "Log")]),
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            3,
            "Preuve 1",
            "la preuve « P.1 » du scénario « A.01.01 » figure déjà avec un autre texte",
        )
    ]


def test_parse_rem_rows_without_scenario_add_none():
    rows = [HEADER, record("A.01"), record("A.01", scenario="A.01.01", scenario_text="V")]

    result = parse_bytes(csv_bytes(rows))

    assert [s.identifier for s in result.scenarios] == ["A.01.01"]


def test_parse_rem_blank_profile_warns_and_uses_general():
    result = parse_bytes(csv_bytes([HEADER, record("A.01", profile="  ")]))

    assert result.errors == []
    assert result.exigences[0].profile == "Général"
    assert located(result.warnings) == [
        (
            "rem.csv",
            2,
            "Profil",
            "profil vide : l’exigence est rattachée au profil « Général »",
        )
    ]


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("va1 Général", ("Général", Perimetre.VAGUE_1)),
        ("VA2 Général", ("Général", Perimetre.VAGUE_2)),
        ("va1 Intégration INS", ("Intégration INS", Perimetre.VAGUE_1)),
        ("Vaccination", ("Vaccination", Perimetre.VAGUE_2)),
    ],
)
def test_parse_rem_wave_prefix_of_profile_sets_perimetre(profile, expected):
    result = parse_bytes(csv_bytes([HEADER, record("A.01", profile=profile)]))

    [exigence] = result.exigences
    assert (exigence.profile, exigence.perimetre) == expected


def test_parse_rem_nature_inferred_without_nature_column():
    rows = [
        ["N° exigence", STATEMENT, "Profil"],
        ["A.01", "Le système PEUT afficher.", "Général"],
        ["A.02", "Le système DOIT afficher, et PEUT trier.", "Général"],
        ["A.03", "Le système peut afficher.", "Général"],
    ]

    result = parse_bytes(csv_bytes(rows))

    assert [(e.nature, e.nature_inferred) for e in result.exigences] == [
        (Nature.PRECONISATION, True),
        (Nature.EXIGENCE, True),
        (Nature.EXIGENCE, True),
    ]


@pytest.mark.parametrize(
    ("written", "nature"),
    [
        ("EXIGENCE", Nature.EXIGENCE),
        ("exigence", Nature.EXIGENCE),
        ("PRECONISATION", Nature.PRECONISATION),
        ("préconisation", Nature.PRECONISATION),
        ("Recommandation", Nature.PRECONISATION),
    ],
)
def test_parse_rem_nature_column_values(written, nature):
    result = parse_bytes(csv_bytes([HEADER, record("A.01", nature=written)]))

    assert (result.exigences[0].nature, result.exigences[0].nature_inferred) == (nature, False)


@pytest.mark.parametrize(
    ("written", "conditional"),
    [("OUI", True), ("oui", True), ("NON", False), ("---", False), ("", False)],
)
def test_parse_rem_conditional_values(written, conditional):
    result = parse_bytes(csv_bytes([HEADER, record("A.01", conditional=written)]))

    assert result.exigences[0].conditional is conditional


@pytest.mark.parametrize("status", ["Obsolète", "OBSOLETE", "obsolete"])
def test_parse_rem_obsolete_rows_are_skipped(status):
    rows = [
        ["N° exigence", STATEMENT, "Profil", "Statut"],
        ["A.01", "Le système DOIT.", "Général", status],
        ["A.02", "Le système DOIT.", "Général", "A retravailler"],
        ["A.03", "Le système DOIT.", "Général", "Approuvée"],
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.skipped_obsolete == 1
    assert [e.identifier for e in result.exigences] == ["A.02", "A.03"]


def test_parse_rem_single_proof_column_with_continuation_lines():
    rows = [
        ["reference", "description", "profil", "ref scenario", "scenario", "preuve"],
        [
            "A.01",
            "Le système DOIT.",
            "Général",
            "A.01.01",
            "Vérifier",
            "A.01.01.01 : Vidéo de la séquence\nPour une solution web : la preuve A.02.\n\n"
            "A.01.01.02 :\xa0Log des appels\n",
        ],
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.errors == []
    assert [(p.identifier, p.text) for p in result.proofs] == [
        ("A.01.01.01", "Vidéo de la séquence\nPour une solution web : la preuve A.02."),
        ("A.01.01.02", "Log des appels"),
    ]


def test_parse_rem_single_proof_column_line_without_identifier_is_an_error():
    rows = [
        ["reference", "description", "profil", "ref scenario", "scenario", "preuve"],
        ["A.01", "Le système DOIT.", "Général", "A.01.01", "Vérifier", "Vidéo de la séquence"],
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            2,
            "preuve",
            "preuve sans numéro : « Vidéo de la séquence » ; chaque preuve s’écrit "
            "« N° preuve : texte », une par ligne",
        )
    ]


def test_parse_rem_proof_pairs_must_be_complete():
    rows = [
        HEADER,
        record("A.01", scenario="A.01.01", scenario_text="V", proofs=[("", "Vidéo")]),
        record("A.02", scenario="A.02.01", scenario_text="V", proofs=[("A.02.01.01", "")]),
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            2,
            "N° preuve 1",
            "preuve sans numéro : « N° preuve 1 » est vide alors que « Preuve 1 » est rempli",
        ),
        ("rem.csv", 3, "Preuve 1", "preuve « A.02.01.01 » sans texte"),
    ]


def test_parse_rem_proof_without_scenario_is_an_error():
    rows = [HEADER, record("A.01", proofs=[("A.01.01.01", "Vidéo")])]

    result = parse_bytes(csv_bytes(rows))

    assert located(result.errors) == [
        ("rem.csv", 2, "Preuve 1", "preuve sur une ligne sans scénario")
    ]


def test_parse_rem_rem_filter_needs_a_rem_column():
    result = parse_bytes(csv_bytes([HEADER, record("A.01")]), rem="BIO")

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            1,
            None,
            "Colonne « REM » absente : impossible de ne garder que les lignes d’une REM "
            "dans ce fichier.",
        )
    ]


def test_parse_rem_csv_windows_1252_with_semicolons():
    rows = [
        HEADER,
        record(
            "ÉQ.01",
            "Le système DOIT gérer l’œuvre « française ».",
            profile="Médecin traitant",
            nature="Préconisation",
            scenario="ÉQ.01.01",
            scenario_text="Vérifier; puis, contrôler",
            proofs=[("ÉQ.01.01.01", "Capture d’écran")],
        ),
    ]
    data = csv_bytes(rows, delimiter=";", encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    result = parse_bytes(data, "rem-excel.csv")

    assert result.errors == []
    [exigence] = result.exigences
    assert exigence.identifier == "ÉQ.01"
    assert exigence.statement == "Le système DOIT gérer l’œuvre « française »."
    assert (exigence.profile, exigence.nature) == ("Médecin traitant", Nature.PRECONISATION)
    assert exigence.scenarios[0].text == "Vérifier; puis, contrôler"
    assert exigence.scenarios[0].proofs[0].text == "Capture d’écran"


def test_parse_rem_csv_semicolons_after_a_blank_line():
    data = b"\r\n" + csv_bytes(
        [HEADER, record("A.01", "Le système DOIT, puis PEUT.")], delimiter=";"
    )

    result = parse_bytes(data)

    assert result.errors == []
    assert result.exigences[0].statement == "Le système DOIT, puis PEUT."
    assert result.exigences[0].row == 3


def test_parse_rem_csv_cell_too_long():
    data = csv_bytes([HEADER, record("A.01"), record("A.02", "x" * 200_000)])

    result = parse_bytes(data)

    assert result.exigences == []
    assert located(result.errors) == [
        ("rem.csv", 3, None, "cellule trop longue (plus de 131\u202f072 caractères)")
    ]


def test_parse_rem_csv_utf8_bom_and_quoted_newlines_count_records():
    rows = [
        HEADER,
        record("A.01", "Le système DOIT :\nligne deux\nligne trois"),
        record("A.02", nature="INCONNUE"),
    ]
    data = b"\xef\xbb\xbf" + csv_bytes(rows)

    result = parse_bytes(data)

    # Row 3 is the third record, though it starts on the fifth physical line.
    assert located(result.errors) == [
        (
            "rem.csv",
            3,
            "Nature de l'exigence",
            "nature « INCONNUE » inconnue : EXIGENCE ou PRECONISATION attendue",
        )
    ]


def test_parse_rem_csv_utf8_bom_header_is_recognised():
    data = b"\xef\xbb\xbf" + csv_bytes([HEADER, record("A.01", "Le système DOIT :\nsuite")])

    result = parse_bytes(data)

    assert result.errors == []
    assert result.exigences[0].statement == "Le système DOIT :\nsuite"


def test_parse_rem_csv_neither_utf8_nor_windows_1252():
    data = csv_bytes([HEADER]) + b"A.01,\x81\xff\n"

    result = parse_bytes(data)

    assert located(result.errors) == [("rem.csv", None, None, UNKNOWN_ENCODING)]


def test_parse_rem_accepts_a_django_upload_and_leaves_it_open():
    upload = SimpleUploadedFile("rem.csv", csv_bytes([HEADER, record("A.01")]))

    result = parse_rem(upload, filename=upload.name)

    assert [e.identifier for e in result.exigences] == ["A.01"]
    assert not upload.closed
    upload.close()


# Bad input: one clear, located error, and no requirement.


@pytest.mark.parametrize("filename", ["rem.csv", "rem.xlsx"])
def test_parse_rem_empty_file(filename):
    result = parse_bytes(b"", filename)

    assert result.exigences == []
    assert located(result.errors) == [(filename, None, None, EMPTY_FILE)]
    assert not result.ok


def test_parse_rem_blank_csv_is_empty():
    result = parse_bytes(b"\n\n ,,\n")

    assert located(result.errors) == [("rem.csv", None, None, EMPTY_FILE)]


def test_parse_rem_header_without_data():
    result = parse_bytes(csv_bytes([HEADER, [], [""] * len(HEADER)]))

    assert located(result.errors) == [("rem.csv", None, None, NO_DATA)]


def test_parse_rem_no_recognisable_header():
    rows = [["Nom", "Prénom"], ["Dupont", "Jean"]]

    result = parse_bytes(csv_bytes(rows))

    assert located(result.errors) == [("rem.csv", 1, None, NO_HEADER)]


def test_parse_rem_header_found_below_a_title_row():
    rows = [["REM DPI vague 2 — publiée le 26/10"], [], HEADER, record("A.01")]

    result = parse_bytes(csv_bytes(rows))

    assert result.errors == []
    assert result.exigences[0].row == 4


@pytest.mark.parametrize(
    ("missing", "label"),
    [
        ("N° exigence", "N° exigence"),
        (STATEMENT, "Énoncé de l'exigence"),
        ("Profil", "Profil"),
    ],
)
def test_parse_rem_missing_required_column(missing, label):
    position = HEADER.index(missing)
    rows = [[c for i, c in enumerate(row) if i != position] for row in [HEADER, record("A.01")]]

    result = parse_bytes(csv_bytes(rows))

    assert result.exigences == []
    assert located(result.errors) == [
        ("rem.csv", 1, None, f'Colonne obligatoire absente : "{label}"')
    ]


def test_parse_rem_xlsx_name_on_text_content():
    result = parse_bytes(csv_bytes([HEADER, record("A.01")]), "rem.xlsx")

    assert result.exigences == []
    assert located(result.errors) == [("rem.xlsx", None, None, NOT_A_WORKBOOK)]


def test_parse_rem_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "pas un classeur")

    result = parse_bytes(buffer.getvalue(), "rem.xlsx")

    assert located(result.errors) == [("rem.xlsx", None, None, NOT_A_WORKBOOK)]


def test_parse_rem_old_excel_format():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000)

    result = parse_bytes(data, "rem.xls")

    assert located(result.errors) == [("rem.xls", None, None, XLS_NOT_SUPPORTED)]


@pytest.mark.parametrize(
    ("filename", "message"), [("rem.xlsx", NOT_A_WORKBOOK), ("rem.csv", BINARY_FILE)]
)
def test_parse_rem_random_10_mb_file(filename, message):
    data = random.Random(20240117).randbytes(10 * 2**20)

    result = parse_bytes(data, filename)

    assert result.exigences == []
    assert located(result.errors) == [(filename, None, None, message)]


def test_parse_rem_formula_cells_are_errors():
    rows = [HEADER, record("A.01"), record("A.02")]
    rows[1][HEADER.index(STATEMENT)] = '=CONCATENATE("Le système ", "DOIT.")'
    rows[2][HEADER.index("Nature de l'exigence")] = '=IF(1=1,"EXIGENCE","")'
    data = xlsx_bytes({"Exigences": rows})

    result = parse_bytes(data, "rem.xlsx")

    assert result.exigences == []
    assert located(result.errors) == [
        ("Exigences", 2, STATEMENT, FORMULA),
        ("Exigences", 3, "Nature de l'exigence", FORMULA),
    ]


def test_parse_rem_error_cells_are_errors():
    rows = [HEADER, record("A.01")]
    rows[1][HEADER.index("Profil")] = "#N/A"
    data = xlsx_bytes({"Exigences": rows})

    result = parse_bytes(data, "rem.xlsx")

    assert located(result.errors) == [
        ("Exigences", 2, "Profil", "cellule en erreur (#N/A) : remplacez-la par sa valeur")
    ]


def test_parse_rem_xlsx_stops_after_too_many_errors():
    rows = [HEADER] + [record(f"A.{i:03d}", nature="?") for i in range(MAX_ERRORS + 50)]

    result = parse_bytes(xlsx_bytes({"Exigences": rows}), "rem.xlsx")

    assert len(result.errors) == MAX_ERRORS + 1
    assert result.errors[-1] == ImportIssue("Exigences", None, None, TOO_MANY_ERRORS)


def test_parse_rem_formula_in_status_column_is_an_error():
    rows = [
        ["N° exigence", STATEMENT, "Profil", "Statut"],
        ["A.01", "Le système DOIT.", "Général", '=IF(1=1,"Obsolète","")'],
        ["A.02", "Le système DOIT.", "Général", "Approuvée"],
    ]

    result = parse_bytes(xlsx_bytes({"Exigences": rows}), "rem.xlsx")

    assert result.skipped_obsolete == 0
    assert located(result.errors) == [("Exigences", 2, "Statut", FORMULA)]


def test_parse_rem_formula_in_an_ignored_column_is_not_read():
    rows = [
        [*HEADER, "Calcul interne"],
        [*record("A.01"), "=1+1"],
    ]

    result = parse_bytes(xlsx_bytes({"Exigences": rows}), "rem.xlsx")

    assert result.errors == []
    assert [e.identifier for e in result.exigences] == ["A.01"]


def test_parse_rem_duplicate_requirement_with_two_statements():
    rows = [
        HEADER,
        record("A.01", "Le système DOIT tracer.", scenario="A.01.01", scenario_text="V"),
        record("A.01", "Le  système DOIT\ntracer.", scenario="A.01.02", scenario_text="W"),
        record("A.01", "Le système DOIT journaliser.", scenario="A.01.03", scenario_text="X"),
    ]

    result = parse_bytes(csv_bytes(rows))

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            4,
            STATEMENT,
            "l’exigence « A.01 » figure déjà ligne 2 avec un autre énoncé",
        )
    ]


def test_parse_rem_duplicate_requirement_with_two_profiles_or_natures():
    rows = [
        HEADER,
        record("A.01"),
        record("A.01", profile="Médecin traitant", nature="PRECONISATION"),
    ]

    result = parse_bytes(csv_bytes(rows))

    assert [(issue.row, issue.column, issue.message) for issue in result.errors] == [
        (3, "Profil", "l’exigence « A.01 » figure déjà ligne 2 avec le profil « Général »"),
        (
            3,
            "Nature de l'exigence",
            "l’exigence « A.01 » figure déjà ligne 2 avec la nature « Exigence »",
        ),
    ]


def test_parse_rem_same_requirement_in_both_wave_tabs_is_an_error():
    data = xlsx_bytes({"Vague 1": [HEADER, record("A.01")], "Vague 2": [HEADER, record("A.01")]})

    result = parse_bytes(data, "rem.xlsx")

    assert located(result.errors) == [
        (
            "Vague 2",
            2,
            None,
            "l’exigence « A.01 » figure déjà feuille « Vague 1 », ligne 2 "
            "avec le périmètre « Vague 1 »",
        )
    ]


def test_parse_rem_unknown_nature():
    result = parse_bytes(csv_bytes([HEADER, record("A.01", nature="OBLIGATOIRE")]))

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            2,
            "Nature de l'exigence",
            "nature « OBLIGATOIRE » inconnue : EXIGENCE ou PRECONISATION attendue",
        )
    ]


def test_parse_rem_unknown_conditional_value():
    result = parse_bytes(csv_bytes([HEADER, record("A.01", conditional="Peut-être")]))

    assert result.exigences == []
    assert located(result.errors) == [
        (
            "rem.csv",
            2,
            "Exigence conditionnelle OUI/NON",
            "valeur « Peut-être » inconnue : OUI ou NON attendu",
        )
    ]


def test_parse_rem_blank_identifier_is_an_error():
    result = parse_bytes(csv_bytes([HEADER, record("A.01"), record(" ")]))

    assert result.exigences == []
    assert located(result.errors) == [("rem.csv", 3, "N° exigence", "numéro d’exigence vide")]


def test_parse_rem_stops_after_too_many_errors():
    rows = [HEADER] + [record(f"A.{i:03d}", nature="?") for i in range(MAX_ERRORS + 50)]

    result = parse_bytes(csv_bytes(rows))

    assert len(result.errors) == MAX_ERRORS + 1
    assert result.errors[MAX_ERRORS - 1].row == MAX_ERRORS + 1
    assert result.errors[-1] == ImportIssue("rem.csv", None, None, TOO_MANY_ERRORS)
    assert result.exigences == []


def test_import_issue_says_where():
    issue = ImportIssue("Vague 1", 12, "Profil", "profil vide")

    assert str(issue) == "feuille « Vague 1 », ligne 12, colonne « Profil » : profil vide"


# Size


def _published_rows(requirements, scenarios_each):
    for i in range(requirements):
        for j in range(1, scenarios_each + 1):
            row = [
                "NON",
                "Général",
                "SEC",
                "Section",
                "Bloc",
                "Fonction",
                "EXIGENCE",
                f"SEC.{i:05d}",
                f"<p>Le système DOIT faire la chose {i} selon le guide d&#39;intégration.</p>",
                f"SEC.{i:05d}.{j:02d}",
                f"Vérifier que le système fait la chose {i}.\nÉtapes : 1, 2, 3.",
                f"SEC.{i:05d}.{j:02d}.01",
                "Démonstration (vidéo ou copies d'écran) montrant le déroulé",
                f"SEC.{i:05d}.{j:02d}.02",
                "Log des appels",
            ]
            yield row + [""] * (len(PUBLISHED_HEADER) - len(row))


@pytest.fixture(scope="module")
def large_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("rem") / "rem-10000.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PUBLISHED_HEADER)
        writer.writerows(_published_rows(5000, 2))
    return path


def test_parse_rem_10000_rows_csv(large_csv):
    # How long it takes is measured by bench/rem_import.py (docs/BENCHMARKS.md), not here.
    result = parse_path(large_csv)

    assert result.errors == []
    assert (len(result.exigences), len(result.scenarios), len(result.proofs)) == (
        5000,
        10000,
        20000,
    )


def test_parse_rem_10000_rows_xlsx(tmp_path):
    path = tmp_path / "rem-10000.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet("Exigences")
    worksheet.append(PUBLISHED_HEADER)
    for row in _published_rows(5000, 2):
        worksheet.append([cell or None for cell in row])
    workbook.save(path)
    workbook.close()

    result = parse_path(path)

    assert result.errors == []
    assert (len(result.exigences), len(result.scenarios), len(result.proofs)) == (
        5000,
        10000,
        20000,
    )


def test_parse_rem_20000_rows_in_bounded_memory(tmp_path):
    path = tmp_path / "rem-20000.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PUBLISHED_HEADER)
        writer.writerows(_published_rows(20000, 1))

    tracemalloc.start()
    try:
        result = parse_path(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.errors == []
    assert len(result.exigences) == 20000
    assert peak < 200 * 2**20
