"""The list of the versions of a software installed in its customer base ("liste des
versions existantes dans le parc client", 001 §4.3), read from the vendor's XLSX or CSV
file. The portal publishes it as soon as it is received: a file with any error gives no
version at all, and every error says where it is. Nothing is saved here."""

import csv
import enum
import io
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from openpyxl import load_workbook

from candidatures.enums import Perimetre
from candidatures.rem_import.headers import normalize_header
from candidatures.rem_import.model import ImportIssue
from candidatures.rem_import.parser import MAX_ERRORS, NO_DATA, TOO_MANY_ERRORS
from candidatures.rem_import.readers import (
    EMPTY_FILE,
    FORMULA,
    NOT_A_WORKBOOK,
    ZIP_MAGIC,
    ReadError,
    Sheet,
    open_sheets,
    sheet_perimetre,
)
from candidatures.rem_import.text import fold, html_to_text

MAX_TECHNICAL_VERSION = 100
MAX_COMMERCIAL_NAME = 200
MAX_URL = 500
# Title or blank lines may sit above the header; it is looked for in the first rows.
HEADER_SEARCH_ROWS = 10
# A customer base lists the versions in service: a few dozen, a few hundred for the
# largest editors. Past these caps the file is refused as soon as the reader gets there,
# without reading the rest (a 200,000-row sheet kept a worker busy for 86 s).
MAX_ROWS = 5_000
MAX_CELLS = 200_000
TOO_MANY_ROWS = (
    "La liste dépasse {max_rows} lignes : une liste des versions en service n’en compte "
    "pas autant. Retirez les lignes vides ou inutiles, puis déposez-la de nouveau."
)
TOO_MANY_CELLS = (
    "La feuille contient trop de cellules (plus de {max_cells}) : gardez seulement les "
    "colonnes du modèle, puis déposez-la de nouveau."
)


class Column(enum.StrEnum):
    TECHNICAL_VERSION = "technical_version"
    COMMERCIAL_NAME = "commercial_name"
    REFERENCED_V1 = "referenced_v1"
    MAINTENANCE_END_NOTICE = "maintenance_end_notice"
    MAINTENANCE_END_URL = "maintenance_end_url"
    SALE_END_NOTICE = "sale_end_notice"
    SALE_END_URL = "sale_end_url"


# The model's header, in the words of 001 §4.3; every column is required.
LABELS: dict[Column, str] = {
    Column.TECHNICAL_VERSION: "N° de version technique",
    Column.COMMERCIAL_NAME: "Nom de version commerciale",
    Column.REFERENCED_V1: "Référencée en vague 1 (oui/non)",
    Column.MAINTENANCE_END_NOTICE: "Communication publique d’arrêt de maintenance (oui/non)",
    Column.MAINTENANCE_END_URL: "URL de la communication d’arrêt de maintenance",
    Column.SALE_END_NOTICE: "Communication publique d’arrêt de commercialisation (oui/non)",
    Column.SALE_END_URL: "URL de la communication d’arrêt de commercialisation",
}
MODEL_HEADER = list(LABELS.values())
MODEL_EXAMPLE_ROWS = [
    ["4.2.1", "Logiciel Exemple 4", "non", "non", "", "non", ""],
    [
        "3.9.7",
        "Logiciel Exemple 3",
        "oui",
        "oui",
        "https://www.example.com/communiques/fin-de-maintenance-v3",
        "oui",
        "https://www.example.com/communiques/fin-de-commercialisation-v3",
    ],
]
EXAMPLE_ROW = (
    "ligne d’exemple du modèle : remplacez-la par une version de votre parc ou supprimez-la"
)

NO_HEADER = (
    "Aucune ligne d’en-tête reconnue : la première ligne doit nommer les colonnes "
    "(« N° de version technique », « Nom de version commerciale »…)."
)
YES_NO_EXPECTED = "réponse attendue : oui ou non"
OTHER_VERSION_SHEETS = (
    "Seule la première feuille du classeur (« {first} ») est lue, mais d’autres feuilles "
    "semblent contenir des versions ({others}) : réunissez toutes les versions dans la "
    "première feuille, puis supprimez ou renommez les autres."
)

_YES = frozenset({"oui", "o", "x", "1", "vrai", "true"})
_NO = frozenset({"non", "n", "0", "faux", "false"})
_PARENTHESES_RE = re.compile(r"\([^()]*\)")
_validate_url = URLValidator(schemes=["http", "https"])


def _notice_names(subject: str) -> set[str]:
    """ "Communication publique d’arrêt de maintenance", "Arrêt de la maintenance",
    "Communication de fin de maintenance"… normalised."""
    subjects = {
        f"{stop}{link}{subject}" for stop in ("arret", "fin") for link in ("de", "dela", "")
    }
    names = set(subjects)
    for public in ("publique", ""):
        for link in ("d", "de", "del", "dela", "du", ""):
            names.update(f"communication{public}{link}{name}" for name in subjects)
    return names


