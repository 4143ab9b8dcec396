"""The Hyperscan engine: every pattern, suppression and level hint in one database, scanned once.

Each pattern is translated (see `regex_translate`) into line-local Hyperscan syntax, twice when
it has anchors: exactly, for matching texts, and without anchors, for selecting lines whose
parsed message (a part of the line) may alert. On a clean text (ASCII, one line, no carriage
return) a hit from an exact translation is trusted as `re` would answer; other hits are checked
with `re`. A pattern Hyperscan cannot take is tried with `re` on every line instead, for that
pattern only, and a warning names it.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.metadata
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hyperscan

from oncall_agent.detection.engine import (
    JSON_ESCAPES,
    LEVEL_HINT,
    UNCLEAN,
    MatchEngine,
)
from oncall_agent.detection.regex_translate import UntranslatableError, translate
from oncall_agent.sources.multiline import line_bounds, line_starts

if TYPE_CHECKING:
    from oncall_agent.detection.patterns import PatternSet

log = logging.getLogger(__name__)

# What a database expression is for (a bit set).
SELECT, MATCH, SUPPRESS, UNCLEAN_HINT = 1, 2, 4, 8
# ONCALL_HYPERSCAN_CACHE=off compiles every database afresh (no files under ~/.cache).
CACHE_ENV = "ONCALL_HYPERSCAN_CACHE"
_BASE_FLAGS = hyperscan.HS_FLAG_MULTILINE


@dataclass
class _Plan:
    """The expressions to compile and what each stands for."""

    expressions: list[bytes] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)
    roles: list[int] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # pattern or suppression index; -1: a hint
    approximate: set[int] = field(default_factory=set)  # patterns whose hits need `re`
    always: set[int] = field(default_factory=set)  # patterns tried with `re` on every text
    always_suppress: set[int] = field(default_factory=set)
    select_every_line: bool = False

    def add(self, expression: bytes, caseless: bool, role: int, owner: int) -> None:
        """Append one expression."""
        self.expressions.append(expression)
        self.flags.append(_BASE_FLAGS | (hyperscan.HS_FLAG_CASELESS if caseless else 0))
        self.roles.append(role)
        self.owners.append(owner)


def _plan_patterns(pattern_set: PatternSet, plan: _Plan, flags: int) -> None:
    """Translate every pattern (exact and relaxed) into PLAN."""
    for index, item in enumerate(pattern_set.compiled):
        try:
            exact = translate(item.regex.pattern, flags)
            relaxed = translate(item.regex.pattern, flags, relaxed=True)
        except UntranslatableError as exc:
            _give_up(plan, MATCH | SELECT, index, f"pattern {item.pattern.name!r}: {exc}")
            continue
        if not exact.exact:
            plan.approximate.add(index)
        if exact.expression == relaxed.expression:
            plan.add(exact.expression, exact.caseless, SELECT | MATCH, index)
        else:
            plan.add(exact.expression, exact.caseless, MATCH, index)
            plan.add(relaxed.expression, relaxed.caseless, SELECT, index)


def _plan_suppressions(pattern_set: PatternSet, plan: _Plan, flags: int) -> None:
    """Translate every suppression into PLAN (a hit only says which ones `re` should apply)."""
    for index, item in enumerate(pattern_set.suppressions):
        try:
            translation = translate(item.regex.pattern, flags)
        except UntranslatableError:
            plan.always_suppress.add(index)
            continue
        plan.add(translation.expression, translation.caseless, SUPPRESS, index)


def _give_up(plan: _Plan, role: int, owner: int, why: str) -> None:
    """Record that expression OWNER (ROLE) is not scanned by Hyperscan, and say so."""
    if role & SUPPRESS:
        plan.always_suppress.add(owner)
        return
    if role & MATCH:
        plan.always.add(owner)
    if role & SELECT:
        plan.select_every_line = True
        log.warning("hyperscan cannot scan %s; every line is checked with Python re", why)


def _build_plan(pattern_set: PatternSet) -> _Plan:
    """Every expression of PATTERN_SET's database."""
    from oncall_agent.detection.patterns import FLAGS

    plan = _Plan()
    _plan_patterns(pattern_set, plan, FLAGS)
    _plan_suppressions(pattern_set, plan, FLAGS)
    plan.add(LEVEL_HINT.encode(), True, SELECT, -1)
    plan.add(JSON_ESCAPES.encode(), False, SELECT, -1)
    plan.add(UNCLEAN, False, UNCLEAN_HINT, -1)
    plan.flags[-1] |= hyperscan.HS_FLAG_SINGLEMATCH  # one hit says "look closer"
    return plan


@lru_cache(maxsize=64)
def _compile(expressions: tuple[bytes, ...], flags: tuple[int, ...]) -> Any:
    """A block-mode database of EXPRESSIONS (ids are their positions); cached per process and
    on disk (compiling the built-in set takes ~0.4 s, loading it a few ms)."""
    path = _cache_path(expressions, flags)
    if path is not None and path.is_file():
        try:
            return hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        except (hyperscan.error, OSError, ValueError, TypeError):
            log.debug("hyperscan cache %s unreadable; compiling again", path)
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=list(expressions),
        ids=list(range(len(expressions))),
        elements=len(expressions),
        flags=list(flags),
    )
    if path is not None:
        _save(path, hyperscan.dumpb(database))
    return database


