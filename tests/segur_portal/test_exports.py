"""Exports of the agency's lists: CSV streamed row by row, XLSX written by openpyxl in
write-only mode to a temporary file; neither keeps the rows in memory."""

import tracemalloc
from datetime import UTC, date, datetime

from segur_portal.exports import export_response, xlsx_cell
from tests.pages import body, csv_rows, xlsx_rows

HEADER = ["Référence", "Éditeur", "Dénomination", "Soumise le", "Jours", "Motif"]
ROWS = 3_000
# Measured 0.4 Mio for the XLSX and 0.15 Mio for the CSV, the same at 300, 5,000 and
# 20,000 rows; docs/BENCHMARKS.md has the figures for 10,000 candidatures read from
# the database.
MIO = 2**20


def _rows(count: int):
    submitted = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    for index in range(count):
        yield [
            f"C-{index:06d}",
            f"Éditeur numéro {index} SAS",
            f"Logiciel {index % 700} version {index}",
            submitted,
            index / 7,
            "instruction au-delà des 6 semaines" if index % 3 else "",
        ]


def _peak(make) -> int:
    tracemalloc.start()
    try:
        make()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _xlsx(count: int):
    response = export_response("xlsx", header=HEADER, rows=_rows(count), filename="liste")
    try:
        return xlsx_rows(response.getvalue())
    finally:
        response.close()


def test_the_memory_of_the_xlsx_export_does_not_grow_with_its_rows():
    small = _peak(lambda: _xlsx_written(ROWS // 10))
    large = _peak(lambda: _xlsx_written(ROWS))
    assert large < small + MIO
    assert large < 4 * MIO
    sheet = _xlsx(ROWS)
    assert sheet[0] == HEADER
    assert len(sheet) == ROWS + 1
    assert sheet[1][:4] == ["C-000000", "Éditeur numéro 0 SAS", "Logiciel 0 version 0",
                            datetime(2026, 11, 2, 10, 30)]  # fmt: skip


def _xlsx_written(count: int) -> None:
    export_response("xlsx", header=HEADER, rows=_rows(count), filename="liste").close()


def test_the_csv_export_is_streamed_row_by_row():
    response = export_response("csv", header=HEADER, rows=_rows(ROWS), filename="liste")
    assert response.streaming
    chunks = []
    peak = _peak(lambda: chunks.extend(len(chunk) for chunk in response.streaming_content))
    assert peak < MIO
    assert len(chunks) == ROWS + 2  # the BOM, the header, one chunk a row


def test_values_keep_their_kind_in_a_spreadsheet_and_read_in_paris_time_in_csv():
    rows = [["x", datetime(2026, 7, 1, 22, 15, tzinfo=UTC), date(2026, 7, 2), 1.5, None, True]]
    content = body(export_response("csv", header=list("abcdef"), rows=rows, filename="f"))
    assert csv_rows(content)[1] == ["x", "2026-07-02 00:15", "2026-07-02", "1.5", "", "oui"]
    assert xlsx_cell(datetime(2026, 7, 1, 22, 15, tzinfo=UTC)) == datetime(2026, 7, 2, 0, 15)
    assert xlsx_cell("ligne\x01cachée") == "lignecachée"
