"""Compiling alert patterns into a PatternSet: priority order, suppressions, a cheap prefilter.

Each pattern's regex yields required keywords (see `literals`); one combined keyword regex, run
on the case-folded line, is the prefilter of the pure-Python path. Only a line that passes it
goes on: the patterns whose keywords it holds are tried in priority order, and the first that
matches wins, unless the match disappears once suppressions (benign look-alikes such as
``error_rate=0.00``) are blanked out. A message of several lines (a stack trace) alerts with the
best pattern any one of its lines alerts with: patterns never span lines.

`PatternSet.match` is the reference semantics. `PatternSet.engine` (see `engine`) gives the same
answers for many texts or whole chunks at once, with Hyperscan when it is installed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.defaults import DEFAULT_PATTERNS, DEFAULT_SUPPRESSIONS
from oncall_agent.detection.literals import (
    Keywords,
    keyword_regex,
    required_literals,
    shortest_prefixes,
)
from oncall_agent.detection.regex_safety import BoundedRegex, compile_bounded
from oncall_agent.errors import PatternError

if TYPE_CHECKING:
    from oncall_agent.detection.engine import MatchEngine

__all__ = [
    "DEFAULT_PATTERNS",
    "DEFAULT_SUPPRESSIONS",
    "AlertPattern",
    "CompiledPattern",
    "PatternSet",
    "compile_patterns",
    "default_pattern_set",
]

FLAGS = re.IGNORECASE


@dataclass(frozen=True)
class CompiledPattern:
    """A pattern with its compiled regex and required keywords (None: try on every line)."""

    pattern: AlertPattern
    regex: BoundedRegex  # `re`, or RE2 for a regex `re` could backtrack on for minutes
    keywords: Keywords | None

    def may_match(self, folded: str) -> bool:
        """Whether the case-folded line holds one of this pattern's keywords."""
        return self.keywords is None or any(k in folded for k in self.keywords)


class PatternSet:
    """Compiled alert patterns in priority order, with a keyword prefilter and suppressions."""

    def __init__(
        self, compiled: Sequence[CompiledPattern], suppressions: Sequence[CompiledPattern]
    ) -> None:
        """Index the patterns by keyword and build the prefilter from all keywords."""
        self.compiled = tuple(compiled)
        self.suppressions = tuple(suppressions)
        self._always = frozenset(i for i, c in enumerate(compiled) if c.keywords is None)
        self._by_keyword = self._index(compiled)
        self._prefilter = keyword_regex(self._by_keyword)
        self._scanner = keyword_regex(self._by_keyword, overlapping=True)
        self._engine: MatchEngine | None = None
        self._engine_lock = threading.Lock()

    @staticmethod
    def _index(compiled: Sequence[CompiledPattern]) -> dict[str, frozenset[int]]:
        """Which patterns each reportable keyword may stand for (see `keyword_regex`)."""
        owners: dict[str, set[int]] = {}
        for index, item in enumerate(compiled):
            for keyword in item.keywords or ():
                owners.setdefault(keyword, set()).add(index)
        index_of: dict[str, set[int]] = {}
        for keyword, shortest in shortest_prefixes(owners).items():
            index_of.setdefault(shortest, set()).update(owners[keyword])
        return {k: frozenset(v) for k, v in index_of.items()}

    @property
    def patterns(self) -> list[AlertPattern]:
        """The patterns, in the order they are tried."""
        return [c.pattern for c in self.compiled]

    @property
    def keywords(self) -> frozenset[str] | None:
        """Every case-folded keyword of the prefilter, or None if some pattern has none."""
        return None if self._always else frozenset(self._by_keyword)

    @property
    def engine(self) -> MatchEngine:
        """The matching engine for this set (built on first use; see `engine.build_engine`)."""
        with self._engine_lock:
            if self._engine is None:
                from oncall_agent.detection.engine import build_engine  # import cycle

                self._engine = build_engine(self)
            return self._engine

    def may_match(self, text: str) -> bool:
        """Cheap check: False means no pattern can match TEXT (safe to skip the line)."""
        if self._always:
            return True
        return self._prefilter is not None and self._prefilter.search(text.casefold()) is not None

    def _candidates(self, folded: str) -> list[int]:
        """Indexes, in priority order, of the patterns whose keywords the folded line holds."""
        first = self._prefilter.search(folded) if self._prefilter is not None else None
        if first is None or self._scanner is None:
            return sorted(self._always)
        found = {m.group(1) for m in self._scanner.finditer(folded, first.start())}
        return sorted(self._always.union(*(self._by_keyword[k] for k in found)))

    def match(self, text: str, service: str | None = None) -> AlertPattern | None:
        """The first pattern (priority order) that matches TEXT for SERVICE, or None."""
        index = self.match_index(text, service)
        return None if index is None else self.compiled[index].pattern

    def match_index(self, text: str, service: str | None = None) -> int | None:
        """Like `match`, but the winning pattern's index; each line of TEXT is tried."""
        if "\n" not in text:
            return self.first_alert(text, service, self._candidates(text.casefold()))
        found = (self.match_index(line, service) for line in text.split("\n"))
        return min((i for i in found if i is not None), default=None)

    def first_alert(
        self,
        line: str,
        service: str | None,
        candidates: Iterable[int],
        known: Container[int] = (),
        suppressing: Iterable[int] | None = None,
    ) -> int | None:
        """The first of CANDIDATES (ascending) that alerts on LINE once suppressions are applied.

        KNOWN holds candidates already known to match LINE (their regex is not run again);
        SUPPRESSING limits the suppressions tried (None: those whose keywords LINE holds).
        """
        cleaned: str | None = None
        for index in candidates:
            item = self.compiled[index]
            if not item.pattern.applies_to(service):
                continue
            if index not in known and not item.regex.search(line):
                continue
            # Suppressions cost something, so they run only on a line that would alert.
            if cleaned is None:
                cleaned = self._suppressed(line, suppressing)
            if cleaned is line or item.regex.search(cleaned):
                return index
        return None

    def _suppressed(self, line: str, suppressing: Iterable[int] | None) -> str:
        """LINE with the spans of every applicable suppression blanked out (itself if none)."""
        if suppressing is None:
            folded = line.casefold()
            rules = [r for r in self.suppressions if r.may_match(folded)]
        else:
            rules = [self.suppressions[i] for i in sorted(set(suppressing))]
        for rule in rules:
            line = rule.regex.sub(" ", line)
        return line