def _url_names(notices: set[str]) -> set[str]:
    """ "URL de la communication d’arrêt de maintenance", "Lien vers la communication…"."""
    return {
        f"{url}{link}{notice}"
        for url in ("url", "lien", "lienurl", "adresse", "adresseurl")
        for link in ("", "d", "de", "del", "dela", "du", "vers", "versla")
        for notice in notices
    }


_MAINTENANCE_NOTICES = _notice_names("maintenance")
_SALE_NOTICES = _notice_names("commercialisation")
_NAMES: dict[Column, set[str]] = {
    Column.TECHNICAL_VERSION: {
        "numerodeversiontechnique",
        "numeroversiontechnique",
        "numerodelaversiontechnique",
        "versiontechnique",
        "numerodeversion",
        "numeroversion",
    },
    Column.COMMERCIAL_NAME: {
        "nomdeversioncommerciale",
        "nomversioncommerciale",
        "nomdelaversioncommerciale",
        "versioncommerciale",
        "nomcommercial",
        "nomcommercialdeversion",
        "nomcommercialdelaversion",
        "denominationcommerciale",
    },
    Column.REFERENCED_V1: {
        f"{prefix}{word}{middle}{wave}"
        for prefix in ("", "version", "deja", "versiondeja")
        for word in ("referencee", "reference", "referencees", "references", "referencement")
        for middle in ("", "en", "dans", "dansla", "segur", "seguren", "ensegur", "ensegurvague")
        for wave in ("vague1", "va1")
    },
    Column.MAINTENANCE_END_NOTICE: _MAINTENANCE_NOTICES,
    Column.MAINTENANCE_END_URL: _url_names(_MAINTENANCE_NOTICES),
    Column.SALE_END_NOTICE: _SALE_NOTICES,
    Column.SALE_END_URL: _url_names(_SALE_NOTICES),
}
_LOOKUP = {name: column for column, names in _NAMES.items() for name in names}
_NOTICE_OF_URL = {
    Column.MAINTENANCE_END_URL: Column.MAINTENANCE_END_NOTICE,
    Column.SALE_END_URL: Column.SALE_END_NOTICE,
}


def _header_key(written: str) -> str:
    """ "Référencée en vague 1 (oui/non)", "REFERENCEE EN VAGUE 1 OUI/NON" →
    "referenceeenvague1": case, accents, punctuation and the reminders of the expected
    answers are ignored, and "N°", "No", "Numéro" are one word."""
    return normalize_header(_PARENTHESES_RE.sub(" ", written)).removesuffix("ouinon")


@dataclass
class VersionParc:
    technical_version: str
    commercial_name: str
    referenced_v1: bool
    maintenance_end_notice: bool
    maintenance_end_url: str
    sale_end_notice: bool
    sale_end_url: str
    # As numbered in the spreadsheet, header = 1.
    row: int


@dataclass
class ParsedParc:
    versions: list[VersionParc] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    # Not errors: what the vendor should look at before the list goes public.
    warnings: list[ImportIssue] = field(default_factory=list)
    # The sheet read: the tab's name for a workbook, the file's name for a CSV.
    sheet: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


class _TooManyErrors(Exception):
    pass


@dataclass
class _Columns:
    index: dict[Column, int] = field(default_factory=dict)
    name: dict[Column, str] = field(default_factory=dict)
    # (column, first header, second header) for two headers naming one column.
    doubles: list[tuple[Column, str, str]] = field(default_factory=list)


def _map_columns(values: list[str]) -> _Columns:
    columns = _Columns()
    for position, raw in enumerate(values):
        written = " ".join(raw.split())
        column = _LOOKUP.get(_header_key(written))
        if column is None:
            continue
        if column in columns.index:
            columns.doubles.append((column, columns.name[column], written))
            continue
        columns.index[column] = position
        columns.name[column] = written
    return columns


def _one_line(value: str) -> str:
    return " ".join(html_to_text(value).split())


def _shorten(text: str, length: int = 80) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