def _cache_path(expressions: tuple[bytes, ...], flags: tuple[int, ...]) -> Path | None:
    """Where a compiled database of these expressions is kept (None: no cache folder).

    The key covers the expressions, their flags and the library's version, so a database is
    only ever reused for exactly what it was compiled from, by the library that compiled it.
    """
    if os.environ.get(CACHE_ENV, "").strip().lower() in ("0", "off", "no"):
        return None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(repr((expressions, flags, _library_version())).encode())
    return base / "oncall-agent" / "hyperscan" / f"{digest.hexdigest()}.db"


def _library_version() -> str:
    """The hyperscan package's version (a database is tied to the library that compiled it)."""
    try:
        return importlib.metadata.version("hyperscan")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _save(path: Path, data: bytes) -> None:
    """Write DATA to PATH atomically; a cache that cannot be written is only a slower start."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as exc:
        log.debug("hyperscan cache %s not written: %s", path, exc)


def _compile_plan(plan: _Plan, pattern_set: PatternSet) -> Any:
    """The database of PLAN; expressions Hyperscan refuses are dropped (and `re` takes them)."""
    try:
        return _compile(tuple(plan.expressions), tuple(plan.flags))
    except hyperscan.error:
        pass
    for position, expression in enumerate(plan.expressions):
        try:
            _compile((expression,), (plan.flags[position],))
        except hyperscan.error as exc:
            owner, role = plan.owners[position], plan.roles[position]
            name = _name(pattern_set, owner, role)
            _give_up(plan, role, owner, f"{name}: {exc}")
            plan.roles[position] = 0
    kept = [p for p, role in enumerate(plan.roles) if role]
    plan.expressions = [plan.expressions[p] for p in kept]
    plan.flags = [plan.flags[p] for p in kept]
    plan.roles = [plan.roles[p] for p in kept]
    plan.owners = [plan.owners[p] for p in kept]
    return _compile(tuple(plan.expressions), tuple(plan.flags))


def _name(pattern_set: PatternSet, owner: int, role: int) -> str:
    """A readable name for an expression, for warnings."""
    if owner < 0:
        return "a level hint"
    if role & SUPPRESS:
        return f"suppression {pattern_set.suppressions[owner].regex.pattern!r}"
    return f"pattern {pattern_set.compiled[owner].pattern.name!r}"


class HyperscanEngine(MatchEngine):
    """All patterns in one Hyperscan database; `re` only where Hyperscan cannot be exact."""

    name = "hyperscan"

    def __init__(self, pattern_set: PatternSet) -> None:
        """Translate and compile PATTERN_SET (compiled databases are cached per process)."""
        super().__init__(pattern_set)
        plan = _build_plan(pattern_set)
        self._database = _compile_plan(plan, pattern_set)
        self._plan = plan
        self._roles = plan.roles
        self._owners = plan.owners
        self._local = threading.local()

    def _scratch(self) -> Any:
        """This thread's scratch space (a scratch may not be shared by concurrent scans)."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        return scratch

    def select_lines(self, chunk: bytes) -> list[int]:
        """Lines a selecting expression hits, plus unclean lines that may alert."""
        if self._plan.select_every_line:
            return line_starts(chunk)
        chosen: set[int] = set()
        roles = self._roles
        last_end = -1
        unclean = False

        def on_match(expression: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            nonlocal last_end, unclean
            if end <= last_end:
                return
            role = roles[expression]
            if role & SELECT:
                start, last_end = line_bounds(chunk, end - 1)
                chosen.add(start)
            elif role & UNCLEAN_HINT:
                unclean = True

        self._database.scan(chunk, match_event_handler=on_match, scratch=self._scratch())
        if unclean:
            self.unclean_lines(chunk, chosen)
        return sorted(chosen)

    def match_indexes(
        self, texts: Sequence[str], services: Sequence[str | None]
    ) -> list[int | None]:
        """One scan over every clean text; `re` for the rest and for inexact hits."""
        results: list[int | None] = [None] * len(texts)
        clean: list[int] = []
        for position, text in enumerate(texts):
            if text.isascii() and "\n" not in text and "\r" not in text:
                clean.append(position)
            else:
                results[position] = self.pattern_set.match_index(text, services[position])
        if clean:
            self._match_clean(texts, services, clean, results)
        return results

    def _match_clean(
        self,
        texts: Sequence[str],
        services: Sequence[str | None],
        clean: list[int],
        results: list[int | None],
    ) -> None:
        """Fill RESULTS for the CLEAN texts from one scan of them, newline-separated."""
        hits, suppressing = self._scan_texts([texts[p] for p in clean])
        plan = self._plan
        for k, position in enumerate(clean):
            found = hits.get(k)
            if not found and not plan.always:
                continue
            found = found or set()
            results[position] = self.pattern_set.first_alert(
                texts[position],
                services[position],
                sorted(found | plan.always),
                known=found - plan.approximate,
                suppressing=suppressing.get(k, set()) | plan.always_suppress,
            )

    def _scan_texts(self, texts: list[str]) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
        """Per text (by position): the patterns and the suppressions whose expressions hit."""
        ends = list(accumulate(len(t) + 1 for t in texts))  # one past each text's newline
        hits: dict[int, set[int]] = {}
        suppressing: dict[int, set[int]] = {}
        roles, owners = self._roles, self._owners

        def on_match(expression: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            role = roles[expression]
            if role & MATCH:
                hits.setdefault(bisect.bisect_left(ends, end), set()).add(owners[expression])
            elif role & SUPPRESS:
                suppressing.setdefault(bisect.bisect_left(ends, end), set()).add(owners[expression])

        payload = ("\n".join(texts) + "\n").encode("ascii")
        self._database.scan(payload, match_event_handler=on_match, scratch=self._scratch())
        return hits, suppressing
