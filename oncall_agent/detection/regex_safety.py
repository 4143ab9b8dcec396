"""Regexes from users and the knowledge base, kept from backtracking for minutes on one line.

Python's `re` backtracks: `(a+)+$` on forty `a`s and a `!` tries every way to split the `a`s,
and no timeout can stop it from another thread. Two defences, both here:
- `backtracking_risk` reads the parsed regex and names the shapes that backtrack
  exponentially: an unbounded repeat inside another repeat with nothing to tell their
  iterations apart, and a repeated alternation whose branches can start alike. `oncall
  patterns add`, `kb add` and `kb import` refuse such a regex (`check_regex`), saying how to
  rewrite it (possessive `++`, atomic `(?>...)`, or a simpler shape).
- `compile_bounded` compiles a risky regex already stored (added before this check) with
  google-re2, whose matching time is linear in the text; one RE2 cannot take (back-references,
  look-arounds) is refused. Everything else stays on `re`, whose semantics the engines follow.
"""

from __future__ import annotations

import re
import re._constants as sre  # the parser's opcodes (stable across 3.11-3.13)
import re._parser as sre_parse
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from oncall_agent.errors import PatternError

_ASCII = frozenset(range(128))
_NON_ASCII = 128  # one stand-in for every character above ASCII
_ALL = frozenset(range(129))
_DIGIT = frozenset(range(48, 58)) | {_NON_ASCII}
_SPACE = frozenset(b" \t\n\r\f\v") | {_NON_ASCII}
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") | _DIGIT
_CATEGORIES = {
    sre.CATEGORY_DIGIT: _DIGIT,
    sre.CATEGORY_NOT_DIGIT: _ALL - _DIGIT | {_NON_ASCII},
    sre.CATEGORY_SPACE: _SPACE,
    sre.CATEGORY_NOT_SPACE: _ALL - _SPACE | {_NON_ASCII},
    sre.CATEGORY_WORD: _WORD,
    sre.CATEGORY_NOT_WORD: _ALL - _WORD | {_NON_ASCII},
}
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
_NOT_RE2 = (sre.GROUPREF, sre.GROUPREF_EXISTS, sre.ASSERT, sre.ASSERT_NOT)
REWRITE_HINT = (
    "rewrite it so each character can be matched one way only, e.g. `a+` instead of `(a+)+`, "
    "a possessive `(a+)++` or an atomic group `(?>a+)+`"
)


class BoundedRegex(Protocol):
    """What the matchers use of a compiled regex: `re.Pattern` and RE2's pattern both fit."""

    @property
    def pattern(self) -> str:
        """The regex source."""
        ...

    def search(self, string: str, *args: Any) -> Any:
        """The first match in STRING, or None."""
        ...

    def sub(self, repl: str, string: str, count: int = 0) -> str:
        """STRING with every match replaced by REPL."""
        ...


def _chars(op: Any, av: Any) -> frozenset[int]:
    """The characters (ASCII codes, 128 for any other) one single-character item may match."""
    if op is sre.LITERAL:
        return frozenset({av if av < 128 else _NON_ASCII})
    if op is sre.NOT_LITERAL:
        return _ALL - {av}
    if op is sre.IN:
        return _class_chars(av)
    return _ALL  # ANY, and anything this approximation does not model


def _class_chars(items: list[tuple[Any, Any]]) -> frozenset[int]:
    """The characters a character class `[...]` may match."""
    found: set[int] = set()
    negate = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            found.add(av if av < 128 else _NON_ASCII)
        elif op is sre.RANGE:
            found.update(c if c < 128 else _NON_ASCII for c in range(av[0], min(av[1], 128) + 1))
            if av[1] >= 128:
                found.add(_NON_ASCII)
        elif op is sre.CATEGORY:
            found.update(_CATEGORIES.get(av, _ALL))
        else:
            found.update(_ALL)
    return (_ALL - found) | {_NON_ASCII} if negate else frozenset(found)


def _all_chars(items: Any) -> frozenset[int]:
    """Every character a sequence of parsed items may match anywhere."""
    found: set[int] = set()
    for op, av in items:
        if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            found |= _all_chars(av[2])
        elif op is sre.SUBPATTERN:
            found |= _all_chars(av[3])
        elif op is sre.ATOMIC_GROUP:
            found |= _all_chars(av)
        elif op is sre.BRANCH:
            for branch in av[1]:
                found |= _all_chars(branch)
        elif op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY):
            found |= _chars(op, av)
    return frozenset(found)


def _first_chars(items: Any) -> frozenset[int]:
    """The characters a match of ITEMS may start with (approximately: a superset)."""
    found: set[int] = set()
    for op, av in items:
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # zero-width
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY):
            return frozenset(found | _chars(op, av))
        if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
            found |= _first_chars(av[2])
            if av[0] > 0:
                return frozenset(found)
            continue
        return frozenset(found | _all_chars([(op, av)]))
    return frozenset(found)


