"""Cell text: the HTML that Squash TM leaves in REM sheets, turned into plain text."""

import html
import re
import unicodedata

# Tags that lay out text. When one of them is present the cell is HTML, and raw line
# breaks are mere whitespace, as in a browser.
_BLOCK_TAGS = "p|div|br|ul|ol|li|h[1-6]|table|thead|tbody|tfoot|tr|td|th|blockquote|pre|hr|dl|dt|dd"
# Formatting tags that are simply dropped. Anything else between angle brackets is kept
# as written: the agency writes placeholders such as "<identifiant>" or "<date de l’acte>".
_INLINE_TAGS = (
    "b|strong|u|i|em|span|font|a|sup|sub|s|strike|del|ins|mark|small|big|code|abbr|cite|q|tt|o:p"
)
_TAG_RE = re.compile(
    rf"<(/?)({_BLOCK_TAGS}|{_INLINE_TAGS})(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_BLOCK_TAG_RE = re.compile(rf"</?(?:{_BLOCK_TAGS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_DROPPED_ELEMENT_RE = re.compile(
    r"<(script|style)\b[^<>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_WHITESPACE_RE = re.compile(r"[ \t\f\v\r\n]+")
_SPACE_RUN_RE = re.compile(r" {2,}")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
# No-break, narrow no-break and figure spaces: Word and Squash put them before « : ; ».
_ODD_SPACES = ("\xa0", "\u202f", "\u2007")
_NEEDS_WORK_RE = re.compile("[<&\n\r\xa0\u202f\u2007]")
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

# What each layout tag becomes; the other block tags separate paragraphs.
_OPENING_BREAKS = {"br": "\n", "li": "\n- ", "ul": "", "ol": "", "tr": "\n", "td": " ", "th": " "}
_CLOSING_BREAKS = {"li": "", "ul": "\n", "ol": "\n", "tr": "\n", "td": " ", "th": " "}
_INLINE_NAMES = frozenset(_INLINE_TAGS.split("|"))


def _replace_tag(match: re.Match) -> str:
    name = match.group(2).lower()
    if name in _INLINE_NAMES:
        return ""
    breaks = _CLOSING_BREAKS if match.group(1) else _OPENING_BREAKS
    return breaks.get(name, "\n\n")


def _unescape_entity(match: re.Match) -> str:
    return html.unescape(match.group(0))


def html_to_text(value: str | None) -> str:
    """Plain text of a cell: known HTML tags become line structure (paragraphs, line
    breaks, "- " list items), entities become characters, odd spaces become plain
    spaces, trailing spaces and extra blank lines go. Text that is not HTML is kept."""
    if not value:
        return ""
    if not _NEEDS_WORK_RE.search(value):
        return value.strip()
    is_html = False
    if "<" in value:
        value = _DROPPED_ELEMENT_RE.sub("", value)
        if _BLOCK_TAG_RE.search(value):
            is_html = True
            value = _WHITESPACE_RE.sub(" ", value)
        value = _TAG_RE.sub(_replace_tag, value)
    if "&" in value:
        value = _ENTITY_RE.sub(_unescape_entity, value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    for space in _ODD_SPACES:
        if space in value:
            value = value.replace(space, " ")
    if is_html:
        # Spaces around the breaks that tags made are layout, not text.
        value = _SPACE_RUN_RE.sub(" ", value)
        lines = [line.strip() for line in value.split("\n")]
    else:
        lines = [line.rstrip() for line in value.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def comparable(value: str) -> str:
    """The form in which two wordings of one text are compared: spacing ignored."""
    return " ".join(value.split())


def fold(value: str) -> str:
    """Lower case without accents, for matching words whatever their spelling."""
    if value.isascii():
        return value.lower()
    return _COMBINING_RE.sub("", unicodedata.normalize("NFKD", value.casefold()))
