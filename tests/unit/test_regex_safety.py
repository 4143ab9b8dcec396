"""Regexes that backtrack for minutes are named when added, and run in linear time if stored."""

from __future__ import annotations

import re
import time

import pytest

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.defaults import DEFAULT_PATTERNS, DEFAULT_SUPPRESSIONS
from oncall_agent.detection.patterns import compile_patterns
from oncall_agent.detection.regex_safety import backtracking_risk, check_regex, compile_bounded
from oncall_agent.errors import PatternError
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.matcher import IncidentText, rank_entries
from oncall_agent.knowledge.spec import KnowledgeEntrySpec

HOSTILE_LINE = "a" * 4000 + "!"
RISKY = [r"(a+)+$", r"(a*)*b", r"^(\w+\s?)*$", r"(a|aa)+$", r"(x+x+)+y", r"(.*?,){11}P"]
SAFE = [
    r"(\d+\.)+\d+",
    r"(\d{1,3}\.){3}\d{1,3}",
    r"(GET|POST)+ /",
    r"(a+)++$",
    r"(?>a+)+$",
    r"(\s*,\s*\w+)*",
    r"timeout after \d+ ms",
]


@pytest.mark.parametrize("regex", RISKY)
def test_exponential_shapes_are_named(regex: str) -> None:
    """Nested or ambiguous repeats are reported with a way to rewrite them."""
    assert backtracking_risk(regex) is not None
    with pytest.raises(PatternError, match="possessive"):
        check_regex(regex, "alert pattern 'x'")


@pytest.mark.parametrize("regex", SAFE)
def test_linear_shapes_pass(regex: str) -> None:
    """Repeats whose iterations a separator tells apart, possessive and atomic ones pass."""
    assert backtracking_risk(regex) is None
    check_regex(regex, "alert pattern 'x'")


def test_no_builtin_pattern_suppression_or_entry_is_refused() -> None:
    """Every regex the agent ships passes the check."""
    shipped = [p.regex for p in DEFAULT_PATTERNS] + list(DEFAULT_SUPPRESSIONS)
    shipped += [p for entry in DEFAULT_ENTRIES for p in entry.patterns]
    assert [r for r in shipped if backtracking_risk(r)] == []


def test_stored_risky_regex_runs_in_linear_time() -> None:
    """A risky regex already stored is run by RE2: the hostile line takes milliseconds."""
    compiled = compile_bounded(r"(a+)+$")
    assert not isinstance(compiled, re.Pattern)
    started = time.monotonic()
    assert compiled.search(HOSTILE_LINE) is None
    assert compiled.search("xx aaa") is not None
    assert time.monotonic() - started < 0.5


def test_risky_regex_re2_cannot_run_is_refused() -> None:
    """A risky regex with a back-reference cannot be bounded: it is refused, saying why."""
    with pytest.raises(PatternError, match="back-references"):
        compile_bounded(r"(a+)+\1$")


def test_pattern_set_with_a_stored_risky_pattern_matches_quickly() -> None:
    """The pure-Python reference matcher answers on the hostile line in well under a second."""
    patterns = compile_patterns([AlertPattern(name="as", regex=r"(a+)+$", category="error")])
    started = time.monotonic()
    assert patterns.match(HOSTILE_LINE) is None
    assert patterns.match("error aaaa") is not None
    assert time.monotonic() - started < 0.5


def test_knowledge_entry_with_a_risky_pattern_ranks_quickly() -> None:
    """Ranking against an entry holding `(a+)+$` (stored before the check) is bounded."""
    entry = KnowledgeEntrySpec(key="as", title="A storm", patterns=[r"(a+)+$"], solution="s")
    started = time.monotonic()
    line = "a" * 2000 + "!"  # within the matcher's 4,000-character cap
    incident = IncidentText(title="storm", template=line, samples=[line])
    assert [m.components["pattern"] for m in rank_entries(incident, [entry])] in ([], [0.0])
    assert rank_entries(IncidentText(title="aaaa"), [entry])[0].components["pattern"] == 1.0
    assert time.monotonic() - started < 2.0
