"""Which expected proof a file answers, read from the identifier in its name.

The REM's identifiers (`DMP/UX.08.01.01`, `INS 1.1`, `SC.DMP/AIRS.03.01`) are cut into
words, lower case and without accents, at every separator and between letters and
digits; so is the file's name. A file answers the items whose proof, scenario or
requirement identifier appears, word for word, in its name: `SC.DMP-UX.08_capture.png`
contains `dmp ux 08`, requirement DMP/UX.08. The longest identifier found wins, so
`DMP-UX.15.02.mp4` is the scenario DMP/UX.15.02, not the requirement DMP/UX.15.
A requirement or scenario with several expected proofs leaves the file ambiguous: the
editor chooses.
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from candidatures.rem_import.text import fold

# Words: runs of letters or of digits; anything else separates them.
_WORDS = re.compile(r"[a-z]+|[0-9]+")


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORDS.findall(fold(text or "")))


@dataclass
class Match:
    # The items of the longest identifier found in the name (one: matched; several:
    # ambiguous; none: unmatched), and that identifier as the REM writes it.
    items: list = field(default_factory=list)
    identifier: str = ""


class Matcher:
    """An index of a dossier's items by the words of their identifiers.

    `items` are preuves.depot.Item objects (anything with `.exigence`, `.preuve`, `.key`).
    """

    def __init__(self, items: Iterable):
        self._index: dict[tuple[str, ...], dict[str, object]] = defaultdict(dict)
        self._names: dict[tuple[str, ...], str] = {}
        for item in items:
            identifiers = [item.exigence.identifier]
            if item.preuve is not None:
                identifiers += [item.preuve.scenario.identifier, item.preuve.identifier]
            for identifier in identifiers:
                key = words(identifier)
                # An identifier without a number ("SSI") would match any name that
                # happens to contain the word.
                if any(word.isdigit() for word in key):
                    self._index[key][item.key] = item
                    self._names.setdefault(key, identifier)
        self._longest = max((len(key) for key in self._index), default=0)

    def match(self, name: str) -> Match:
        """The items whose identifier is the longest found in `name`."""
        found = words(name)
        for length in range(min(self._longest, len(found)), 0, -1):
            hits: dict[str, object] = {}
            identifier = ""
            for start in range(len(found) - length + 1):
                key = found[start : start + length]
                if key in self._index:
                    hits.update(self._index[key])
                    identifier = identifier or self._names[key]
            if hits:
                return Match(list(hits.values()), identifier)
        return Match()
