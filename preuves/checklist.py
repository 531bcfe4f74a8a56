"""The editor's view of a dossier: a summary per section and one line per proof still
to act on, read from `preuves.depot.dossier` without another query.

By default the lines are the proofs « à traiter »: missing, refused, being checked,
those of a requirement the ANS found non conforme or asked a complément on, and, under
instruction, those the editor may still change. The filters show the others.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.html import format_html

from preuves.depot import UNDER_INSTRUCTION, Dossier, ExigenceBlock, Item
from preuves.enums import Verdict

STATUS_FILTERS = {
    "a_traiter": "À traiter",
    "manquante": "Manquantes",
    "refusee": "Refusées",
    "en_verification": "En cours de vérification",
    "fournie": "Fournies",
    "toutes": "Toutes",
}
DEFAULT_FILTER = "a_traiter"


BADGES = {
    "fournie": ("fr-badge--success", "Fournie"),
    "en_verification": ("fr-badge--info", "Vérification en cours"),
    "refusee": ("fr-badge--error", "Refusée"),
    "manquante": ("fr-badge--warning", "Manquante"),
}
TITLE_LENGTH = 100


@dataclass
class Line:
    """One proof of the checklist, with what its line shows computed once: a page of
    200 lines is rendered without an include or a URL lookup per line."""

    item: Item
    block: ExigenceBlock
    status: str
    url: str

    @property
    def title(self) -> str:
        text = self.item.text if self.item.preuve else self.item.exigence.statement
        return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1].rstrip() + "…"

    @property
    def rule(self) -> str:
        label = f"{self.item.kind_label} · {self.item.rule.label}"
        return f"{label} · homologation CNDA" if self.item.is_cnda else label

    @property
    def badge(self) -> tuple[str, str]:
        return BADGES[self.status]

    @property
    def action(self) -> str:
        return "Déposer" if self.block.editable and self.status != "fournie" else "Voir"

    def __str__(self) -> str:
        """The line's HTML, escaped here (`{{ line }}` in a template): 120 lines rendered
        by the template language cost a third of the page's time, built here a tenth."""
        verdict = self.block.verdict
        remark = ""
        if verdict is not None and verdict.verdict != Verdict.CONFORME:
            comment = format_html(" — {}", verdict.comment) if verdict.comment else ""
            remark = format_html(
                "<br><small>ANS : {}{}</small>", verdict.get_verdict_display(), comment
            )
        css, label = self.badge
        key, identifier = self.item.key, self.item.identifier
        return format_html(
            '<li class="portal-check" id="ligne-{}"><p><strong>{}</strong> {}<br>'
            "<small>{}</small>{}</p>"
            '<p class="fr-badge fr-badge--sm {}" id="etat-{}">{}</p>'
            '<a class="fr-btn fr-btn--sm fr-btn--secondary" href="{}" data-open>{}'
            '<span class="fr-sr-only"> {}</span></a></li>',
            key, identifier, self.title, self.rule, remark,
            css, key, label, self.url, self.action, identifier,
        )  # fmt: skip

    __html__ = __str__


@dataclass
class Section:
    key: str
    title: str
    counts: Counter = field(default_factory=Counter)
    lines: list[Line] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return sum(self.counts.values())

    @property
    def provided(self) -> int:
        return self.counts["fournie"]

    @property
    def refused(self) -> int:
        return self.counts["refusee"]

    @property
    def missing(self) -> int:
        return self.counts["manquante"]

    @property
    def pending(self) -> int:
        return self.counts["en_verification"]

    @property
    def editable(self) -> bool:
        return any(line.block.editable for line in self.lines)


def _to_do(status: str, block: ExigenceBlock, under_instruction: bool) -> bool:
    if status != "fournie":
        return True
    if block.verdict is not None and block.verdict.verdict != Verdict.CONFORME:
        return True
    return under_instruction and block.editable


def checklist(
    current: Dossier, *, statut: str = DEFAULT_FILTER, section: str = "", profil: str = ""
) -> list[Section]:
    """Every section of the dossier with its counts, and the lines the filters keep;
    a section with no line is kept for its counts."""
    statut = statut if statut in STATUS_FILTERS else DEFAULT_FILTER
    candidature = current.candidature
    under_instruction = candidature.state in UNDER_INSTRUCTION
    # /candidatures/<pk>/preuves/exigences/<exigence>/preuves/<preuve>/, reversed once.
    base = reverse("dossier:item", args=[candidature.pk, 0, 0]).removesuffix("0/preuves/0/")
    sections = []
    for key, title, blocks in current.sections:
        if section and key != section:
            continue
        summary = Section(key, title)
        for block in blocks:
            for item in block.items:
                status = item.status
                summary.counts[status] += 1
                if profil and str(block.exigence.profil_id) != profil:
                    continue
                if (
                    statut == "toutes"
                    or status == statut
                    or (statut == DEFAULT_FILTER and _to_do(status, block, under_instruction))
                ):
                    preuve = item.preuve.pk if item.preuve else 0
                    url = f"{base}{block.exigence.pk}/preuves/{preuve}/"
                    summary.lines.append(Line(item, block, status, url))
        sections.append(summary)
    return sections


def next_missing(current: Dossier, after: Item | None = None) -> Item | None:
    """The first required proof without an accepted file (after `after`, wrapping
    round), that the editor may deposit now."""
    editable = {item.key for block in current.blocks if block.editable for item in block.items}
    candidates = [
        item
        for item in current.required_items()
        if item.status in {"manquante", "refusee"} and item.key in editable
    ]
    if after is not None:
        order = {item.key: position for position, item in enumerate(current.items)}
        start = order.get(after.key, -1)
        later = [item for item in candidates if order[item.key] > start]
        earlier = [item for item in candidates if order[item.key] < start]
        candidates = later + earlier
    return candidates[0] if candidates else None
