"""Reading a REM sheet into ParsedRem: rows checked, merged into requirements with
their scenarios and expected proofs. Nothing is saved here; any error means the caller
saves nothing, so a ParsedRem with errors carries no requirement."""

import re
from dataclasses import dataclass, field
from typing import BinaryIO

from candidatures.enums import Nature, Perimetre
from candidatures.rem_import.headers import REQUIRED, Columns, Field, map_columns
from candidatures.rem_import.infer import infer_proof_kind
from candidatures.rem_import.model import (
    ImportIssue,
    ParsedExigence,
    ParsedProof,
    ParsedRem,
    ParsedScenario,
)
from candidatures.rem_import.readers import EMPTY_FILE, ReadError, Sheet, open_sheets
from candidatures.rem_import.text import comparable, fold, html_to_text

MAX_ERRORS = 200
TOO_MANY_ERRORS = "… et d’autres erreurs : corrigez celles-ci d’abord."
# Title or blank lines may sit above the header; it is looked for in the first rows.
HEADER_SEARCH_ROWS = 10
DEFAULT_PROFILE = "Général"

NO_HEADER = (
    "Aucune ligne d’en-tête reconnue : la première ligne doit nommer les colonnes "
    "(« N° exigence », « Énoncé de l'exigence », « Profil »…)."
)
NO_DATA = "Aucune ligne de données sous l’en-tête."

_NATURES = {
    "exigence": Nature.EXIGENCE,
    "exigences": Nature.EXIGENCE,
    # Squash TM's category: CRI(tical) for a requirement, PRECO for a recommendation.
    "cri": Nature.EXIGENCE,
    "preconisation": Nature.PRECONISATION,
    "preconisations": Nature.PRECONISATION,
    "recommandation": Nature.PRECONISATION,
    "recommandations": Nature.PRECONISATION,
    "preco": Nature.PRECONISATION,
}
_CONDITIONAL_YES = {"oui"}
_CONDITIONAL_NO = {"non", ""}
_DASHES_RE = re.compile(r"-+")
_MUST_RE = re.compile(r"\bDOIT\b")
_MAY_RE = re.compile(r"\bPEUT\b")
_WAVE_PROFILE_RE = re.compile(r"va\s*([12])(?![0-9a-z])[\s:_-]*(.*)", re.IGNORECASE | re.DOTALL)
# "DMP/AIRS.06.01.02 : Message SOAP …": an identifier holds a digit and a dot, which
# keeps "Etapes : …" or "CAS 1 : …" continuation lines from passing for one.
_PROOF_LINE_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_./-]*)\s*:\s*(.*)", re.DOTALL)
_EMPTY_ID_LINE_RE = re.compile(r"\s*:")
_HAS_DIGIT_RE = re.compile(r"\d")


class _TooManyErrors(Exception):
    pass


@dataclass
class _ScenarioEntry:
    scenario: ParsedScenario
    text_key: str
    row: int
    proofs: dict[str, str] = field(default_factory=dict)


@dataclass
class _ExigenceEntry:
    exigence: ParsedExigence
    statement_key: str
    scenarios: dict[str, _ScenarioEntry] = field(default_factory=dict)