def _variable_chars(items: Any) -> frozenset[int]:
    """The characters of the parts of ITEMS whose width varies (repeats, alternations)."""
    found: set[int] = set()
    for op, av in items:
        if op in _REPEATS and av[0] != av[1]:
            found |= _all_chars(av[2])
        elif op in _REPEATS:
            found |= _variable_chars(av[2])
        elif op is sre.SUBPATTERN:
            found |= _variable_chars(av[3])
        elif op is sre.BRANCH and _disjoint_starts(av[1]):
            # Only one branch can ever match here: its own varying parts are what vary.
            for branch in av[1]:
                found |= _variable_chars(branch)
        elif op is sre.BRANCH:
            found |= _all_chars([(op, av)])
    return frozenset(found)


def _disjoint_starts(branches: list[Any]) -> bool:
    """Whether no two BRANCHES can start with the same character (`GET|POST`)."""
    seen: set[int] = set()
    for branch in branches:
        first = _first_chars(branch)
        if first & seen or not first:
            return False
        seen |= first
    return True


def _separated(body: Any, varying: frozenset[int]) -> bool:
    """Whether BODY holds a required character none of its varying parts can match: it then
    tells a repeat's iterations apart (as `.` does in `(\\d+\\.)+`)."""
    for op, av in body:
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY) and not _chars(op, av) & varying:
            return True
        if op is sre.SUBPATTERN and _separated(av[3], varying):
            return True
    return False


def _ambiguous(body: Any) -> bool:
    """Whether a repeat of BODY can split one text into iterations in many ways: BODY's width
    varies (backtracking parts: atomic and possessive ones never give back) and no required
    character separates its iterations."""
    low, high = sre_parse.SubPattern(sre_parse.State(), list(body)).getwidth()
    if low == high:
        return False
    varying = _variable_chars(body)
    return bool(varying) and not _separated(body, varying)


def _risk_in(items: Any) -> str | None:
    """The first exponential-backtracking shape in ITEMS, described, or None."""
    for op, av in items:
        if op in _REPEATS and av[1] > 1:
            body = av[2]
            if _ambiguous(body):
                return "a repeated group can match the same text in many ways (like `(a+)+`)"
        children = _children(op, av)
        found = next((r for child in children if (r := _risk_in(child)) is not None), None)
        if found is not None:
            return found
    return None


def _children(op: Any, av: Any) -> list[Any]:
    """The item sequences nested in one parsed item."""
    if op in _REPEATS or op is sre.POSSESSIVE_REPEAT:
        return [av[2]]
    if op is sre.SUBPATTERN:
        return [av[3]]
    if op is sre.BRANCH:
        return list(av[1])
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op is sre.ATOMIC_GROUP:
        return [av]
    return []


def _walk(items: Any, visit: Callable[[Any], bool]) -> bool:
    """Whether VISIT is true for any operator in ITEMS, at any depth."""
    return any(visit(op) or any(_walk(c, visit) for c in _children(op, av)) for op, av in items)


@lru_cache(maxsize=4096)
def backtracking_risk(regex: str) -> str | None:
    """Why REGEX may backtrack exponentially on some line, or None (it must compile)."""
    return _risk_in(sre_parse.parse(regex, re.IGNORECASE))


def check_regex(regex: str, where: str) -> None:
    """Refuse REGEX (PatternError naming WHERE) if it compiles but may backtrack for minutes."""
    try:
        risk = backtracking_risk(regex)
    except (re.error, RecursionError, OverflowError):
        return  # not a regex at all: the caller's compile reports that better
    if risk is not None:
        raise PatternError(
            f"{where}: regex {regex!r} can take minutes on one line: {risk}; {REWRITE_HINT}"
        )


def _re2_compile(regex: str, flags: int) -> BoundedRegex:
    """REGEX compiled by google-re2 (linear-time matching), or PatternError saying why not."""
    if _walk(sre_parse.parse(regex, flags), lambda op: op in _NOT_RE2):
        raise PatternError("it uses back-references or look-arounds, which RE2 cannot run")
    try:
        import re2  # google-re2
    except ImportError as exc:
        raise PatternError("google-re2 is not installed (`pip install google-re2`)") from exc
    options = re2.Options()
    options.case_sensitive = not flags & re.IGNORECASE
    options.log_errors = False
    try:
        return re2.compile(regex, options)  # type: ignore[no-any-return]
    except re2.error as exc:
        raise PatternError(f"RE2 cannot compile it: {exc}") from exc


def compile_bounded(regex: str, flags: int = re.IGNORECASE) -> BoundedRegex:
    """REGEX compiled with `re`, or with RE2 when `re` could backtrack for minutes on it.

    Raises re.error for an invalid regex, PatternError for a risky one RE2 cannot take.
    """
    compiled = re.compile(regex, flags)
    risk = backtracking_risk(regex)
    if risk is None:
        return compiled
    try:
        return _re2_compile(regex, flags)
    except PatternError as exc:
        raise PatternError(f"regex {regex!r}: {risk}, and {exc}; {REWRITE_HINT}") from None