class _Reader:
    def __init__(self, result: ParsedParc):
        self.result = result
        # Technical versions met so far, by case-folded text: the row of the first.
        self.seen: dict[str, int] = {}
        self.examples = {(row[0], row[1]) for row in MODEL_EXAMPLE_ROWS}
        self.rows_seen = 0
        self.cells_seen = 0

    def error(self, row: int | None, column: str | None, message: str) -> None:
        errors = self.result.errors
        if len(errors) >= MAX_ERRORS:
            errors.append(ImportIssue(self.result.sheet, None, None, TOO_MANY_ERRORS))
            raise _TooManyErrors
        errors.append(ImportIssue(self.result.sheet, row, column, message))

    def read(self, file: BinaryIO, sheets: list[Sheet], *, workbook: bool) -> None:
        if not sheets:
            # A workbook without any worksheet.
            self.error(None, None, EMPTY_FILE)
            return
        sheet = sheets[0]
        self.result.sheet = sheet.name
        if workbook and (len(sheets) > 1 or sheet_perimetre(sheet.name) is not None):
            # A tab named after a wave made the REM reader pick it instead of the first
            # sheet; versions split into "Vague 1" and "Vague 2" tabs must not be half read.
            first = _first_sheet_title(file)
            others = [other.name for other in sheets if other.name != first]
            if others:
                self.result.sheet = first
                names = ", ".join(f"« {name} »" for name in others)
                self.error(None, None, OTHER_VERSION_SHEETS.format(first=first, others=names))
                return
        self.read_sheet(sheet)

    def read_sheet(self, sheet: Sheet) -> None:
        header_row, columns = self.find_header(sheet)
        if header_row is None:
            self.error(None, None, EMPTY_FILE)
            return
        if columns is None:
            self.error(header_row, None, NO_HEADER)
            return
        if not self.check_columns(header_row, columns):
            return
        used = set(columns.index.values())
        rows_read = 0
        for number, values, problems in self.capped(sheet.rows):
            if problems:
                problems = {position: problems[position] for position in problems.keys() & used}
            if not problems and not "".join(values).strip():
                continue
            rows_read += 1
            self.read_row(columns, number, values, problems)
        if not rows_read:
            self.error(None, None, NO_DATA)

    def capped(self, rows):
        """The rows, until a cap is passed: then an error, and reading stops there."""
        for number, values, problems in rows:
            self.rows_seen += 1
            self.cells_seen += len(values)
            if self.rows_seen > MAX_ROWS:
                self.error(
                    number,
                    None,
                    TOO_MANY_ROWS.format(max_rows=f"{MAX_ROWS:,}".replace(",", "\u202f")),
                )
                raise _TooManyErrors
            if self.cells_seen > MAX_CELLS:
                self.error(
                    number,
                    None,
                    TOO_MANY_CELLS.format(max_cells=f"{MAX_CELLS:,}".replace(",", "\u202f")),
                )
                raise _TooManyErrors
            yield number, values, problems

    def find_header(self, sheet: Sheet) -> tuple[int | None, _Columns | None]:
        seen = 0
        first_row = None
        for number, values, _problems in self.capped(sheet.rows):
            if not "".join(values).strip():
                continue
            first_row = first_row or number
            columns = _map_columns(values)
            if columns.index:
                return number, columns
            seen += 1
            if seen >= HEADER_SEARCH_ROWS:
                break
        return first_row, None

    def check_columns(self, row: int, columns: _Columns) -> bool:
        ok = True
        for column, first, second in columns.doubles:
            self.error(
                row,
                second,
                f"colonne en double : « {first} » et « {second} » désignent toutes deux "
                f"« {LABELS[column]} »",
            )
            ok = False
        for column, label in LABELS.items():
            if column not in columns.index:
                self.error(row, None, f"Colonne obligatoire absente : « {label} »")
                ok = False
        return ok

    def read_row(
        self, columns: _Columns, number: int, values: list[str], problems: dict[int, str] | None
    ) -> None:
        names = columns.name
        errors_before = len(self.result.errors)
        # A cell's text, or None when it holds no value to read (a formula, an error).
        cells: dict[Column, str | None] = {}
        for column, position in columns.index.items():
            raw = values[position] if position < len(values) else ""
            if problems and position in problems:
                self.error(number, names[column], problems[position])
                cells[column] = None
            elif raw[:1] == "=" and len(raw) > 1:
                # The formula itself, as a CSV written "with formulas" holds it.
                self.error(number, names[column], FORMULA)
                cells[column] = None
            else:
                cells[column] = _one_line(raw)

        technical_version = cells[Column.TECHNICAL_VERSION]
        column = names[Column.TECHNICAL_VERSION]
        if technical_version == "":
            self.error(number, column, "numéro de version technique vide")
        elif technical_version is not None and len(technical_version) > MAX_TECHNICAL_VERSION:
            self.error(
                number,
                column,
                f"numéro de version technique trop long ({len(technical_version)} caractères, "
                f"{MAX_TECHNICAL_VERSION} au plus)",
            )
        elif technical_version is not None:
            # "V2.1" and "v2.1" would read as one version on the public page.
            first_row = self.seen.setdefault(technical_version.casefold(), number)
            if first_row != number:
                self.error(
                    number,
                    column,
                    f"version technique « {technical_version} » déjà présente ligne {first_row}",
                )

        commercial_name = cells[Column.COMMERCIAL_NAME]
        column = names[Column.COMMERCIAL_NAME]
        if commercial_name == "":
            self.error(number, column, "nom de version commerciale vide")
        elif commercial_name is not None and len(commercial_name) > MAX_COMMERCIAL_NAME:
            self.error(
                number,
                column,
                f"nom de version commerciale trop long ({len(commercial_name)} caractères, "
                f"{MAX_COMMERCIAL_NAME} au plus)",
            )

        answers = {
            column: self.yes_no(number, names[column], cells[column])
            for column in (
                Column.REFERENCED_V1,
                Column.MAINTENANCE_END_NOTICE,
                Column.SALE_END_NOTICE,
            )
        }
        urls = {
            column: self.url(number, columns, column, cells[column], answers[notice])
            for column, notice in _NOTICE_OF_URL.items()
        }

        if len(self.result.errors) > errors_before:
            return
        if (technical_version, commercial_name) in self.examples:
            self.result.warnings.append(ImportIssue(self.result.sheet, number, None, EXAMPLE_ROW))
        self.result.versions.append(
            VersionParc(
                technical_version=technical_version,
                commercial_name=commercial_name,
                referenced_v1=answers[Column.REFERENCED_V1],
                maintenance_end_notice=answers[Column.MAINTENANCE_END_NOTICE],
                maintenance_end_url=urls[Column.MAINTENANCE_END_URL],
                sale_end_notice=answers[Column.SALE_END_NOTICE],
                sale_end_url=urls[Column.SALE_END_URL],
                row=number,
            )
        )

    def yes_no(self, number: int, column: str, text: str | None) -> bool | None:
        if text is None:
            return None
        folded = fold(text)
        if folded in _YES:
            return True
        if folded in _NO:
            return False
        if not text:
            self.error(number, column, YES_NO_EXPECTED)
        else:
            self.error(
                number,
                column,
                f"réponse « {_shorten(text)} » non reconnue : oui ou non attendu "
                "(sont aussi acceptés o, n, x pour oui, 1, 0, vrai, faux)",
            )
        return None

    def url(
        self, number: int, columns: _Columns, which: Column, url: str | None, notice: bool | None
    ) -> str:
        if url is None:
            return ""
        column = columns.name[which]
        notice_column = columns.name[_NOTICE_OF_URL[which]]
        if not url:
            if notice:
                self.error(number, column, f"URL attendue : « {notice_column} » vaut « oui »")
            return ""
        if notice is False:
            self.error(
                number,
                column,
                f"URL donnée alors que « {notice_column} » vaut « non » : "
                "retirez l’URL ou répondez « oui »",
            )
            return ""
        if len(url) > MAX_URL:
            self.error(
                number, column, f"URL trop longue ({len(url)} caractères, {MAX_URL} au plus)"
            )
            return ""
        try:
            _validate_url(url)
        except ValidationError:
            self.error(
                number,
                column,
                f"URL « {_shorten(url)} » invalide : adresse web complète attendue, "
                "commençant par https:// ou http://",
            )
            return ""
        return url


