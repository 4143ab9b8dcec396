"""Matching engines: which lines of a chunk may alert, and which pattern many texts alert with.

An engine serves one PatternSet and answers two questions:
- `select_lines(chunk)`: the start offsets of the lines, in a chunk of complete lines, that may
  alert. A superset: a line left out raises no alert, by its text or by its parsed level,
  whatever part of it a parser keeps as the message. The file source builds events only for
  these lines, so the per-line work (decode, parse, match, mask) is done on few lines.
- `match_texts(texts, services)`: exactly what `PatternSet.match` answers, for many texts.

Two engines: Hyperscan (PyPI `hyperscan`) scans a whole chunk for every pattern at once; the
pure-Python engine runs one combined keyword regex over the lower-cased chunk and then
`PatternSet.match` per text. `ONCALL_DETECTION_ENGINE=python` forces the second, which is also
used when hyperscan cannot be imported. `active_engine_name()` says which one is in use.
"""

from __future__ import annotations

import importlib.util
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.literals import keyword_regex
from oncall_agent.errors import ConfigError
from oncall_agent.sources.multiline import line_bounds, line_starts

if TYPE_CHECKING:
    from oncall_agent.detection.patterns import PatternSet

ENGINE_ENV = "ONCALL_DETECTION_ENGINE"
ENGINE_CHOICES = ("auto", "hyperscan", "python")
# A line may alert by its parsed level alone ("ERROR", "[crit]", "level=fatal", JSON fields):
# any level word that can mean error or worse, in any case, makes the line a candidate.
LEVEL_HINT = r"\b(?:err|error|severe|fatal|crit|critical|emerg|emergency|alert|panic)\b"
# A JSON line with escapes: its decoded message may hold text its raw bytes do not.
JSON_ESCAPES = r"^\{[^\n]*\\"
_LEVEL_HINT_TEXT = re.compile(LEVEL_HINT, re.IGNORECASE)
_LEVEL_WORDS = ("err", "severe", "fatal", "crit", "emerg", "alert", "panic")  # LEVEL_HINT's stems
# A line the byte-level scans do not judge: non-ASCII, or a carriage return inside the text.
UNCLEAN = rb"[\x80-\xff]|\r[^\r\n]"
_UNCLEAN = re.compile(UNCLEAN)


class MatchEngine(ABC):
    """Chunk selection and batch matching for one PatternSet."""

    name: ClassVar[str]

    def __init__(self, pattern_set: PatternSet) -> None:
        """Serve PATTERN_SET."""
        self.pattern_set = pattern_set

    @abstractmethod
    def select_lines(self, chunk: bytes) -> list[int]:
        """Sorted start offsets of the lines of CHUNK (complete lines) that may alert."""

    def match_texts(
        self, texts: Sequence[str], services: Sequence[str | None]
    ) -> list[AlertPattern | None]:
        """For each text, the pattern `PatternSet.match` gives for it with its service."""
        compiled = self.pattern_set.compiled
        return [
            None if index is None else compiled[index].pattern
            for index in self.match_indexes(texts, services)
        ]

    @abstractmethod
    def match_indexes(
        self, texts: Sequence[str], services: Sequence[str | None]
    ) -> list[int | None]:
        """Like `match_texts`, with the winning patterns' indexes in the set."""

    def may_alert(self, line: str) -> bool:
        """Whether one decoded line may alert by its text or level (keywords and hints only)."""
        return (
            self.pattern_set.may_match(line)
            or _LEVEL_HINT_TEXT.search(line) is not None
            or (line.startswith("{") and "\\" in line)
        )

    def unclean_lines(self, chunk: bytes, chosen: set[int]) -> None:
        """Add to CHOSEN the unclean lines (see UNCLEAN) that may alert once decoded.

        The byte-level scans are only trusted on clean lines; these are decoded and checked.
        """
        pos = 0
        while (found := _UNCLEAN.search(chunk, pos)) is not None:
            start, end = line_bounds(chunk, found.start())
            if start not in chosen and self.may_alert(chunk[start:end].decode("utf-8", "replace")):
                chosen.add(start)
            pos = end


