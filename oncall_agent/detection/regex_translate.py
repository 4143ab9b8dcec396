"""Translating a Python regex into Hyperscan syntax that matches within one line of ASCII text.

The translation walks Python's own parse tree, so it reads exactly what `re` reads. On a line of
ASCII text with no carriage return before its end (a "clean" line) the result matches exactly
when Python's `re.search` does on the line without its trailing carriage returns, except where
`Translation.exact` is False (lookarounds, back references, atomic groups, possessive repeats),
where it matches a superset. Every character matcher (a literal, a class, `.`, `\\d`, ...) is
evaluated by `re` itself on the ASCII characters other than newline and carriage return and
emitted as an explicit byte class, so Unicode classes, case folding and line ends never differ
between the two engines. A non-ASCII character only occurs in a line that is not clean, where
callers do not trust the translation anyway.

`relaxed=True` also drops the anchors (`^`, `$`, `\\A`, `\\Z`): a superset for any substring of
the line, which is what selecting lines whose parsed message (a part of the line) may alert needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

# Never present in a clean (ASCII) line: stands for a matcher no ASCII character satisfies.
_IMPOSSIBLE = r"\xff"
# A clean line holds no newline and no carriage return (trailing ones are not part of the text).
_ASCII = [chr(code) for code in range(128) if code not in (10, 13)]
_REPEATS = {C.MAX_REPEAT, C.MIN_REPEAT}
_POSSESSIVE = getattr(C, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(C, "ATOMIC_GROUP", None)
_CATEGORY_SOURCE = {
    C.CATEGORY_DIGIT: r"\d",
    C.CATEGORY_NOT_DIGIT: r"\D",
    C.CATEGORY_SPACE: r"\s",
    C.CATEGORY_NOT_SPACE: r"\S",
    C.CATEGORY_WORD: r"\w",
    C.CATEGORY_NOT_WORD: r"\W",
}


class UntranslatableError(ValueError):
    """The regex uses a construct this translation does not cover."""


@dataclass(frozen=True)
class Translation:
    """A Hyperscan expression, whether it is exact on clean lines, and its case flag."""

    expression: bytes
    exact: bool
    caseless: bool


def _escape(code: int) -> str:
    """One byte as a Hyperscan escape that is safe inside and outside a class."""
    return f"\\x{code:02x}"


def _class_source(codes: list[int]) -> str:
    """A byte class (or a single escaped byte) for the sorted CODES, as ranges."""
    if not codes:
        return _IMPOSSIBLE
    if len(codes) == 1:
        return _escape(codes[0])
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -2]:
        if code == prev + 1:
            prev = code
            continue
        parts.append(_escape(start) if start == prev else f"{_escape(start)}-{_escape(prev)}")
        start = prev = code
    return "[" + "".join(parts) + "]"


@lru_cache(maxsize=4096)
def _ascii_class(source: str, flags: int) -> str:
    """The ASCII characters (\\n, \\r excepted) a one-character regex SOURCE matches, as a class."""
    matcher = re.compile(source, flags)
    return _class_source([ord(ch) for ch in _ASCII if matcher.fullmatch(ch)])


def _char_source(code: int) -> str:
    """Python regex source for one character, escaped so that it means itself."""
    return f"\\U{code:08x}"


def _in_source(items: list[tuple[Any, Any]]) -> str:
    """Python regex source of a character class node, rebuilt from its items."""
    parts: list[str] = []
    for op, av in items:
        if op is C.NEGATE:
            parts.insert(0, "^")
        elif op is C.LITERAL:
            parts.append(_char_source(av))
        elif op is C.RANGE:
            parts.append(f"{_char_source(av[0])}-{_char_source(av[1])}")
        elif op is C.CATEGORY and av in _CATEGORY_SOURCE:
            parts.append(_CATEGORY_SOURCE[av])
        else:
            raise UntranslatableError(f"class item {op}")
    return "[" + "".join(parts) + "]"


class _Writer:
    """Emits Hyperscan source for a parse tree, tracking exactness and case."""

    def __init__(self, flags: int, relaxed: bool) -> None:
        """Start at the regex's global FLAGS."""
        self.exact = True
        self.relaxed = relaxed
        self.flags = flags

    def sequence(self, items: Any, flags: int) -> str:
        """Source for a sequence of nodes under FLAGS."""
        return "".join(self.node(op, av, flags) for op, av in items)

    def node(self, op: Any, av: Any, flags: int) -> str:
        """Source for one node."""
        single = self._single(op, av)
        if single is not None:
            return _ascii_class(single, flags)
        if op is C.LITERAL:
            return self._literal(av, flags)
        if op is C.SUBPATTERN:
            return self._group(av, flags)
        if op is C.BRANCH:
            return "(?:" + "|".join(self.sequence(b, flags) for b in av[1]) + ")"
        if op in _REPEATS or op is _POSSESSIVE:
            self.exact = self.exact and op is not _POSSESSIVE
            return self._repeat(av, flags)
        if op is C.AT:
            return self._anchor(av)
        return self._approximate(op, av, flags)

    @staticmethod
    def _single(op: Any, av: Any) -> str | None:
        """Python source of a one-character matcher node, or None if it is not one."""
        if op is C.ANY:
            return "."
        if op is C.NOT_LITERAL:
            return f"[^{_char_source(av)}]"
        if op is C.IN:
            return _in_source(av)
        if op is C.CATEGORY and av in _CATEGORY_SOURCE:
            return _CATEGORY_SOURCE[av]
        return None

    @staticmethod
    def _literal(code: int, flags: int) -> str:
        """A literal: itself when ASCII (the caseless flag folds letters), else a class."""
        if code < 128 and code not in (10, 13):
            return _escape(code) if not chr(code).isalnum() else chr(code)
        return _ascii_class(_char_source(code), flags)

    def _group(self, av: Any, flags: int) -> str:
        """A group (capturing or not) with its inline flag changes."""
        _, add, remove, body = av
        inner = (flags | add) & ~remove
        source = self.sequence(body, inner)
        before, after = bool(flags & re.IGNORECASE), bool(inner & re.IGNORECASE)
        if before == after:
            return f"(?:{source})"
        return f"(?i:{source})" if after else f"(?-i:{source})"

    def _repeat(self, av: Any, flags: int) -> str:
        """A repeat, lazy or greedy alike (only whether a match exists matters)."""
        low, high, body = av
        source = self.sequence(body, flags)
        if high is C.MAXREPEAT:
            suffix = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
        elif (low, high) == (0, 1):
            suffix = "?"
        else:
            suffix = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
        return f"(?:{source}){suffix}"

    def _anchor(self, at: Any) -> str:
        """Anchors and word boundaries (anchors dropped when relaxed)."""
        if at in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY):
            return r"\b" if at is C.AT_BOUNDARY else r"\B"
        if self.relaxed:
            return ""
        if at in (C.AT_BEGINNING, C.AT_BEGINNING_STRING, C.AT_BEGINNING_LINE):
            return "^"
        if at in (C.AT_END, C.AT_END_STRING, C.AT_END_LINE):
            return r"\r*$"  # a line's trailing carriage returns are not part of its text
        raise UntranslatableError(f"anchor {at}")

    def _approximate(self, op: Any, av: Any, flags: int) -> str:
        """Constructs Hyperscan lacks, widened to a superset; the result is then not exact."""
        self.exact = False
        if op in (C.ASSERT, C.ASSERT_NOT):
            return ""  # a zero-width condition dropped: only more lines can match
        if op is _ATOMIC:
            return f"(?:{self.sequence(av, flags)})"
        if op is C.GROUPREF:
            return "[^\\n]*"  # whatever the group held, it was part of the line
        if op is C.GROUPREF_EXISTS:
            _, yes, no = av
            branches = [self.sequence(yes, flags), self.sequence(no, flags) if no else ""]
            return "(?:" + "|".join(branches) + ")"
        raise UntranslatableError(f"regex construct {op}")


def translate(regex: str, flags: int = re.IGNORECASE, *, relaxed: bool = False) -> Translation:
    """REGEX (Python syntax, compiled with FLAGS) in line-local Hyperscan syntax."""
    try:
        parsed = sre_parser.parse(regex, flags)
    except re.error as exc:
        raise UntranslatableError(str(exc)) from exc
    global_flags = parsed.state.flags
    writer = _Writer(global_flags, relaxed)
    source = writer.sequence(parsed, global_flags)
    return Translation(
        expression=source.encode("ascii"),
        exact=writer.exact,
        caseless=bool(global_flags & re.IGNORECASE),
    )
