"""Rows of a REM file, XLSX or CSV, read as a stream: the whole sheet never sits in
memory. The reader is chosen from the file's content, the name only breaks ties."""

import codecs
import csv
import datetime
import io
import itertools
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO

from openpyxl import load_workbook

from candidatures.enums import Perimetre
from candidatures.rem_import.text import fold

ZIP_MAGIC = b"PK\x03\x04"
# Excel 97-2003 (.xls) and other OLE compound documents.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XLSX_SUFFIXES = (".xlsx", ".xlsm")
# A REM's shared strings weigh a few megabytes; beyond this, the workbook is a zip bomb
# or not a REM, and openpyxl would load it whole into memory.
MAX_SHARED_STRINGS_BYTES = 100 * 2**20
_CHUNK_BYTES = 2**20
# Bytes that Windows-1252 leaves undefined: a file holding one is not Windows-1252.
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")

NOT_A_WORKBOOK = "Le fichier n’est pas un classeur Excel (.xlsx) lisible."
XLS_NOT_SUPPORTED = (
    "Le fichier est au format Excel 97-2003 (.xls), qui n’est pas pris en charge : "
    "enregistrez-le au format .xlsx."
)
EMPTY_FILE = "Le fichier est vide."
BINARY_FILE = "Le fichier n’est ni un classeur Excel (.xlsx) ni un fichier CSV lisible."
UNKNOWN_ENCODING = (
    "Le fichier CSV n’est ni en UTF-8 ni en Windows-1252 : enregistrez-le au format « CSV UTF-8 »."
)
WORKBOOK_TOO_LARGE = "Le classeur est trop volumineux une fois décompressé pour être une REM."
UNREADABLE_SHEET = "la feuille est endommagée : la lecture s’arrête à cette ligne"
FORMULA = "cellule contenant une formule : remplacez-la par sa valeur"

_WAVE_RE = re.compile(r"\b(?:vague|va)\s*([12])\b")
_NOT_ALNUM_RE = re.compile(r"[^a-z0-9]+")


class ReadError(Exception):
    """The file, or a row of it, cannot be read at all."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.message = message
        self.row = row


# A data row: its number in the spreadsheet, its cells as text, and the cells that
# cannot be taken as values (formulas, errors), by column index.
Row = tuple[int, list[str], dict[int, str] | None]


@dataclass
class Sheet:
    name: str
    perimetre: Perimetre
    rows: Iterator[Row]


def sheet_perimetre(title: str) -> Perimetre | None:
    """The wave a tab's name says: "Vague 1", "VAGUE 2", "Périmètre vague 1", "Va1"."""
    match = _WAVE_RE.search(_NOT_ALNUM_RE.sub(" ", fold(title)))
    if match is None:
        return None
    return Perimetre.VAGUE_1 if match[1] == "1" else Perimetre.VAGUE_2


