"""Templates of messages that differ only in their digits, masked once.

Masking a line costs tens of microseconds, and the lines of one kind mostly differ in numbers.
Masking treats most digits alike: a rule matches `\\d`, never "7" in particular. Let D be the
non-zero digits no masking regex or constant names literally (found by reading the masking
modules' compiled regexes and strings), and
z the map sending every digit of D to the smallest one. Then mask(z(s)) == z(mask(s)) for every
message s, so when mask(s) holds no digit of D, every message s' with z(s') == z(s) has the same
template. The cache keys templates by z(s) and keeps only those without a digit of D.

Masking is code that changes; two guards keep the cache honest: every CHECK_EVERY-th hit is
masked again and compared (a difference turns the cache off, with a warning), and a test
compares cached and fresh templates over the LogHub samples with their digits shuffled.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

DIGITS = frozenset("0123456789")
_GROUP_REFERENCE = re.compile(r"\\(?:\d+|g<\w+>)")
CACHE_SIZE = 65536
CHECK_EVERY = 97


def _regex_digits(pattern: str, flags: int) -> set[str]:
    """Digits a regex names literally (alone, negated, or as the edge of a partial range)."""
    try:
        parsed = sre_parser.parse(pattern, flags)
    except Exception:  # not a regex (or a private parser changed): every digit it holds
        return set(DIGITS.intersection(pattern))
    named: set[str] = set()
    _walk(parsed, named)
    return named


def _walk(items: Iterable[Any], named: set[str]) -> None:
    """Collect into NAMED the digits the parse-tree ITEMS name literally."""
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL) and chr(av) in DIGITS:
            named.add(chr(av))
        elif op is C.RANGE:
            low, high = av
            span = {chr(c) for c in range(low, high + 1)} & DIGITS
            if span and span != DIGITS:
                named |= span
        elif op is C.IN:
            _walk(av, named)
        elif isinstance(av, tuple | list):
            for part in av:
                if isinstance(part, sre_parser.SubPattern):
                    _walk(part, named)
                elif isinstance(part, list):
                    for sub in part:
                        if isinstance(sub, sre_parser.SubPattern):
                            _walk(sub, named)
        elif isinstance(av, sre_parser.SubPattern):
            _walk(av, named)


def _value_digits(value: Any, named: set[str], strings: bool, depth: int = 0) -> None:
    """Collect the digits named by VALUE: a regex, a string (if STRINGS), or a container."""
    if depth > 4:
        return
    if isinstance(value, re.Pattern):
        source = value.pattern
        if isinstance(source, str):
            named |= _regex_digits(source, value.flags)
    elif isinstance(value, str) and strings and len(value) > 1:
        # A regex source, a needle or a replacement: a lone digit only tests for "a digit"
        # among needles, a quantifier ({2}) or a group reference (\1) names none.
        text = _GROUP_REFERENCE.sub("", value)
        named |= _regex_digits(text, 0) if DIGITS.intersection(text) else set()
    elif isinstance(value, tuple | list | set | frozenset):
        for item in value:
            _value_digits(item, named, strings, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _value_digits(key, named, strings, depth + 1)
            _value_digits(item, named, strings, depth + 1)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            _value_digits(getattr(value, name, None), named, strings, depth + 1)


@lru_cache(maxsize=8)
def named_digits(masker: Callable[[str], str]) -> frozenset[str]:
    """Digits MASKER's module names in a regex or a constant, or a project module it uses in a
    compiled regex (their other strings are names and messages, not masking rules)."""
    modules = _modules_of(masker)
    named: set[str] = set()
    for module in modules:
        for name, value in vars(module).items():
            if not name.startswith("__"):
                _value_digits(value, named, strings=module is modules[0])
    return frozenset(named)


def _modules_of(masker: Callable[[str], str]) -> list[ModuleType]:
    """MASKER's module and, transitively, the project modules whose functions it refers to."""
    root = sys.modules.get(getattr(masker, "__module__", ""), None)
    found: list[ModuleType] = []
    pending = [root] if root is not None else []
    while pending:
        module = pending.pop()
        if module in found:
            continue
        found.append(module)
        for value in vars(module).values():
            owner = sys.modules.get(getattr(value, "__module__", "") or "")
            if (
                owner is not None
                and owner.__name__.startswith("oncall_agent")
                and owner not in found
            ):
                pending.append(owner)
    return found


class TemplateCache:
    """Masks messages, reusing the template of a message that differs only in its digits."""

    def __init__(self, masker: Callable[[str], str], size: int = CACHE_SIZE) -> None:
        """Cache MASKER's templates (at most SIZE of them)."""
        self._masker = masker
        self._size = size
        # Zero is never free: leading zeros, "0x" and "0.00" are where notation hides in digits.
        free = sorted(DIGITS - named_digits(masker) - {"0"})
        self._free = "".join(free)
        # bytes.translate runs in C; str.translate looks every character up in a dict.
        self._table = (
            bytes.maketrans(self._free.encode(), free[0].encode() * len(free)) if free else b""
        )
        self._templates: dict[bytes, str] = {}
        self.hits = self.misses = 0  # for reports (benchmarks)
        self._lock = threading.Lock()  # the cache is shared by every detector of a process
        self.enabled = len(free) > 1

    def template(self, message: str) -> str:
        """The template of MESSAGE, as MASKER gives it."""
        if not self.enabled:
            return self._masker(message)
        key = message.encode("utf-8", "surrogatepass").translate(self._table)
        cached = self._templates.get(key)
        if cached is not None:
            self.hits += 1
            if self.hits % CHECK_EVERY == 0:
                return self._checked(message, cached)
            return cached
        template = self._masker(message)
        self.misses += 1
        if not any(digit in template for digit in self._free):
            with self._lock:
                if len(self._templates) >= self._size:
                    self._templates.clear()  # crude, but bounded and rare
                self._templates[key] = template
        return template

    def _checked(self, message: str, cached: str) -> str:
        """Mask MESSAGE afresh; if the cached template differs, stop caching and say so."""
        fresh = self._masker(message)
        if fresh != cached:
            self.enabled = False
            self._templates.clear()
            log.warning(
                "masking is not digit-invariant (%r masks to %r, cache said %r); "
                "template cache turned off",
                message[:200],
                fresh[:200],
                cached[:200],
            )
        return fresh


@lru_cache(maxsize=8)
def shared_cache(masker: Callable[[str], str]) -> TemplateCache:
    """The one cache of MASKER's templates in this process (detectors share what they learn)."""
    return TemplateCache(masker)
