"""Helpers for files the portal exports."""

import csv
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from segur_portal.clocks import PARIS

# A spreadsheet runs a cell as a formula when it starts with one of these (CSV
# injection). Excel and LibreOffice also read the full-width forms (＝ ＋ － ＠) as
# their ASCII twins, and skip leading spaces before deciding.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def csv_safe(value) -> str:
    """A cell a spreadsheet will show as text, never run as a formula."""
    value = "" if value is None else str(value)
    stripped = value.lstrip(" \u00a0\u3000")
    first = stripped[:1]
    if first and (
        first in FORMULA_TRIGGERS or unicodedata.normalize("NFKC", first) in FORMULA_TRIGGERS
    ):
        return "'" + value
    return value


# Lists exported as they are filtered on screen (the agency's queues and lists,
# statistics): CSV streamed row by row, XLSX written by openpyxl in write-only mode to a
# temporary file then sent from it. Neither holds the rows in memory.

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = ("csv", "xlsx")


class _Echo:
    def write(self, value):
        return value


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The BOM makes spreadsheet programs read the file as UTF-8.
    yield "\ufeff"
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_safe(_text(value)) for value in row])


def _text(value) -> str:
    if isinstance(value, datetime):
        # Paris time, in a form spreadsheets read as a date and time.
        return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "oui" if value else "non"
    return "" if value is None else str(value)


def xlsx_cell(value):
    """A value as a cell: numbers and dates keep their type (dates in Paris time, which
    a spreadsheet cannot hold with their zone); text is guarded like a CSV cell (a text
    cell starting with = would be written as a formula) and cleared of the control
    characters XLSX refuses."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return value.astimezone(PARIS).replace(tzinfo=None, microsecond=0)
    if isinstance(value, date | int | float | Decimal) or value is None:
        return value
    return ILLEGAL_CHARACTERS_RE.sub("", csv_safe(value))


def export_response(fmt: str, *, header: list[str], rows: Iterable[list], filename: str):
    """The rows as a download named `filename`.csv or .xlsx."""
    if fmt == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=filename[:31])
        sheet.append(header)
        for row in rows:
            sheet.append([xlsx_cell(value) for value in row])
        # Deleted when the response closes it, after the last byte is sent.
        spool = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
        workbook.save(spool)
        spool.seek(0)
        return FileResponse(
            spool, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_CONTENT_TYPE
        )
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
