"""Which column holds what: headers are matched by a normalised name, not by position.

Three dialects are known: the published REM layout ("N° exigence", "Énoncé de
l'exigence…", "N° preuve k"/"Preuve k"), the agency's multi-REM pre-publication sheet
("reference", "description", "preuve", "REM", "arbitrage") and the Squash TM import
sheet ("REQ_VERSION_REFERENCE", …).
"""

import enum
import re
from dataclasses import dataclass, field

from candidatures.rem_import.text import fold

MAX_PROOF_PAIRS = 10
# The agency's published layout, as its export template writes it: 31 columns.
PUBLISHED_COLUMNS = [
    "Exigence conditionnelle OUI/NON",
    "Profil",
    "ID Section",
    "Section",
    "Bloc",
    "Fonction",
    "Nature de l'exigence",
    "N° exigence",
    "Énoncé de l'exigence (DOIT) ou de la préconisation (PEUT)",
    "N° scénario",
    "Scénario de conformité",
    *[name for k in range(1, MAX_PROOF_PAIRS + 1) for name in (f"N° preuve {k}", f"Preuve {k}")],
]


class Field(enum.StrEnum):
    IDENTIFIER = "identifier"
    STATEMENT = "statement"
    PROFILE = "profile"
    NUMERO = "numero"
    ID_SECTION = "id_section"
    SECTION = "section"
    # Squash TM writes "DB/SO_Source DRIMbox": the section's id and title in one cell.
    SQUASH_SECTION = "squash_section"
    BLOC = "bloc"
    FONCTION = "fonction"
    NATURE = "nature"
    CONDITIONAL = "conditional"
    SCENARIO_ID = "scenario_id"
    SCENARIO_TEXT = "scenario_text"
    # One cell of "ID : texte" lines, in the multi-REM sheet.
    PROOFS = "proofs"
    STATUS = "status"
    REM = "rem"


# Normalised names, best first: when two columns answer to one field, the better name
# wins (the published layout has both "N° exigence" and "référence exigence").
_EXACT_NAMES: dict[Field, tuple[str, ...]] = {
    Field.IDENTIFIER: (
        "numeroexigence",
        "numerodelexigence",
        "numerodexigence",
        "reqversionreference",
        "reference",
        "referenceexigence",
    ),
    Field.STATEMENT: ("description", "reqversiondescription"),
    Field.PROFILE: ("profil", "profile", "reqversioncufprofil"),
    Field.NUMERO: ("numero",),
    Field.ID_SECTION: ("idsection",),
    Field.SECTION: ("section",),
    Field.SQUASH_SECTION: ("reqversioncufsection",),
    Field.BLOC: ("bloc", "reqversioncufbloc"),
    Field.FONCTION: ("fonction", "reqversioncuffonction"),
    Field.NATURE: ("naturedelexigence", "natureexigence", "nature", "reqversioncategory"),
    Field.CONDITIONAL: ("conditionnelle", "exigenceconditionnelle"),
    Field.SCENARIO_ID: ("numeroscenario", "refscenario", "referencescenario"),
    Field.SCENARIO_TEXT: ("scenariodeconformite", "scenario"),
    Field.PROOFS: ("preuve", "preuves"),
    Field.STATUS: ("arbitrage", "reqversionstatus", "statut", "status"),
    Field.REM: ("rem",),
}
# Prefixes, tried after every exact name: the statement's header is long and varies
# ("Énoncé de l'exigence (DOIT) ou de la préconisation (PEUT)").
_PREFIXES: dict[Field, tuple[str, ...]] = {
    Field.STATEMENT: ("enonce",),
    Field.CONDITIONAL: ("exigenceconditionnelle",),
}
_EXACT_LOOKUP = {
    name: (found, rank) for found, names in _EXACT_NAMES.items() for rank, name in enumerate(names)
}
_PROOF_ID_RE = re.compile(r"numeropreuve(\d+)")
_PROOF_TEXT_RE = re.compile(r"preuve(\d+)")

# How the agency writes the required columns, for messages.
REQUIRED = {
    Field.IDENTIFIER: "N° exigence",
    Field.STATEMENT: "Énoncé de l'exigence",
    Field.PROFILE: "Profil",
}

_NUMBER_SIGN_RE = re.compile(r"\bn\s*°")
_NUMBER_WORD_RE = re.compile(r"\b(?:no|num|numero)\b")
_NOT_ALNUM_RE = re.compile(r"[^a-z0-9]+")


def normalize_header(name: object) -> str:
    """ "N° exigence", "No exigence", "Nº  Exigence", "n°_exigence" → "numeroexigence"."""
    if name is None:
        return ""
    # NFKD turns "º" into "o"; "°" has no decomposition and is handled here.
    text = _NUMBER_SIGN_RE.sub("numero ", fold(str(name)))
    text = _NUMBER_WORD_RE.sub("numero", text)
    return _NOT_ALNUM_RE.sub("", text)


def _match(normalized: str) -> tuple[Field, int] | None:
    if normalized in _EXACT_LOOKUP:
        return _EXACT_LOOKUP[normalized]
    for found, prefixes in _PREFIXES.items():
        if normalized.startswith(prefixes):
            return found, len(_EXACT_NAMES[found])
    return None


@dataclass
class ProofPair:
    number: int
    id_index: int | None
    text_index: int | None
    id_name: str
    text_name: str


@dataclass
class Columns:
    """The columns of one sheet: index and header as written, by field."""

    index: dict[Field, int] = field(default_factory=dict)
    name: dict[Field, str] = field(default_factory=dict)
    proof_pairs: list[ProofPair] = field(default_factory=list)

    @property
    def recognised(self) -> int:
        return len(self.index) + len(self.proof_pairs)

    def missing_required(self) -> list[str]:
        return [label for required, label in REQUIRED.items() if required not in self.index]

    def used_indexes(self) -> set[int]:
        used = set(self.index.values())
        for pair in self.proof_pairs:
            used.update(i for i in (pair.id_index, pair.text_index) if i is not None)
        return used


def map_columns(header: list[str]) -> Columns:
    columns = Columns()
    ranks: dict[Field, int] = {}
    pairs: dict[int, ProofPair] = {}
    for index, raw in enumerate(header):
        written = " ".join(str(raw).split()) if raw is not None else ""
        normalized = normalize_header(written)
        if not normalized:
            continue
        if match := _PROOF_ID_RE.fullmatch(normalized):
            pair = pairs.setdefault(int(match[1]), ProofPair(int(match[1]), None, None, "", ""))
            if pair.id_index is None:
                pair.id_index, pair.id_name = index, written
            continue
        if match := _PROOF_TEXT_RE.fullmatch(normalized):
            pair = pairs.setdefault(int(match[1]), ProofPair(int(match[1]), None, None, "", ""))
            if pair.text_index is None:
                pair.text_index, pair.text_name = index, written
            continue
        found = _match(normalized)
        if found is None:
            continue
        which, rank = found
        if which not in ranks or rank < ranks[which]:
            ranks[which] = rank
            columns.index[which] = index
            columns.name[which] = written
    columns.proof_pairs = [pairs[number] for number in sorted(pairs)]
    return columns
