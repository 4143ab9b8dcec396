"""Required literals of a regex: strings, one of which every match of the regex contains.

This is what makes the prefilter cheap. Python's `re` tries every branch of a case-insensitive
alternation at every position of a line (about 100 µs a line for the default set), while a
search for plain, case-folded keywords is a fraction of that. The keywords are derived from each
regex's parse tree, so user patterns get them too; a regex for which none can be found (say
`\\d+`) is simply tried on every line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

Keywords = frozenset[str]

_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT}
_REPEATS.add(getattr(sre_constants, "POSSESSIVE_REPEAT", sre_constants.MAX_REPEAT))


def _score(keywords: Keywords) -> tuple[int, int]:
    """How selective a keyword set is: longer shortest keyword first, then fewer keywords."""
    return (min(len(k) for k in keywords), -len(keywords))


def _best(candidates: list[Keywords]) -> Keywords | None:
    """The most selective of CANDIDATES (each alone is required), or None if there is none."""
    usable = [c for c in candidates if c and all(c)]
    return max(usable, key=_score) if usable else None


def _node(op: Any, av: Any) -> Keywords | None:
    """The keywords a single parse-tree node requires, or None."""
    if op is sre_constants.SUBPATTERN:
        return _sequence(av[-1])
    if op is getattr(sre_constants, "ATOMIC_GROUP", None):
        return _sequence(av)
    if op is sre_constants.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            keywords = _sequence(branch)
            if keywords is None:
                return None
            union |= keywords
        return frozenset(union)
    if op in _REPEATS and av[0] >= 1:
        return _sequence(av[2])
    return None


def _sequence(items: Iterable[tuple[Any, Any]]) -> Keywords | None:
    """The keywords a sequence requires: its best literal run or its best required node."""
    candidates: list[Keywords] = []
    run: list[str] = []
    for op, av in items:
        if op is sre_constants.LITERAL:
            run.append(chr(av))
            continue
        if run:
            candidates.append(frozenset({"".join(run)}))
            run = []
        keywords = _node(op, av)
        if keywords is not None:
            candidates.append(keywords)
    if run:
        candidates.append(frozenset({"".join(run)}))
    return _best(candidates)


def required_literals(regex: str, flags: int = re.IGNORECASE) -> Keywords | None:
    """Case-folded strings one of which any match of REGEX contains, or None if unknown."""
    try:
        keywords = _sequence(sre_parser.parse(regex, flags))
    except Exception:  # a private parser may change: fall back to no prefilter
        return None
    if keywords is None:
        return None
    folded = frozenset(k.casefold() for k in keywords)
    return folded if all(folded) else None


def shortest_prefixes(keywords: Iterable[str]) -> dict[str, str]:
    """Map each keyword to the shortest keyword it starts with (itself when there is none)."""
    ordered = sorted(set(keywords), key=len)
    result: dict[str, str] = {}
    for word in ordered:
        result[word] = next((k for k in ordered if len(k) < len(word) and word.startswith(k)), word)
    return result


def keyword_regex(keywords: Iterable[str], *, overlapping: bool = False) -> re.Pattern[str] | None:
    """A regex finding the keywords, shaped as a trie; OVERLAPPING finds one at every position.

    A keyword that extends a shorter one is never reported: the shorter one is found instead.
    """
    trie: dict[str, Any] = {}
    for word in sorted(set(keywords)):
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    if not trie:
        return None
    source = _trie_source(trie)
    return re.compile(f"(?=({source}))" if overlapping else source)


def _trie_source(node: dict[str, Any]) -> str:
    """The regex source matching the words stored below NODE (a prefix may end a word)."""
    if "" in node:
        # A shorter keyword suffices: anything longer that starts with it matches it too.
        return ""
    branches = [re.escape(char) + _trie_source(child) for char, child in sorted(node.items())]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
