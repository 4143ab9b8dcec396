"""A file's line header, learned from its own lines instead of a parser written per system.

Each of the first lines is cut into fields and each field gets a class: a timestamp in one of
the known forms (T), a level (L), a number such as a pid (N), a bracketed part such as a thread
(B), a separator (S), a component ending in a colon such as `sshd[42]:` or `a.b.Cls:` (C), or
any other word (W: a host, a logger). The header is the longest run of field classes that most
lines agree on, ending on a class other than W (a word is header only when something that is
surely header follows it, as a host before its program) and holding a timestamp or a level.
It becomes one anchored regex; a line strips as much of it as fits, so a continuation line
keeps all its text. A line with nothing to learn from gets `line_header_end`, which reads the
header from that line alone and is more careful about words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_HMS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,:]\d{1,9})?"
_ZONE = r"(?: ?(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT|CES?T|[ECMP][SD]T)\b)?"
# The usual ways of writing a time, most specific first; each may sit in brackets.
_TIMESTAMP_FORMS = (
    rf"\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]|, |[-_]){_HMS}{_ZONE}",  # ISO 8601 and near relatives
    rf"\d{{4}}/\d{{2}}/\d{{2}}[ T:-]{_HMS}{_ZONE}",  # 2024/05/01 10:00:00
    rf"\d{{1,2}}/\d{{1,2}}/\d{{2,4}},?[ T:]{_HMS}(?: ?[AP]M)?{_ZONE}",  # 17/06/09 20:10:40
    rf"\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{4}}[ T]{_HMS}{_ZONE}",  # 01.05.2024 10:00:00
    rf"\d{{1,2}}[/-]{_MON}[/-]\d{{4}}[: ]{_HMS}(?: [+-]\d{{4}})?",  # 10/Oct/2000:13:55:36 -0700
    rf"(?:{_DAY},? )?{_MON} +\d{{1,2}},? (?:\d{{4}},? )?{_HMS}(?: ?[AP]M)?(?: \d{{4}})?{_ZONE}",
    r"\d{8}[T -]?\d{2}:?\d{2}:?\d{2}(?:[.,:]\d{1,9})?",  # 20240501T100000, 20240501-10:00:00
    r"\d{6} \d{6}(?:[.,]\d{1,9})?",  # 240501 100000
    r"\d{4}-\d{2}-\d{2}",  # a date alone
    rf"{_HMS}",  # a time alone
    r"\d{10}(?:\d{3}|\.\d{1,9})?",  # Unix time in seconds or milliseconds
)
_STAMP = r"\[?(?:{})\]?,?(?=[\s|:\]-]|$)"
TIMESTAMP = re.compile(_STAMP.format("|".join(_TIMESTAMP_FORMS)))
# Each form alone: a learned header names only the forms its file uses (one form is ~5x faster
# to match than the whole alternation).
_FORMS = tuple(re.compile(_STAMP.format(form)) for form in _TIMESTAMP_FORMS)
_LEVELS = (
    r"TRACE|DEBUG|FINE|FINER|FINEST|CONFIG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL"
    r"|CRITICAL|CRIT|ALERT|EMERG|EMERGENCY|PANIC"
)
_LEVEL_WORD = re.compile(rf"(?:{_LEVELS})", re.IGNORECASE)
_FIELD_END = r"(?=[ \t]|$)"
# One regex per class, as a learned header is written; a field is matched with it.
_CLASS_REGEX = {
    "T": TIMESTAMP.pattern,
    "L": rf"(?:\[(?:\w+:)?(?i:{_LEVELS})\d?\]|<(?i:{_LEVELS})>|(?:{_LEVELS})\d?):?{_FIELD_END}",
    "N": rf"\[?\d+\]?:?{_FIELD_END}",
    "B": r"(?:\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\]|\((?:[^()\n]|\([^()\n]*\))*\)"
    rf"|\{{[^{{}}\n]*\}}|<[^<>\n]*>):?{_FIELD_END}",
    "S": rf"[-|:>]+{_FIELD_END}",
    "C": rf"[^ \t\n]*[^ \t\n:]:{_FIELD_END}",
    "W": r"[^ \t\n]+",
}
MAX_FIELDS = 12
SAMPLE_LINES = 200
AGREEMENT = 0.6  # share of sampled lines that must agree on a header field
_OPEN_CLOSE = {"[": "]", "(": ")", "{": "}", "<": ">"}
_HOSTLIKE = re.compile(r"[a-z0-9][a-z0-9.-]*|[\w.-]*\d[\w.-]*")


@dataclass(frozen=True)
class Field:
    """One field at the start of a line: its class, where it ends, and for a timestamp the
    index of its form in _TIMESTAMP_FORMS."""

    kind: str
    end: int
    form: int = -1


def _form(text: str, position: int) -> int:
    """The index of the first timestamp form that matches TEXT at POSITION."""
    return next(i for i, form in enumerate(_FORMS) if form.match(text, position))


def _bracket_end(text: str, start: int) -> int:
    """Where the bracketed part opening at START closes (nesting allowed), or -1."""
    opening, closing, depth = text[start], _OPEN_CLOSE[text[start]], 0
    for index in range(start, min(len(text), start + 300)):
        char = text[index]
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index + 1
        elif char == "\n":
            break
    return -1


def _token_kind(token: str) -> str:
    """The class of a plain (unbracketed) token."""
    word = token.rstrip(":")
    if not word or set(word) <= set("-|>"):
        return "S"
    if word.isupper() and _LEVEL_WORD.fullmatch(word.rstrip("12345")):
        return "L"
    if word.isdigit():
        return "N"
    return "C" if token.endswith(":") else "W"


def _bracket_kind(inner: str) -> str:
    """The class of a bracketed part from what it holds: a level, a number, or anything."""
    word = inner.split(":")[-1].strip()
    if _LEVEL_WORD.fullmatch(word.rstrip("12345")):
        return "L"
    return "N" if inner.isdigit() else "B"


def fields(text: str, limit: int = MAX_FIELDS, forms: bool = False) -> list[Field]:
    """The classes of the first LIMIT fields of TEXT's first line (with FORMS, which form
    each timestamp is written in)."""
    found: list[Field] = []
    position, size = 0, len(text)
    while len(found) < limit:
        while position < size and text[position] in " \t":
            position += 1
        if position >= size or text[position] == "\n":
            break
        stamp = TIMESTAMP.match(text, position)
        if stamp:
            found.append(Field("T", stamp.end(), _form(text, position) if forms else -1))
            position = stamp.end()
            continue
        end = _bracket_end(text, position) if text[position] in _OPEN_CLOSE else -1
        if end > 0 and (end == size or text[end] in " \t\n:"):
            kind = _bracket_kind(text[position + 1 : end - 1])
            end += 1 if end < size and text[end] == ":" else 0
        else:
            end = position
            while end < size and text[end] not in " \t\n":
                end += 1
            kind = _token_kind(text[position:end])
        found.append(Field(kind, end))
        position = end
    return found


def line_header_end(text: str) -> int:
    """Where TEXT's header ends, read from the line alone (0: no header).

    Only what is surely header counts: timestamps, levels, numbers, brackets, separators, and
    a component after one of those; a word only when it looks like a host before a component.
    """
    end, anchored, previous = 0, False, ""
    parts = fields(text)
    for index, field in enumerate(parts):
        kind = field.kind
        if kind == "W":
            following = parts[index + 1].kind if index + 1 < len(parts) else ""
            start = text.rfind(" ", 0, field.end) + 1
            if not (anchored and following == "C" and _HOSTLIKE.fullmatch(text[start : field.end])):
                break
        elif kind == "C" and (not anchored or previous not in "LNBSW"):
            break
        anchored = anchored or kind in "TL"
        previous = kind
        if kind != "W":
            end = field.end
    return end if anchored else 0


@dataclass(frozen=True)
class HeaderLayout:
    """A learned header: its field classes and the regex that strips as much of it as fits."""

    kinds: str
    regex: re.Pattern[str] | None

    def header_end(self, text: str) -> int:
        """Where TEXT's header ends under this layout (0: none of it fits)."""
        if self.regex is None:
            return line_header_end(text)
        found = self.regex.match(text)
        return found.end() if found else 0


