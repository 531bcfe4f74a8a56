"""Helpers for files the portal exports."""


def csv_safe(value: str) -> str:
    """A cell a spreadsheet will show as text: one starting with = + - @ would run as a
    formula when the CSV is opened (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
