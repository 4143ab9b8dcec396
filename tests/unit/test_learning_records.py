"""History cells: what is accepted, and what the error says otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oncall_agent.learning.records import parse_duration, parse_success, validate_row


@pytest.mark.parametrize(
    ("text", "value"),
    [("yes", True), ("TRUE", True), ("1", True), ("no", False), ("0", False), ("", None)],
)
def test_success_words(text: str, value: bool | None) -> None:
    """true/false/yes/no/1/0 in any case, and empty for unknown."""
    assert parse_success(text) is value


def test_durations_are_minutes_or_carry_a_unit() -> None:
    """A bare number is minutes; s/m/h/d suffixes are honoured; empty is unknown."""
    assert parse_duration("45") == timedelta(minutes=45)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("") is None


def test_every_bad_cell_of_a_row_is_reported_with_what_to_do() -> None:
    """A row with three bad cells gets three errors, each naming the row and its column."""
    parsed = validate_row(
        7,
        {"timestamp": "soon", "title": "x", "service": "s", "severity": "error",
         "solution": "fix", "success": "perhaps", "resolution_time": "-5"},
    )  # fmt: skip
    assert parsed.value is None
    assert {e.column for e in parsed.errors} == {"timestamp", "success", "resolution_time"}
    assert all(str(e).startswith("row 7, column ") for e in parsed.errors)
    assert "ISO 8601" in str(next(e for e in parsed.errors if e.column == "timestamp"))