def _units(kinds: str) -> list[str]:
    """KINDS cut after each class other than W: a word only counts with what follows it."""
    units, current = [], ""
    for kind in kinds:
        current += kind
        if kind != "W":
            units.append(current)
            current = ""
    return units


def _compile(kinds: str, stamp: str) -> re.Pattern[str]:
    """The regex of a layout: each unit optional, nested, so a line strips the units that fit."""
    regexes = {**_CLASS_REGEX, "T": stamp}
    pattern = ""
    for unit in reversed(_units(kinds)):
        body = r"[ \t]+".join(f"(?:{regexes[k]})" for k in unit)
        pattern = f"(?:[ \\t]*{body}{pattern})?"
    return re.compile(pattern)


def learn_layout(lines: Iterable[str]) -> HeaderLayout:
    """The header most of LINES share (at most SAMPLE_LINES of them are read)."""
    rows = [fields(line, forms=True) for line in _sample(lines)]
    kinds, alive = "", rows
    for position in range(MAX_FIELDS):
        counts = Counter(row[position].kind for row in alive if len(row) > position)
        if not counts:
            break
        kind, agreeing = counts.most_common(1)[0]
        if agreeing < AGREEMENT * len(rows) or (kinds.endswith("WW") and kind == "W"):
            break
        kinds += kind
        alive = [row for row in alive if len(row) > position and row[position].kind == kind]
    kinds = kinds.rstrip("W")
    if "T" not in kinds and "L" not in kinds:
        return HeaderLayout("", None)
    used = Counter(f.form for row in alive for f in row[: len(kinds)] if f.kind == "T")
    stamp = _STAMP.format("|".join(_TIMESTAMP_FORMS[i] for i, _ in used.most_common()))
    return HeaderLayout(kinds, _compile(kinds, stamp))


def _sample(lines: Iterable[str]) -> list[str]:
    """The first SAMPLE_LINES non-blank lines, without their line ends."""
    sample: list[str] = []
    for line in lines:
        if line.strip():
            sample.append(line.rstrip("\r\n"))
            if len(sample) >= SAMPLE_LINES:
                break
    return sample


PER_LINE = HeaderLayout("", None)
HEAD_BYTES = 65536


@lru_cache(maxsize=1024)
def layout_of_file(path: str) -> HeaderLayout:
    """The header layout learned from the first lines of the file at PATH (per line if none)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:
        return PER_LINE
    lines = head.decode("utf-8", errors="replace").splitlines()
    if len(head) == HEAD_BYTES and len(lines) > 1:
        lines.pop()  # cut by the read
    return learn_layout(lines)
