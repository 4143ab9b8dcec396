"""The prefilter never drops a line a pattern matches: keywords are truly required."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.defaults import DEFAULT_PATTERNS, DEFAULT_SUPPRESSIONS
from oncall_agent.detection.literals import keyword_regex, required_literals
from oncall_agent.detection.patterns import compile_patterns, default_pattern_set

LOGHUB = Path(__file__).parent.parent / "data" / "loghub"

# (regex, a text it matches): tricky shapes for keyword extraction.
CASES = [
    (r"connection refused|could not connect|connectionerror", "Could Not Connect to x"),
    (r"foo(bar)?baz", "FOOBAZ"),
    (r"(?:ab|cd)+x", "zzcdabx"),
    (r"a(?=bcd)", "xabcd"),
    (r"x{0,3}yes", "yes"),
    (r"(?-i:ERROR)|warn", "WARN"),
    (r"stra(ss|ß)e", "STRASSE"),
    (r"kelvin", "\u212aelvin"),  # the Kelvin sign folds to k
    (r"(?P<w>\w+) (?P=w)", "the the"),
    (r"\d{3}-\d{4}", "555-1234"),
    (r"[Ee]rror: (?:disk|tape) full", "error: TAPE full"),
]


@pytest.mark.parametrize(("regex", "text"), CASES)
def test_a_match_always_contains_a_keyword(regex: str, text: str) -> None:
    """Whenever a regex matches, the folded text holds one of its keywords (if it claims any)."""
    assert re.search(regex, text, re.IGNORECASE)
    keywords = required_literals(regex)
    assert keywords is None or any(k in text.casefold() for k in keywords)


def test_keywords_are_found_for_literal_heavy_patterns() -> None:
    """Plain words yield keywords, so the prefilter can reject lines without them."""
    assert required_literals("No space left on device") == {"no space left on device"}
    assert required_literals(r"\d+") is None


def test_keyword_regex_reports_the_shortest_prefix() -> None:
    """A keyword that extends a shorter one is found as the shorter one."""
    regex = keyword_regex(["error", "err", "exception"])
    assert regex is not None
    assert regex.findall("stderr exception") == ["err", "exception"]


def _reference(text: str) -> str | None:
    """The first default pattern matching TEXT, found the slow way (no prefilter)."""
    cleaned = text
    for rule in DEFAULT_SUPPRESSIONS:
        cleaned = re.sub(rule, " ", cleaned, flags=re.IGNORECASE)
    for pattern in DEFAULT_PATTERNS:
        flags = re.IGNORECASE
        if re.search(pattern.regex, text, flags) and re.search(pattern.regex, cleaned, flags):
            return pattern.name
    return None


def test_prefilter_changes_no_result_on_real_logs() -> None:
    """On every 4th LogHub line, the fast PatternSet agrees with trying every pattern."""
    lines = [
        line
        for path in sorted(LOGHUB.glob("*/*_2k.log"))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()[::4]
    ]
    patterns = default_pattern_set()
    fast = [(p.name if (p := patterns.match(line)) else None) for line in lines]
    assert fast == [_reference(line) for line in lines]
    assert sum(1 for name in fast if name) > 300  # the sample does exercise the patterns


def test_user_pattern_without_keywords_disables_the_quick_reject() -> None:
    """With a pattern the prefilter cannot summarise, may_match lets every line through."""
    patterns = compile_patterns([AlertPattern(name="n", regex=r"\d{3}", category="c")])
    assert patterns.may_match("nothing alarming")
