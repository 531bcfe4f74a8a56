"""What reading a REM sheet produces, before anything is saved."""

from collections import Counter
from dataclasses import dataclass, field

from candidatures.enums import Nature, Perimetre, ProofKind

# Kind given to an expected proof whose wording matched no rule.
DEFAULT_RULE = "defaut"


@dataclass(frozen=True)
class ImportIssue:
    """One problem, located: sheet, row (as numbered in the spreadsheet, header = 1),
    column (as written in the sheet's header) and a reason in French."""

    sheet: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"feuille « {self.sheet} »"]
        if self.row is not None:
            where.append(f"ligne {self.row}")
        if self.column:
            where.append(f"colonne « {self.column} »")
        return f"{', '.join(where)} : {self.message}"


@dataclass
class ParsedProof:
    identifier: str
    text: str
    kind: ProofKind
    # Name of the wording rule that chose the kind, or DEFAULT_RULE.
    kind_rule: str


@dataclass
class ParsedScenario:
    identifier: str
    text: str
    proofs: list[ParsedProof] = field(default_factory=list)


@dataclass
class ParsedExigence:
    identifier: str
    statement: str
    profile: str
    perimetre: Perimetre
    nature: Nature
    # True when the sheet had no nature column and DOIT/PEUT decided.
    nature_inferred: bool = False
    conditional: bool = False
    numero: str = ""
    id_section: str = ""
    section: str = ""
    bloc: str = ""
    fonction: str = ""
    scenarios: list[ParsedScenario] = field(default_factory=list)
    sheet: str = ""
    row: int = 0


@dataclass
class ParsedRem:
    exigences: list[ParsedExigence] = field(default_factory=list)
    errors: list[ImportIssue] = field(default_factory=list)
    warnings: list[ImportIssue] = field(default_factory=list)
    # Sheets actually read, and the number of data rows read in them.
    sheets: list[str] = field(default_factory=list)
    rows_read: int = 0
    skipped_obsolete: int = 0
    # Rows of other REMs left out by the `rem` filter of a multi-REM sheet.
    skipped_other_rem: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def scenarios(self) -> list[ParsedScenario]:
        return [s for e in self.exigences for s in e.scenarios]

    @property
    def proofs(self) -> list[ParsedProof]:
        return [p for s in self.scenarios for p in s.proofs]

    def counts_by(self, attribute: str) -> Counter:
        return Counter(getattr(e, attribute) for e in self.exigences)

    def proof_kind_counts(self) -> Counter:
        return Counter(p.kind for p in self.proofs)

    def proofs_by_default(self) -> list[ParsedProof]:
        return [p for p in self.proofs if p.kind_rule == DEFAULT_RULE]
