"""The resolution's step report: literal text in markdown, and step timings."""

from __future__ import annotations

import time

from oncall_agent.markdown import escape_markdown as md_text
from oncall_agent.resolution.report import StepClock


def test_placeholders_and_brackets_display_literally_in_markdown() -> None:
    """`<NUM>`, `[ledger]`, pipes and stars survive a markdown renderer as written."""
    text = md_text("expected=<NUM> actual=<VAL> [ledger] a|b *x*")
    assert "<" not in text and ">" not in text
    assert "&lt;NUM&gt;" in text and "&lt;VAL&gt;" in text
    assert r"\[ledger\]" in text and r"a\|b" in text and r"\*x\*" in text


def test_step_clock_adds_up_repeated_steps() -> None:
    """A step timed twice reports the sum of both."""
    clock = StepClock()
    for _ in range(2):
        with clock.step("act"):
            time.sleep(0.01)
    assert clock.seconds["act"] >= 0.02
    assert set(clock.seconds) == {"act"}
