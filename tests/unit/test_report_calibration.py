"""Calibration (ECE, reliability bins) and drift warnings, computed from plain outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from oncall_agent.learning.calibration import calibrate
from oncall_agent.learning.drift import drift_warnings

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def test_ece_weighs_each_bin_gap_by_its_share() -> None:
    """ECE is the share-weighted gap between mean confidence and success rate per bin."""
    pairs = [(0.95, True), (0.95, True), (0.85, False), (0.15, False), (1.0, True)]
    result = calibrate(pairs)
    assert result.samples == 5
    by_low = {round(b.low, 1): b for b in result.bins if b.count}
    assert sorted(by_low) == [0.1, 0.8, 0.9]
    assert by_low[0.9].count == 3 and by_low[0.9].success_rate == 1.0  # 1.0 joins the top bin
    expected = (3 * abs((0.95 + 0.95 + 1.0) / 3 - 1) + abs(0.85 - 0) + abs(0.15 - 0)) / 5
    assert result.ece == pytest.approx(expected)


def test_perfect_calibration_scores_zero_and_nothing_scores_none() -> None:
    """Confidence equal to the observed rate gives ECE 0; no outcomes give no ECE."""
    pairs = [(0.75, True)] * 3 + [(0.75, False)]
    assert calibrate(pairs).ece == pytest.approx(0.0)
    assert calibrate([]).ece is None and calibrate([]).samples == 0


def _outcomes(days_ago: int, worked: bool, n: int) -> list[tuple[str, str, datetime, bool]]:
    """N outcomes of restart_service for entry svc-hang, DAYS_AGO days before NOW."""
    return [("svc-hang", "restart_service", NOW - timedelta(days=days_ago), worked)] * n


def test_drift_flags_a_fix_that_stopped_working() -> None:
    """4 successes earlier then 3 failures this week: a warning naming both rates."""
    warnings = drift_warnings(_outcomes(20, True, 4) + _outcomes(2, False, 3), NOW)
    assert len(warnings) == 1
    assert warnings[0].message == (
        "restart_service for svc-hang worked 0% of 3 times in the last 7 days, down from 100% "
        "of 4 before"
    )


def test_drift_needs_enough_outcomes_and_a_real_drop() -> None:
    """Two recent failures, or a small dip, raise no warning."""
    assert drift_warnings(_outcomes(20, True, 4) + _outcomes(2, False, 2), NOW) == []
    steady = _outcomes(20, True, 4) + _outcomes(2, True, 4) + _outcomes(1, False, 1)  # 80%
    assert drift_warnings(steady, NOW) == []