def _compile_one(pattern: AlertPattern) -> BoundedRegex:
    """Compile one pattern (see `regex_safety`), errors as a PatternError that names it."""
    try:
        return compile_bounded(pattern.regex, FLAGS)
    except PatternError as exc:
        raise PatternError(f"alert pattern {pattern.name!r}: {exc}") from None
    except re.error as exc:
        raise PatternError(
            f"alert pattern {pattern.name!r}: invalid regex {pattern.regex!r}: {exc}; "
            "fix the regex (Python re syntax) and add the pattern again"
        ) from exc
    except (OverflowError, RecursionError) as exc:
        raise PatternError(
            f"alert pattern {pattern.name!r}: regex {pattern.regex!r} is too large: {exc}"
        ) from exc


def _compile(pattern: AlertPattern) -> CompiledPattern:
    """Compile PATTERN with its keywords."""
    return CompiledPattern(pattern, _compile_one(pattern), required_literals(pattern.regex, FLAGS))


def compile_patterns(
    patterns: Iterable[AlertPattern], suppressions: Iterable[str] | None = None
) -> PatternSet:
    """Compile PATTERNS once (first match wins); raises PatternError naming a bad regex."""
    compiled: list[CompiledPattern] = []
    seen: set[str] = set()
    for pattern in patterns:
        if pattern.name in seen:
            raise PatternError(f"alert pattern name {pattern.name!r} is used twice; rename one")
        seen.add(pattern.name)
        compiled.append(_compile(pattern))
    rules = DEFAULT_SUPPRESSIONS if suppressions is None else list(suppressions)
    suppressing = [
        _compile(AlertPattern(name=f"suppression #{n}", regex=rule, category="suppression"))
        for n, rule in enumerate(rules, start=1)
    ]
    return PatternSet(compiled, suppressing)


@lru_cache(maxsize=1)
def default_pattern_set() -> PatternSet:
    """The built-in patterns and suppressions, compiled once per process."""
    return compile_patterns(DEFAULT_PATTERNS)