class _Reader:
    def __init__(self, *, filename: str, rem: str | None):
        self.filename = filename
        self.result = ParsedRem()
        self.rem = fold(rem).strip() if rem else None
        self.rem_written = rem
        self.entries: dict[str, _ExigenceEntry] = {}
        self.rem_values: dict[str, str] = {}
        self.rows_of_rem = 0

    # Issues

    def error(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        errors = self.result.errors
        if len(errors) >= MAX_ERRORS:
            errors.append(ImportIssue(sheet, None, None, TOO_MANY_ERRORS))
            raise _TooManyErrors
        errors.append(ImportIssue(sheet, row, column, message))

    def warning(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        self.result.warnings.append(ImportIssue(sheet, row, column, message))

    # Sheets

    def read_sheet(self, sheet: Sheet) -> str | None:
        """Reads one sheet; returns why it gave no data row ("empty", "no_data"), if so."""
        self.result.sheets.append(sheet.name)
        header_row, columns = self.find_header(sheet)
        if header_row is None:
            return "empty"
        if columns is None:
            self.error(sheet.name, header_row, None, NO_HEADER)
            return None
        if not self.check_columns(sheet.name, header_row, columns):
            return None
        rows_before = self.result.rows_read
        for number, values, problems in sheet.rows:
            if not "".join(values).strip():
                continue
            self.result.rows_read += 1
            self.read_row(sheet, columns, number, values, problems)
        if self.result.rows_read == rows_before:
            return "no_data"
        return None

    def find_header(self, sheet: Sheet) -> tuple[int | None, Columns | None]:
        seen = 0
        first_row = None
        for number, values, _problems in sheet.rows:
            if not "".join(values).strip():
                continue
            first_row = first_row or number
            columns = map_columns(values)
            if any(required in columns.index for required in REQUIRED) or (columns.recognised >= 2):
                return number, columns
            seen += 1
            if seen >= HEADER_SEARCH_ROWS:
                break
        return first_row, None

    def check_columns(self, sheet: str, row: int, columns: Columns) -> bool:
        ok = True
        for label in columns.missing_required():
            self.error(sheet, row, None, f'Colonne obligatoire absente : "{label}"')
            ok = False
        for pair in columns.proof_pairs:
            if pair.id_index is None:
                self.error(
                    sheet,
                    row,
                    pair.text_name,
                    f"colonne « N° preuve {pair.number} » absente pour « {pair.text_name} »",
                )
                ok = False
            elif pair.text_index is None:
                self.error(
                    sheet,
                    row,
                    pair.id_name,
                    f"colonne « Preuve {pair.number} » absente pour « {pair.id_name} »",
                )
                ok = False
        has_proofs = bool(columns.proof_pairs) or Field.PROOFS in columns.index
        if Field.SCENARIO_ID not in columns.index and (
            has_proofs or Field.SCENARIO_TEXT in columns.index
        ):
            self.error(
                sheet,
                row,
                None,
                'Colonne absente : "N° scénario" (les scénarios et les preuves s\'y rattachent)',
            )
            ok = False
        if self.rem is not None and Field.REM not in columns.index:
            self.error(
                sheet,
                row,
                None,
                "Colonne « REM » absente : impossible de ne garder que les lignes "
                "d’une REM dans ce fichier.",
            )
            ok = False
        return ok

    # Rows

    def read_row(
        self,
        sheet: Sheet,
        columns: Columns,
        number: int,
        values: list[str],
        problems: dict[int, str] | None,
    ) -> None:
        index = columns.index
        names = columns.name
        width = len(values)

        def text(which: Field) -> str:
            position = index.get(which)
            if position is None or position >= width:
                return ""
            return html_to_text(values[position])

        def fail(which: Field | None, message: str, column: str | None = None) -> None:
            self.error(sheet.name, number, column or (names.get(which) if which else None), message)

        if problems and (problems.keys() & {index.get(Field.REM), index.get(Field.STATUS)}):
            # A formula where the REM or the status is read would silently drop the row.
            for which in (Field.REM, Field.STATUS):
                if index.get(which) in problems:
                    fail(which, problems[index[which]])
            return
        if Field.REM in index:
            rem_value = text(Field.REM)
            if rem_value:
                self.rem_values.setdefault(fold(rem_value).strip(), rem_value)
            if self.rem is not None and fold(rem_value).strip() != self.rem:
                self.result.skipped_other_rem += 1
                return
            self.rows_of_rem += 1
        if Field.STATUS in index and fold(text(Field.STATUS)).startswith("obsolete"):
            self.result.skipped_obsolete += 1
            return

        errors_before = len(self.result.errors)
        if problems:
            used = columns.used_indexes()
            header = self.header_names(columns)
            for position, message in sorted(problems.items()):
                if position in used:
                    self.error(sheet.name, number, header.get(position), message)
            if len(self.result.errors) > errors_before:
                return

        identifier = text(Field.IDENTIFIER)
        statement = text(Field.STATEMENT)
        if not identifier:
            fail(Field.IDENTIFIER, "numéro d’exigence vide")
        if not statement:
            # The agency's own pre-publication sheets have such rows (DRIMbox SSI/IAM.94):
            # imported, and shown to the admin.
            self.warning(sheet.name, number, names[Field.STATEMENT], "énoncé de l’exigence vide")

        perimetre = sheet.perimetre
        profile = text(Field.PROFILE)
        if match := _WAVE_PROFILE_RE.fullmatch(profile):
            perimetre = Perimetre.VAGUE_1 if match[1] == "1" else Perimetre.VAGUE_2
            profile = match[2].strip()
        if not profile:
            profile = DEFAULT_PROFILE
            self.warning(
                sheet.name,
                number,
                names[Field.PROFILE],
                f"profil vide : l’exigence est rattachée au profil « {DEFAULT_PROFILE} »",
            )

        nature_inferred = Field.NATURE not in index
        if nature_inferred:
            nature = (
                Nature.PRECONISATION
                if _MAY_RE.search(statement) and not _MUST_RE.search(statement)
                else Nature.EXIGENCE
            )
        else:
            written = text(Field.NATURE)
            nature = _NATURES.get(fold(written).strip())
            if nature is None:
                fail(
                    Field.NATURE,
                    f"nature « {written} » inconnue : EXIGENCE ou PRECONISATION attendue",
                )

        conditional = False
        if Field.CONDITIONAL in index:
            written = text(Field.CONDITIONAL)
            folded = fold(written).strip()
            if folded in _CONDITIONAL_YES:
                conditional = True
            elif not (folded in _CONDITIONAL_NO or _DASHES_RE.fullmatch(folded)):
                fail(Field.CONDITIONAL, f"valeur « {written} » inconnue : OUI ou NON attendu")

        id_section = text(Field.ID_SECTION)
        section = text(Field.SECTION)
        if Field.SQUASH_SECTION in index:
            squash_id, separator, squash_title = text(Field.SQUASH_SECTION).partition("_")
            if not separator:
                squash_id, squash_title = "", squash_id
            id_section = id_section or squash_id.strip()
            section = section or squash_title.strip()

        scenario_id = text(Field.SCENARIO_ID)
        scenario_text = text(Field.SCENARIO_TEXT)
        if scenario_text and not scenario_id:
            fail(Field.SCENARIO_TEXT, "scénario sans numéro de scénario")
        proofs = self.row_proofs(sheet, columns, number, values)
        if proofs and not scenario_id:
            fail(None, "preuve sur une ligne sans scénario", column=proofs[0][2])

        if len(self.result.errors) > errors_before:
            return

        exigence = ParsedExigence(
            identifier=identifier,
            statement=statement,
            profile=profile,
            perimetre=perimetre,
            nature=nature,
            nature_inferred=nature_inferred,
            conditional=conditional,
            numero=text(Field.NUMERO),
            id_section=id_section,
            section=section,
            bloc=text(Field.BLOC),
            fonction=text(Field.FONCTION),
            sheet=sheet.name,
            row=number,
        )
        entry = self.merge_exigence(sheet, columns, number, exigence)
        if entry is None or not scenario_id:
            return
        if not scenario_text:
            self.warning(
                sheet.name,
                number,
                names.get(Field.SCENARIO_TEXT),
                f"scénario « {scenario_id} » sans texte",
            )
        self.merge_scenario(sheet, columns, number, entry, scenario_id, scenario_text, proofs)

    @staticmethod
    def header_names(columns: Columns) -> dict[int, str]:
        header = {position: columns.name[which] for which, position in columns.index.items()}
        for pair in columns.proof_pairs:
            header[pair.id_index] = pair.id_name
            header[pair.text_index] = pair.text_name
        return header

    def row_proofs(
        self, sheet: Sheet, columns: Columns, number: int, values: list[str]
    ) -> list[tuple[str, str, str]]:
        """The row's proofs as (identifier, text, column)."""
        proofs: dict[str, tuple[str, str, str]] = {}
        width = len(values)

        def add(proof_id: str, proof_text: str, column: str) -> None:
            known = proofs.get(proof_id)
            if known is None:
                proofs[proof_id] = (proof_id, proof_text, column)
            elif comparable(known[1]) != comparable(proof_text):
                # One row numbering two proofs alike is a typo of the sheet's author
                # (SSI/IAM.80.03 in the multi-REM sheet): the first is kept, and said so.
                self.warning(
                    sheet.name,
                    number,
                    column,
                    f"deux preuves « {proof_id} » aux textes différents sur la ligne : "
                    f"seule la première est gardée, « {_shorten(proof_text)} » est ignorée",
                )

        for pair in columns.proof_pairs:
            raw_id = values[pair.id_index] if pair.id_index < width else ""
            raw_text = values[pair.text_index] if pair.text_index < width else ""
            if not raw_id and not raw_text:
                continue
            proof_id = html_to_text(raw_id)
            proof_text = html_to_text(raw_text)
            if proof_id and proof_text:
                add(proof_id, proof_text, pair.text_name)
            elif proof_text:
                self.error(
                    sheet.name,
                    number,
                    pair.id_name,
                    f"preuve sans numéro : « {pair.id_name} » est vide "
                    f"alors que « {pair.text_name} » est rempli",
                )
            elif proof_id:
                self.error(sheet.name, number, pair.text_name, f"preuve « {proof_id} » sans texte")
        position = columns.index.get(Field.PROOFS)
        if position is not None and position < width:
            column = columns.name[Field.PROOFS]
            entries, issues = split_proofs(html_to_text(values[position]))
            for message, is_error in issues:
                if is_error:
                    self.error(sheet.name, number, column, message)
                else:
                    self.warning(sheet.name, number, column, message)
            for proof_id, proof_text in entries:
                add(proof_id, proof_text, column)
        return list(proofs.values())

    def merge_exigence(
        self, sheet: Sheet, columns: Columns, number: int, exigence: ParsedExigence
    ) -> _ExigenceEntry | None:
        key = comparable(exigence.statement)
        entry = self.entries.get(exigence.identifier)
        if entry is None:
            entry = _ExigenceEntry(exigence, key)
            self.entries[exigence.identifier] = entry
            self.result.exigences.append(exigence)
            return entry
        first = entry.exigence
        where = _where(first.sheet, first.row, sheet.name)
        clashes = [
            (Field.STATEMENT, "un autre énoncé", entry.statement_key != key),
            (Field.PROFILE, f"le profil « {first.profile} »", first.profile != exigence.profile),
            (
                Field.NATURE,
                f"la nature « {first.nature.label} »",
                Field.NATURE in columns.index and first.nature != exigence.nature,
            ),
            (
                None,
                f"le périmètre « {first.perimetre.label} »",
                first.perimetre != exigence.perimetre,
            ),
        ]
        clashed = False
        for which, what, differs in clashes:
            if differs:
                clashed = True
                self.error(
                    sheet.name,
                    number,
                    columns.name.get(which) if which else None,
                    f"l’exigence « {exigence.identifier} » figure déjà {where} avec {what}",
                )
        return None if clashed else entry

    def merge_scenario(
        self,
        sheet: Sheet,
        columns: Columns,
        number: int,
        entry: _ExigenceEntry,
        scenario_id: str,
        scenario_text: str,
        proofs: list[tuple[str, str, str]],
    ) -> None:
        key = comparable(scenario_text)
        scenario_entry = entry.scenarios.get(scenario_id)
        if scenario_entry is None:
            scenario_entry = _ScenarioEntry(ParsedScenario(scenario_id, scenario_text), key, number)
            entry.scenarios[scenario_id] = scenario_entry
            entry.exigence.scenarios.append(scenario_entry.scenario)
        elif scenario_entry.text_key != key:
            self.error(
                sheet.name,
                number,
                columns.name.get(Field.SCENARIO_TEXT),
                f"le scénario « {scenario_id} » de l’exigence « {entry.exigence.identifier} » "
                f"figure déjà ligne {scenario_entry.row} avec un autre texte",
            )
            return
        for proof_id, proof_text, column in proofs:
            proof_key = comparable(proof_text)
            known = scenario_entry.proofs.get(proof_id)
            if known is None:
                scenario_entry.proofs[proof_id] = proof_key
                kind, rule = infer_proof_kind(proof_text)
                scenario_entry.scenario.proofs.append(
                    ParsedProof(proof_id, proof_text, kind=kind, kind_rule=rule)
                )
            elif known != proof_key:
                self.error(
                    sheet.name,
                    number,
                    column,
                    f"la preuve « {proof_id} » du scénario « {scenario_id} » "
                    "figure déjà avec un autre texte",
                )

    # End

    def finish(self, sheets: list[Sheet], outcomes: dict[str, str]) -> None:
        first = sheets[0].name if sheets else self.filename
        if self.result.rows_read == 0:
            for name, outcome in outcomes.items():
                self.error(name, None, None, EMPTY_FILE if outcome == "empty" else NO_DATA)
            if not self.result.errors:
                # A workbook without any worksheet.
                self.error(first, None, None, EMPTY_FILE)
            return
        for name, outcome in outcomes.items():
            message = "La feuille est vide." if outcome == "empty" else NO_DATA
            self.warning(name, None, None, message)
        present = ", ".join(sorted(self.rem_values.values(), key=fold))
        if self.rem is not None and self.rows_of_rem == 0 and not self.result.errors:
            self.error(
                first,
                None,
                "REM",
                f"Aucune ligne de la REM « {self.rem_written} » (REM présentes : {present}).",
            )
        elif self.rem is None and len(self.rem_values) > 1:
            self.error(
                first,
                None,
                "REM",
                f"Le fichier contient plusieurs REM ({present}) : précisez celle à importer.",
            )
        if not self.result.exigences and not self.result.errors:
            self.error(
                first,
                None,
                None,
                f"Aucune exigence à importer : {self.result.skipped_obsolete} ligne(s) "
                "obsolète(s) ignorée(s).",
            )


def _where(first_sheet: str, first_row: int, sheet: str) -> str:
    if first_sheet == sheet:
        return f"ligne {first_row}"
    return f"feuille « {first_sheet} », ligne {first_row}"


def split_proofs(cell: str) -> tuple[list[tuple[str, str]], list[tuple[str, bool]]]:
    """The entries of a single "preuve" cell as (identifier, text), and its problems as
    (message, is an error). One entry per "ID : texte" line; the lines that follow, up
    to the next entry, continue its text."""
    entries: list[list[str]] = []
    issues: list[tuple[str, bool]] = []
    for line in cell.split("\n"):
        if not line.strip():
            if entries:
                entries[-1].append("")
            continue
        if _EMPTY_ID_LINE_RE.match(line):
            # " : texte", written where an identifier was forgotten, is in the agency's
            # own sheets: the line is left out, and the admin told.
            issues.append((_unnumbered_line(line), False))
            continue
        match = _PROOF_LINE_RE.fullmatch(line.strip())
        if match and "." in match[1] and _HAS_DIGIT_RE.search(match[1]):
            entries.append([match[1], match[2]])
        elif entries:
            entries[-1].append(line)
        else:
            issues.append(
                (
                    f"preuve sans numéro : « {_shorten(line)} » ; chaque preuve s’écrit "
                    "« N° preuve : texte », une par ligne",
                    True,
                )
            )
    proofs = []
    for identifier, *lines in entries:
        text = html_to_text("\n".join(lines))
        if text:
            proofs.append((identifier, text))
        else:
            issues.append((f"preuve « {identifier} » sans texte", True))
    return proofs, issues


def _unnumbered_line(line: str) -> str:
    text = line.strip().removeprefix(":").strip()
    if not text:
        return "ligne « : » sans numéro ni texte de preuve, ignorée"
    return f"preuve sans numéro ignorée : « {_shorten(text)} »"


def _shorten(text: str, length: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def parse_rem(
    file: BinaryIO,
    *,
    filename: str,
    default_perimetre: Perimetre = Perimetre.VAGUE_2,
    rem: str | None = None,
) -> ParsedRem:
    """Reads a REM sheet (XLSX or CSV, told apart by content) without saving anything.

    `file` is a binary, seekable file object; it is left open. `rem` keeps only the rows
    of that REM in a multi-REM sheet ("BIO", "DB"…). Any error leaves
    `ParsedRem.exigences` empty and `ParsedRem.ok` false."""
    reader = _Reader(filename=filename, rem=rem)
    try:
        with open_sheets(file, filename=filename, default_perimetre=default_perimetre) as sheets:
            outcomes = {}
            try:
                for sheet in sheets:
                    try:
                        outcome = reader.read_sheet(sheet)
                    except ReadError as error:
                        reader.error(sheet.name, error.row, None, error.message)
                        continue
                    if outcome:
                        outcomes[sheet.name] = outcome
                reader.finish(sheets, outcomes)
            except _TooManyErrors:
                pass
    except ReadError as error:
        reader.result.errors.append(ImportIssue(filename, error.row, None, error.message))
    result = reader.result
    if result.errors:
        result.exigences = []
    return result
