"""Holdout metrics: ECE and the reliability table, top-1 with abstentions, coverage."""

from __future__ import annotations

import numpy as np
import pytest

from oncall_agent.learning.evaluation import evaluate, reliability_table
from oncall_agent.learning.examples import ExampleTable
from oncall_agent.learning.recommender import Recommendation


def test_ece_is_the_weighted_gap_between_confidence_and_outcome_per_bin() -> None:
    """Two bins: 0.9 confidence with 50 % success and 0.15 with 0 % give 0.5*0.4 + 0.5*0.15."""
    ece, table = reliability_table([0.9, 0.9, 0.15, 0.15], [1, 0, 0, 0])
    assert ece == pytest.approx(0.5 * 0.4 + 0.5 * 0.15)
    assert len(table) == 10 and table[9].count == 2 and table[1].count == 2
    assert table[9].observed == pytest.approx(0.5)


def _table(solutions: list[str], success: list[float]) -> ExampleTable:
    """A holdout of len(SOLUTIONS) rows on one service."""
    n = len(solutions)
    return ExampleTable(
        texts=[""] * n, services=np.array(["s"] * n, dtype=object), days=np.arange(n, dtype=float),
        solutions=list(solutions), success=np.array(success), entries=[None] * n,
    )  # fmt: skip


def test_abstaining_counts_against_accuracy_and_coverage() -> None:
    """Of three worked fixes, one right, one wrong, one abstained: top-1 1/3, coverage 2/3."""
    holdout = _table(["a", "b", "c"], [1.0, 1.0, 1.0])
    answers = [Recommendation("a", None, 0.8), Recommendation("a", None, 0.6),
               Recommendation(None, None, 0.1)]  # fmt: skip
    metrics = evaluate(answers, holdout)
    assert metrics.top1 == pytest.approx(1 / 3)
    assert metrics.coverage == pytest.approx(2 / 3) and metrics.abstention == pytest.approx(1 / 3)
    assert metrics.calibrated_rows == 1 and metrics.brier == pytest.approx(0.04)