class PythonEngine(MatchEngine):
    """Pure Python: a combined keyword regex over the lower-cased chunk, then `re` per text."""

    name = "python"

    def __init__(self, pattern_set: PatternSet) -> None:
        """Build one bytes regex finding any keyword or level word (as a substring)."""
        super().__init__(pattern_set)
        keywords = pattern_set.keywords
        self._every_line = keywords is None
        # One trie, no anchors nor \b: `re` then skips quickly to a possible first letter.
        finder = keyword_regex({*(keywords or ()), *_LEVEL_WORDS})
        assert finder is not None  # the level words are never empty
        self._finder = re.compile(finder.pattern.encode())

    def select_lines(self, chunk: bytes) -> list[int]:
        """Lines holding a keyword or level word (lower-cased), escaped JSON, or unclean text."""
        if self._every_line:
            return line_starts(chunk)
        lowered = chunk.lower()
        chosen: set[int] = set()
        pos = 0
        while (found := self._finder.search(lowered, pos)) is not None:
            start, pos = line_bounds(chunk, found.start())
            chosen.add(start)
        _json_lines(chunk, chosen)
        if not chunk.isascii() or _UNCLEAN.search(chunk) is not None:
            self.unclean_lines(chunk, chosen)
        return sorted(chosen)

    def match_indexes(
        self, texts: Sequence[str], services: Sequence[str | None]
    ) -> list[int | None]:
        """`PatternSet.match_index` for each text."""
        match = self.pattern_set.match_index
        return [match(text, service) for text, service in zip(texts, services, strict=True)]


def _json_lines(chunk: bytes, chosen: set[int]) -> None:
    """Add to CHOSEN the JSON lines of CHUNK holding an escape (see JSON_ESCAPES)."""
    found = chunk.find(b"\n{")
    start = 0 if chunk.startswith(b"{") else (found + 1 if found >= 0 else -1)
    while start >= 0:
        end = chunk.find(b"\n", start)
        end = len(chunk) if end < 0 else end
        if chunk.find(b"\\", start, end) >= 0:
            chosen.add(start)
        found = chunk.find(b"\n{", end)
        start = found + 1 if found >= 0 else -1


def hyperscan_available() -> bool:
    """Whether the hyperscan package can be imported here."""
    return importlib.util.find_spec("hyperscan") is not None


def _requested() -> str:
    """The engine asked for by ONCALL_DETECTION_ENGINE (auto when unset)."""
    wanted = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if wanted not in ENGINE_CHOICES:
        raise ConfigError(
            f"{ENGINE_ENV}={wanted!r} is not an engine; use one of {', '.join(ENGINE_CHOICES)}"
        )
    return wanted


def active_engine_name() -> str:
    """The engine new pattern sets use: "hyperscan" or "python"."""
    wanted = _requested()
    if wanted == "python":
        return "python"
    if hyperscan_available():
        return "hyperscan"
    if wanted == "hyperscan":
        raise ConfigError(
            f"{ENGINE_ENV}=hyperscan but the hyperscan package is not installed; "
            "`pip install hyperscan` or unset the variable"
        )
    return "python"


def build_engine(pattern_set: PatternSet, name: str | None = None) -> MatchEngine:
    """The engine NAME (default: `active_engine_name()`) for PATTERN_SET."""
    chosen = name or active_engine_name()
    if chosen == "hyperscan":
        from oncall_agent.detection.engine_hyperscan import HyperscanEngine

        return HyperscanEngine(pattern_set)
    if chosen == "python":
        return PythonEngine(pattern_set)
    raise ConfigError(f"unknown detection engine {chosen!r}; use hyperscan or python")