@contextmanager
def open_sheets(
    file: BinaryIO, *, filename: str, default_perimetre: Perimetre
) -> Iterator[list[Sheet]]:
    """The sheets to read, as lazy row iterators valid inside the `with` block.
    Raises ReadError when the file is not a readable workbook or CSV."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    if not head:
        raise ReadError(EMPTY_FILE)
    if head.startswith(OLE_MAGIC):
        raise ReadError(XLS_NOT_SUPPORTED)
    if head.startswith(ZIP_MAGIC):
        with _xlsx_sheets(file, default_perimetre) as sheets:
            yield sheets
        return
    if PurePath(filename).suffix.lower() in XLSX_SUFFIXES:
        raise ReadError(NOT_A_WORKBOOK)
    with _csv_sheet(file, PurePath(filename).name or filename, default_perimetre) as sheet:
        yield [sheet]


@contextmanager
def _xlsx_sheets(file: BinaryIO, default_perimetre: Perimetre) -> Iterator[list[Sheet]]:
    _check_archive(file)
    try:
        workbook = load_workbook(file, read_only=True, data_only=False)
    except Warning:
        raise
    except Exception as error:
        # openpyxl fails in many ways on a zip that is not a workbook (KeyError,
        # ValueError, InvalidFileException…): all mean the same to the user.
        raise ReadError(NOT_A_WORKBOOK) from error
    generators = []
    try:
        worksheets = workbook.worksheets
        waves = [(ws, sheet_perimetre(ws.title)) for ws in worksheets]
        chosen = [(ws, perimetre) for ws, perimetre in waves if perimetre is not None]
        if not chosen and worksheets:
            chosen = [(worksheets[0], default_perimetre)]
        sheets = []
        for worksheet, perimetre in chosen:
            rows = _xlsx_rows(worksheet)
            generators.append(rows)
            sheets.append(Sheet(worksheet.title, perimetre, rows))
        yield sheets
    finally:
        # A half-read sheet keeps its part of the archive open until its generator ends.
        for rows in generators:
            rows.close()
        workbook.close()


def _check_archive(file: BinaryIO) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            shared_strings = sum(
                info.file_size
                for info in archive.infolist()
                if info.filename.lower().endswith("sharedstrings.xml")
            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as error:
        raise ReadError(NOT_A_WORKBOOK) from error
    finally:
        file.seek(0)
    if shared_strings > MAX_SHARED_STRINGS_BYTES:
        raise ReadError(WORKBOOK_TOO_LARGE)


# What openpyxl gives for a cell holding an Excel error.
EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)


def _xlsx_rows(worksheet) -> Iterator[Row]:
    # The dimension written in the file may be wrong or absent; rows are read as they come.
    worksheet.reset_dimensions()
    # Values only: building a cell object for each of a REM's hundreds of thousands of
    # cells costs more than a third of the reading time. Read this way, a formula comes
    # as its text "=…", and an Excel error as its code.
    rows = worksheet.iter_rows(values_only=True)
    number = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except Warning:
            raise
        except Exception as error:
            raise ReadError(UNREADABLE_SHEET, row=number + 1) from error
        number += 1
        values = list(cells)
        problems = None
        for index, value in enumerate(values):
            if value is None:
                values[index] = ""
            elif value.__class__ is str:
                if value[:1] == "=" and len(value) > 1:
                    problems = problems or {}
                    problems[index] = FORMULA
                    values[index] = ""
                elif value[:1] == "#" and value in EXCEL_ERRORS:
                    problems = problems or {}
                    problems[index] = f"cellule en erreur ({value}) : remplacez-la par sa valeur"
                    values[index] = ""
            else:
                values[index] = _value_text(value)
        yield number, values, problems


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return "OUI" if value else "NON"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        return value.date().isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


@contextmanager
def _csv_sheet(file: BinaryIO, name: str, default_perimetre: Perimetre) -> Iterator[Sheet]:
    encoding = _detect_encoding(file)
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    try:
        # The delimiter is the one the header line uses most: the first line with content.
        leading = []
        while (line := text.readline()) and not line.strip(" \t\r\n,;"):
            leading.append(line)
        leading.append(line)
        semicolons = _count_outside_quotes(line, ";")
        delimiter = ";" if semicolons > _count_outside_quotes(line, ",") else ","
        records = csv.reader(itertools.chain(leading, text), delimiter=delimiter)
        yield Sheet(name, default_perimetre, _csv_rows(records))
    finally:
        # Leave the caller's file open: it owns it.
        text.detach()


def _csv_rows(records) -> Iterator[Row]:
    number = 0
    while True:
        try:
            values = next(records)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                message = f"cellule trop longue (plus de {csv.field_size_limit():,} caractères)"
                message = message.replace(",", "\u202f")
            else:
                message = "ligne illisible : vérifiez les guillemets de ses cellules"
            raise ReadError(message, row=number + 1) from error
        number += 1
        yield number, values, None


def _detect_encoding(file: BinaryIO) -> str:
    """UTF-8 (BOM or not) when every byte decodes so, else Windows-1252. The file is
    scanned in chunks, then rewound."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    cp1252_ok = True
    file.seek(0)
    try:
        while chunk := file.read(_CHUNK_BYTES):
            if b"\x00" in chunk:
                raise ReadError(BINARY_FILE)
            if utf8_ok:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            if cp1252_ok and any(byte in chunk for byte in _CP1252_UNDEFINED):
                cp1252_ok = False
        if utf8_ok:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
    finally:
        file.seek(0)
    if utf8_ok:
        return "utf-8-sig"
    if cp1252_ok:
        return "cp1252"
    raise ReadError(UNKNOWN_ENCODING)


def _count_outside_quotes(line: str, character: str) -> int:
    count = 0
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == character and not quoted:
            count += 1
    return count
