"""Reading REM sheets (XLSX or CSV) into plain data, before anything is saved."""

from candidatures.rem_import.infer import infer_proof_kind
from candidatures.rem_import.model import (
    DEFAULT_RULE,
    ImportIssue,
    ParsedExigence,
    ParsedProof,
    ParsedRem,
    ParsedScenario,
)
from candidatures.rem_import.parser import parse_rem
from candidatures.rem_import.text import html_to_text

__all__ = [
    "DEFAULT_RULE",
    "ImportIssue",
    "ParsedExigence",
    "ParsedProof",
    "ParsedRem",
    "ParsedScenario",
    "html_to_text",
    "infer_proof_kind",
    "parse_rem",
]
