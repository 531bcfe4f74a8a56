"""Reading the customer-base version list: valid files in both formats, then every rule
and error, located as the vendor sees it in the spreadsheet."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.conf import settings

from candidatures.parc import (
    EXAMPLE_ROW,
    MODEL_HEADER,
    NO_HEADER,
    YES_NO_EXPECTED,
    VersionParc,
    model_csv,
    parse_parc_versions,
)
from candidatures.rem_import.model import ImportIssue
from candidatures.rem_import.parser import MAX_ERRORS, NO_DATA, TOO_MANY_ERRORS
from candidatures.rem_import.readers import (
    BINARY_FILE,
    EMPTY_FILE,
    FORMULA,
    NOT_A_WORKBOOK,
    UNKNOWN_ENCODING,
    XLS_NOT_SUPPORTED,
)

MODEL_FILE = Path(settings.BASE_DIR) / "fixtures" / "parc_versions_modele.csv"

TECHNICAL, COMMERCIAL, V1, MAINTENANCE, MAINTENANCE_URL, SALE, SALE_URL = MODEL_HEADER
URL_FORMAT = "invalide : adresse web complète attendue, commençant par https:// ou http://"
MAINTENANCE_URL_MISSING = f"URL attendue : « {MAINTENANCE} » vaut « oui »"
SALE_URL_MISSING = f"URL attendue : « {SALE} » vaut « oui »"


def row(
    technical="1.0",
    commercial="Logiciel Santé 1",
    v1="non",
    maintenance="non",
    maintenance_url="",
    sale="non",
    sale_url="",
):
    """A row of MODEL_HEADER."""
    return [technical, commercial, v1, maintenance, maintenance_url, sale, sale_url]


def csv_bytes(rows, *, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        worksheet = workbook.create_sheet(title)
        for cells in rows:
            worksheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    workbook.close()
    return buffer.getvalue()


def parse(data, filename="parc.csv"):
    return parse_parc_versions(io.BytesIO(data), filename=filename)


def parse_rows(rows, **kwargs):
    return parse(csv_bytes([MODEL_HEADER, *rows], **kwargs))


def located(result):
    return [(issue.row, issue.column, issue.message) for issue in result.errors]


def assert_fails(result, expected):
    assert located(result) == expected
    assert not result.ok
    assert result.versions == []


# Valid files


def test_parse_parc_versions_csv_utf8():
    rows = [
        row("4.2.1", "Logiciel Santé 4", v1="oui"),
        row(
            "4.1.0",
            "Logiciel Santé 4",
            maintenance="oui",
            maintenance_url="https://www.editeur.example/annonces/fin-maintenance-4-1",
        ),
        row(
            "3.9.7",
            "Logiciel Santé 3",
            v1="oui",
            maintenance="oui",
            maintenance_url="http://editeur.example/fin-maintenance?version=3.9.7",
            sale="oui",
            sale_url="https://editeur.example/fin-commercialisation#v3",
        ),
    ]

    result = parse_rows(rows)

    assert result.errors == []
    assert result.ok
    assert result.sheet == "parc.csv"
    assert result.warnings == []
    assert result.versions == [
        VersionParc("4.2.1", "Logiciel Santé 4", True, False, "", False, "", row=2),
        VersionParc(
            "4.1.0",
            "Logiciel Santé 4",
            False,
            True,
            "https://www.editeur.example/annonces/fin-maintenance-4-1",
            False,
            "",
            row=3,
        ),
        VersionParc(
            "3.9.7",
            "Logiciel Santé 3",
            True,
            True,
            "http://editeur.example/fin-maintenance?version=3.9.7",
            True,
            "https://editeur.example/fin-commercialisation#v3",
            row=4,
        ),
    ]


def test_parse_parc_versions_xlsx_columns_in_another_order_and_extra_columns():
    header = [
        "Commentaire",
        "URL arrêt de commercialisation",
        "NOM DE VERSION COMMERCIALE",
        "Arrêt de commercialisation ?",
        "Date de sortie",
        "Version technique",
        "Lien vers la communication d'arrêt de maintenance",
        "Référencée Ségur vague 1 (O/N)",
        "Communication publique d'arrêt de la maintenance - oui/non",
    ]
    rows = [
        header,
        [
            "interne",
            None,
            "<p>Logiciel <b>Santé</b>&nbsp;5</p>",
            False,
            "2024-01-15",
            "5.0.2",
            None,
            True,
            "NON",
        ],
        [
            "=A1",
            "https://editeur.example/fin-v4",
            "Logiciel Santé 4",
            1,
            None,
            4,
            "https://editeur.example/maintenance-v4",
            0,
            "x",
        ],
    ]
    data = xlsx_bytes({"Versions du parc": rows, "Notice": [["N° de version technique"], ["?"]]})

    result = parse(data, "parc.xlsx")

    assert result.errors == []
    assert result.sheet == "Versions du parc"
    assert result.versions == [
        VersionParc("5.0.2", "Logiciel Santé 5", True, False, "", False, "", row=2),
        VersionParc(
            "4",
            "Logiciel Santé 4",
            False,
            True,
            "https://editeur.example/maintenance-v4",
            True,
            "https://editeur.example/fin-v4",
            row=3,
        ),
    ]


def test_parse_parc_versions_csv_windows_1252_with_semicolons():
    rows = [
        MODEL_HEADER,
        row("2023.1", "Dossier Médical Éditeur", v1="oui"),
        row("2022.4", "Dossier Médical Éditeur", sale="oui", sale_url="https://é.example/fin"),
    ]
    data = csv_bytes(rows, delimiter=";", encoding="cp1252")

    result = parse(data, "parc.csv")

    assert result.errors == []
    assert [(v.technical_version, v.commercial_name, v.sale_end_url) for v in result.versions] == [
        ("2023.1", "Dossier Médical Éditeur", ""),
        ("2022.4", "Dossier Médical Éditeur", "https://é.example/fin"),
    ]


def test_parse_parc_versions_leaves_file_open_and_reads_from_start(tmp_path):
    path = tmp_path / "parc.csv"
    path.write_bytes(csv_bytes([MODEL_HEADER, row()]))

    with path.open("rb") as file:
        file.read(10)
        result = parse_parc_versions(file, filename=path.name)
        assert not file.closed

    assert result.errors == []
    assert [v.technical_version for v in result.versions] == ["1.0"]


def test_parse_parc_versions_title_and_blank_rows_around_data():
    rows = [
        ["Liste des versions du parc client", "", ""],
        [],
        MODEL_HEADER,
        row("1.0"),
        [],
        ["", "", "", ""],
        row("2.0"),
    ]

    result = parse(csv_bytes(rows))

    assert result.errors == []
    assert [(v.technical_version, v.row) for v in result.versions] == [("1.0", 4), ("2.0", 7)]


def test_parse_parc_versions_several_technical_versions_share_a_commercial_name():
    result = parse_rows([row("1.0", "Suite"), row("1.1", "Suite"), row("1.2", "Suite")])

    assert result.errors == []
    assert {v.commercial_name for v in result.versions} == {"Suite"}


def test_parse_parc_versions_html_cells_become_plain_text():
    result = parse_rows(
        [row("<span>7.1</span>", "<p>Mon <i>logiciel</i></p><p>édition &amp; plus</p>")]
    )

    assert result.errors == []
    assert (result.versions[0].technical_version, result.versions[0].commercial_name) == (
        "7.1",
        "Mon logiciel édition & plus",
    )


# Headers


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("N° de version technique", TECHNICAL),
        ("No de version technique", TECHNICAL),
        ("Numéro de version technique", TECHNICAL),
        ("NUMERO_DE_VERSION_TECHNIQUE", TECHNICAL),
        ("n°version technique", TECHNICAL),
        ("Version technique", TECHNICAL),
        ("Nom de la version commerciale", COMMERCIAL),
        ("Nom commercial", COMMERCIAL),
        ("référencée en vague 1", V1),
        ("Version référencée en Va1 ?", V1),
        ("Référencement vague 1 (oui / non)", V1),
        ("Communication publique d’arrêt de maintenance", MAINTENANCE),
        ("Arrêt de maintenance", MAINTENANCE),
        ("Communication de fin de maintenance", MAINTENANCE),
        ("URL de la communication d’arrêt de maintenance", MAINTENANCE_URL),
        ("URL communication publique arrêt maintenance", MAINTENANCE_URL),
        ("Lien vers la communication publique d'arrêt de maintenance", MAINTENANCE_URL),
        ("Communication publique d'arrêt de commercialisation OUI/NON", SALE),
        ("Fin de commercialisation", SALE),
        ("URL d’arrêt de commercialisation", SALE_URL),
    ],
)
def test_parse_parc_versions_accepts_header_variants(written, expected):
    header = [written if name == expected else name for name in MODEL_HEADER]

    result = parse(csv_bytes([header, row()]))

    assert result.errors == []
    assert len(result.versions) == 1


def test_parse_parc_versions_missing_columns_are_named():
    rows = [
        [TECHNICAL, V1, "Commentaire", SALE, SALE_URL],
        ["1.0", "oui", "", "non", ""],
    ]

    result = parse(csv_bytes(rows))

    assert_fails(
        result,
        [
            (1, None, f"Colonne obligatoire absente : « {COMMERCIAL} »"),
            (1, None, f"Colonne obligatoire absente : « {MAINTENANCE} »"),
            (1, None, f"Colonne obligatoire absente : « {MAINTENANCE_URL} »"),
        ],
    )
    assert {issue.sheet for issue in result.errors} == {"parc.csv"}


def test_parse_parc_versions_two_columns_for_one_answer():
    rows = [[*MODEL_HEADER, "Version technique"], [*row(), "1.0"]]

    result = parse(csv_bytes(rows))

    assert_fails(
        result,
        [
            (
                1,
                "Version technique",
                f"colonne en double : « {TECHNICAL} » et « Version technique » désignent "
                f"toutes deux « {TECHNICAL} »",
            )
        ],
    )


def test_parse_parc_versions_without_recognised_header():
    rows = [["Version", "Nom", "V1"], ["1.0", "Logiciel", "oui"]]

    result = parse(csv_bytes(rows))

    assert_fails(result, [(1, None, NO_HEADER)])


# Yes/no answers


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("oui", True),
        ("OUI", True),
        (" Oui ", True),
        ("o", True),
        ("O", True),
        ("x", True),
        ("X", True),
        ("1", True),
        ("vrai", True),
        ("TRUE", True),
        ("non", False),
        ("Non", False),
        ("n", False),
        ("N", False),
        ("0", False),
        ("FAUX", False),
        ("false", False),
    ],
)
def test_parse_parc_versions_yes_no_accepted_values(written, expected):
    result = parse_rows([row(v1=written)])

    assert result.errors == []
    assert result.versions[0].referenced_v1 is expected


def test_parse_parc_versions_xlsx_booleans_and_numbers():
    rows = [MODEL_HEADER, ["1.0", "A", True, False, None, 0, None], ["2.0", "B", 1, 0, None, 0.0]]

    result = parse(xlsx_bytes({"Parc": rows}), "parc.xlsx")

    assert result.errors == []
    assert [
        (v.referenced_v1, v.maintenance_end_notice, v.sale_end_notice) for v in result.versions
    ] == [(True, False, False), (True, False, False)]


@pytest.mark.parametrize("written", ["peut-être", "yes", "oui/non", "2", "-", "ouii"])
def test_parse_parc_versions_yes_no_unknown_value(written):
    result = parse_rows([row(maintenance=written)])

    assert_fails(
        result,
        [
            (
                2,
                MAINTENANCE,
                f"réponse « {written} » non reconnue : oui ou non attendu "
                "(sont aussi acceptés o, n, x pour oui, 1, 0, vrai, faux)",
            )
        ],
    )


def test_parse_parc_versions_yes_no_empty():
    result = parse_rows([row(v1="", maintenance=" ", sale="")])

    assert_fails(
        result,
        [(2, V1, YES_NO_EXPECTED), (2, MAINTENANCE, YES_NO_EXPECTED), (2, SALE, YES_NO_EXPECTED)],
    )


# URLs


def test_parse_parc_versions_url_required_when_notice_is_yes():
    result = parse_rows([row(maintenance="oui", sale="o")])

    assert_fails(
        result, [(2, MAINTENANCE_URL, MAINTENANCE_URL_MISSING), (2, SALE_URL, SALE_URL_MISSING)]
    )


def test_parse_parc_versions_url_given_while_notice_is_no():
    result = parse_rows(
        [row(maintenance="non", maintenance_url="https://editeur.example/fin", sale="n")]
    )

    assert_fails(
        result,
        [
            (
                2,
                MAINTENANCE_URL,
                f"URL donnée alors que « {MAINTENANCE} » vaut « non » : "
                "retirez l’URL ou répondez « oui »",
            )
        ],
    )


@pytest.mark.parametrize(
    "url",
    [
        "www.exemple.fr",
        "exemple.fr/fin-de-maintenance",
        "ftp://exemple.fr/fin-de-maintenance",
        "javascript:alert(1)",
        "https://",
        "https://exemple .fr/fin",
        "mailto:contact@exemple.fr",
    ],
)
def test_parse_parc_versions_invalid_url(url):
    result = parse_rows([row(sale="oui", sale_url=url)])

    assert_fails(result, [(2, SALE_URL, f"URL « {url} » {URL_FORMAT}")])


def test_parse_parc_versions_url_length_limit():
    prefix = "https://editeur.example/"
    longest = prefix + "a" * (500 - len(prefix))
    too_long = longest + "b"

    assert parse_rows([row(sale="oui", sale_url=longest)]).versions[0].sale_end_url == longest
    assert_fails(
        parse_rows([row(sale="oui", sale_url=too_long)]),
        [(2, SALE_URL, "URL trop longue (501 caractères, 500 au plus)")],
    )


# Versions and names


def test_parse_parc_versions_empty_version_and_name():
    result = parse_rows([row(technical="", commercial=""), row(technical=" ", commercial="A")])

    assert_fails(
        result,
        [
            (2, TECHNICAL, "numéro de version technique vide"),
            (2, COMMERCIAL, "nom de version commerciale vide"),
            (3, TECHNICAL, "numéro de version technique vide"),
        ],
    )


def test_parse_parc_versions_length_limits():
    fits = parse_rows([row(technical="v" * 100, commercial="n" * 200)])
    too_long = parse_rows([row(technical="v" * 101, commercial="n" * 201)])

    assert fits.errors == []
    assert_fails(
        too_long,
        [
            (2, TECHNICAL, "numéro de version technique trop long (101 caractères, 100 au plus)"),
            (2, COMMERCIAL, "nom de version commerciale trop long (201 caractères, 200 au plus)"),
        ],
    )


def test_parse_parc_versions_duplicate_technical_version():
    result = parse_rows(
        [
            row("V2.1", "Logiciel 2"),
            row("V2.2", "Logiciel 2"),
            row("v2.1", "Logiciel deux"),
            row("V2.2 ", "Logiciel 2"),
        ]
    )

    assert_fails(
        result,
        [
            (4, TECHNICAL, "version technique « v2.1 » déjà présente ligne 2"),
            (5, TECHNICAL, "version technique « V2.2 » déjà présente ligne 3"),
        ],
    )


def test_parse_parc_versions_reports_every_error_of_a_row_and_keeps_nothing():
    result = parse_rows([row("1.0"), row("", "", v1="?", maintenance="oui", sale_url="www.x.fr")])

    assert_fails(
        result,
        [
            (3, TECHNICAL, "numéro de version technique vide"),
            (3, COMMERCIAL, "nom de version commerciale vide"),
            (
                3,
                V1,
                "réponse « ? » non reconnue : oui ou non attendu "
                "(sont aussi acceptés o, n, x pour oui, 1, 0, vrai, faux)",
            ),
            (3, MAINTENANCE_URL, MAINTENANCE_URL_MISSING),
            (
                3,
                SALE_URL,
                f"URL donnée alors que « {SALE} » vaut « non » : retirez l’URL ou répondez « oui »",
            ),
        ],
    )


# Formulas


def test_parse_parc_versions_xlsx_formula_and_error_cells():
    rows = [
        [*MODEL_HEADER, "Total"],
        [*row("1.0"), "=1+1"],
        ["=A2", "Logiciel", "oui", "#N/A", None, "non", None],
        [None, None, None, None, '=CONCAT("https://", "x.fr")', None, None],
    ]

    result = parse(xlsx_bytes({"Parc": rows}), "parc.xlsx")

    assert_fails(
        result,
        [
            (3, TECHNICAL, FORMULA),
            (3, MAINTENANCE, "cellule en erreur (#N/A) : remplacez-la par sa valeur"),
            (4, MAINTENANCE_URL, FORMULA),
            (4, TECHNICAL, "numéro de version technique vide"),
            (4, COMMERCIAL, "nom de version commerciale vide"),
            (4, V1, YES_NO_EXPECTED),
            (4, MAINTENANCE, YES_NO_EXPECTED),
            (4, SALE, YES_NO_EXPECTED),
        ],
    )
    assert {issue.sheet for issue in result.errors} == {"Parc"}


def test_parse_parc_versions_csv_formula_text():
    result = parse_rows([row(maintenance="oui", maintenance_url='=HYPERLINK("https://x.example")')])

    assert_fails(result, [(2, MAINTENANCE_URL, FORMULA)])


# Sheets


def test_parse_parc_versions_xlsx_reads_first_sheet_only():
    data = xlsx_bytes(
        {
            "Parc": [MODEL_HEADER, row("1.0")],
            "Brouillon": [MODEL_HEADER, row("", "", v1="peut-être")],
        }
    )

    result = parse(data, "parc.xlsx")

    assert result.errors == []
    assert result.sheet == "Parc"
    assert [v.technical_version for v in result.versions] == ["1.0"]


def test_parse_parc_versions_xlsx_single_wave_named_sheet():
    result = parse(xlsx_bytes({"Vague 1": [MODEL_HEADER, row("1.0")]}), "parc.xlsx")

    assert result.errors == []
    assert result.sheet == "Vague 1"


@pytest.mark.parametrize(
    ("titles", "others"),
    [
        (["Vague 1", "Vague 2"], "« Vague 2 »"),
        (["Parc", "Versions vague 1"], "« Versions vague 1 »"),
        (["Parc", "Va1", "Va2"], "« Va1 », « Va2 »"),
    ],
)
def test_parse_parc_versions_xlsx_versions_split_over_wave_tabs(titles, others):
    data = xlsx_bytes({title: [MODEL_HEADER, row(str(n))] for n, title in enumerate(titles)})

    result = parse(data, "parc.xlsx")

    assert result.errors == [
        ImportIssue(
            titles[0],
            None,
            None,
            f"Seule la première feuille du classeur (« {titles[0]} ») est lue, mais d’autres "
            f"feuilles semblent contenir des versions ({others}) : réunissez toutes les "
            "versions dans la première feuille, puis supprimez ou renommez les autres.",
        )
    ]
    assert result.versions == []


def test_parse_parc_versions_csv_named_after_a_wave():
    result = parse(csv_bytes([MODEL_HEADER, row()]), "parc_vague1.csv")

    assert result.errors == []
    assert result.sheet == "parc_vague1.csv"


# Unreadable or empty files


def test_parse_parc_versions_header_without_data():
    assert_fails(parse(csv_bytes([MODEL_HEADER, [], ["", ""]])), [(None, None, NO_DATA)])
    assert_fails(parse(xlsx_bytes({"Parc": [MODEL_HEADER]}), "parc.xlsx"), [(None, None, NO_DATA)])


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "parc.csv", EMPTY_FILE),
        (b"Bonjour", "parc.xlsx", NOT_A_WORKBOOK),
        (b"PK\x03\x04 pas vraiment un zip", "parc.xlsx", NOT_A_WORKBOOK),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "parc.xls", XLS_NOT_SUPPORTED),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "parc.csv", BINARY_FILE),
        ("N° de version;é".encode() + b"\x81\xe9", "parc.csv", UNKNOWN_ENCODING),
    ],
)
def test_parse_parc_versions_unreadable_file(data, filename, message):
    result = parse(data, filename)

    assert result.errors == [ImportIssue(filename, None, None, message)]
    assert result.versions == []
    assert result.sheet == filename


def test_parse_parc_versions_blank_csv_and_sheet():
    assert_fails(parse(b"\r\n , \r\n\r\n"), [(None, None, EMPTY_FILE)])
    assert_fails(parse(xlsx_bytes({"Parc": []}), "parc.xlsx"), [(None, None, EMPTY_FILE)])


def test_parse_parc_versions_unreadable_csv_line():
    rows = [MODEL_HEADER, row("1.0"), row("2.0", "x" * (csv.field_size_limit() + 1))]

    result = parse(csv_bytes(rows))

    assert [(issue.row, issue.column) for issue in result.errors] == [(3, None)]
    assert result.errors[0].message.startswith("cellule trop longue")
    assert result.versions == []


def test_parse_parc_versions_stops_after_too_many_errors():
    result = parse_rows([row(technical="") for _ in range(MAX_ERRORS + 50)])

    assert len(result.errors) == MAX_ERRORS + 1
    assert result.errors[-1] == ImportIssue("parc.csv", None, None, TOO_MANY_ERRORS)
    assert result.errors[-2].row == MAX_ERRORS + 1
    assert result.versions == []


# Model file


def test_model_file_parses_without_error():
    with MODEL_FILE.open("rb") as file:
        result = parse_parc_versions(file, filename=MODEL_FILE.name)

    assert result.errors == []
    assert len(result.versions) == 2
    # The example rows are there to be replaced: the vendor is told if they are kept.
    assert result.warnings == [
        ImportIssue(MODEL_FILE.name, 2, None, EXAMPLE_ROW),
        ImportIssue(MODEL_FILE.name, 3, None, EXAMPLE_ROW),
    ]


def test_model_file_matches_model_header():
    assert MODEL_FILE.read_bytes() == model_csv()
    text = MODEL_FILE.read_text(encoding="utf-8-sig")
    assert next(csv.reader(io.StringIO(text), delimiter=";")) == MODEL_HEADER


def test_model_header_in_xlsx_parses_without_error():
    data = xlsx_bytes({"Parc": [MODEL_HEADER, row("8.0")]})

    result = parse(data, "parc.xlsx")

    assert result.errors == []
    assert result.warnings == []
