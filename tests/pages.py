"""Helpers for the tests that count a page's queries and read the exports."""

import io
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

# Queries that are not the page's own: the rate limiter's counters and the page cache
# live in database tables in the embedded portal, and their culling varies.
NOT_THE_PAGES = re.compile(r'_cache"|SAVEPOINT')


def body(response) -> bytes:
    """The whole body, streamed or not. The test client closes a streamed response once
    read to the end, as a server would (an XLSX export's temporary file goes then)."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def page_queries(client, url: str, params=None) -> tuple[int, bytes]:
    """How many queries the page runs (its body read to the end) and its body."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
        content = body(response)
    assert response.status_code == 200, (url, response.status_code)
    own = [query for query in captured.captured_queries if not NOT_THE_PAGES.search(query["sql"])]
    return len(own), content


def csv_rows(content: bytes) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_rows(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def xlsx_cells(content: bytes):
    """Every cell with its type as openpyxl reads it (f: formula, s: text, n: number)."""
    sheet = load_workbook(io.BytesIO(content)).active
    return [cell for row in sheet.iter_rows() for cell in row]