def _first_sheet_title(file: BinaryIO) -> str:
    file.seek(0)
    try:
        workbook = load_workbook(file, read_only=True)
    except Warning:
        raise
    except Exception as error:
        raise ReadError(NOT_A_WORKBOOK) from error
    try:
        return workbook.worksheets[0].title
    finally:
        workbook.close()


def parse_parc_versions(file: BinaryIO, *, filename: str) -> ParsedParc:
    """Reads the customer-base version list (XLSX or CSV, told apart by content) without
    saving anything. `file` is a binary, seekable file object; it is left open. Any error
    leaves `ParsedParc.versions` empty and `ParsedParc.ok` false."""
    result = ParsedParc(sheet=filename)
    reader = _Reader(result)
    file.seek(0)
    workbook = file.read(len(ZIP_MAGIC)) == ZIP_MAGIC
    file.seek(0)
    try:
        # The wave is a REM notion: any will do.
        with open_sheets(file, filename=filename, default_perimetre=Perimetre.VAGUE_2) as sheets:
            try:
                reader.read(file, sheets, workbook=workbook)
            except ReadError as error:
                result.errors.append(ImportIssue(result.sheet, error.row, None, error.message))
            except _TooManyErrors:
                pass
    except ReadError as error:
        result.errors.append(ImportIssue(filename, error.row, None, error.message))
    if result.errors:
        result.versions = []
    return result


def model_csv() -> bytes:
    """The model file vendors fill in: UTF-8 with a byte order mark and semicolons, as
    Excel opens it in French without asking."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(MODEL_HEADER)
    writer.writerows(MODEL_EXAMPLE_ROWS)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
