"""Confidence: match probability times the Beta posterior of the action's success."""

from __future__ import annotations

import itertools

import pytest

from oncall_agent.knowledge.confidence import (
    ConfidenceModel,
    match_probability,
    score_confidence,
    success_probability,
)
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.matcher import IncidentText, rank_entries

POOL_INCIDENT = IncidentText(
    title="QueuePool limit of size 5 overflow 10 reached",
    template="sqlalchemy.exc.TimeoutError: QueuePool limit of size <NUM> overflow <NUM> reached",
    samples=["ERROR sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached"],
    service="orders-api",
    category="database",
)


def _strong_match_score() -> float:
    """The score of a pattern + service + category match on a seed entry."""
    pool = next(e for e in DEFAULT_ENTRIES if e.key == "db-connection-pool-exhausted")
    seed = pool.model_copy(update={"services": ["orders-api"]})
    match = rank_entries(POOL_INCIDENT, [seed])[0]
    assert match.components == pytest.approx(
        {"pattern": 1.0, "service": 1.0, "category": 1.0, "text": match.components["text"]}
    )
    return match.score


def test_strong_match_on_fresh_entry_is_confident() -> None:
    """A strong pattern+service+category match on a fresh seed entry scores at least 0.75."""
    assert score_confidence(_strong_match_score(), 0, 0).value >= 0.75


def test_default_pool_entry_is_confident_enough_to_run_alone() -> None:
    """The seeded pool entry (any service) reaches the 0.75 auto threshold on its incident."""
    match = rank_entries(POOL_INCIDENT, DEFAULT_ENTRIES)[0]
    assert match.entry_key == "db-connection-pool-exhausted"
    assert score_confidence(match.score, 0, 0).value >= 0.75


def test_each_failure_lowers_confidence() -> None:
    """Every verified failure lowers confidence."""
    score = _strong_match_score()
    values = [score_confidence(score, 0, failures).value for failures in range(6)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values))


def test_two_failures_on_fresh_entry_drop_below_0_7() -> None:
    """Two failures on a fresh entry bring confidence below 0.7."""
    assert score_confidence(_strong_match_score(), 0, 2).value < 0.7


def test_successes_raise_confidence_but_never_to_one() -> None:
    """Successes raise confidence, which stays below 1 however many there are."""
    score = _strong_match_score()
    values = [score_confidence(score, n, 0).value for n in (0, 1, 5, 50, 10_000)]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert score_confidence(1.0, 10**9, 0).value < 1.0


def test_lower_bound_is_below_the_value_and_tightens_with_data() -> None:
    """The 95% lower bound sits below the value and rises as consistent successes accrue."""
    fresh = score_confidence(0.9, 0, 0)
    proven = score_confidence(0.9, 40, 0)
    assert 0 < fresh.lower_bound < fresh.value
    assert proven.lower_bound > fresh.lower_bound
    assert proven.value - proven.lower_bound < fresh.value - fresh.lower_bound


def test_fresh_prior_is_beta_4_1() -> None:
    """With no outcomes the success probability is the prior mean 0.8, 5th percentile 0.05**0.25."""
    mean, low = success_probability(0, 0)
    assert mean == pytest.approx(0.8)
    assert low == pytest.approx(0.05**0.25)


def test_match_probability_is_monotone_and_bounded() -> None:
    """The score-to-probability map rises with the score, from 0 to the configured cap."""
    points = [match_probability(s / 20) for s in range(21)]
    assert points == sorted(points) and len(set(points)) == len(points)
    assert points[0] == pytest.approx(0.0) and points[-1] == pytest.approx(0.99)
    assert match_probability(-1) == points[0] and match_probability(2) == points[-1]


def test_weak_match_is_not_confident() -> None:
    """Text similarity alone gives a low confidence even for a perfect record."""
    assert score_confidence(0.2, 100, 0).value < 0.1


def test_prior_is_configurable() -> None:
    """A sceptical prior starts lower and the explanation says which prior was used."""
    sceptical = ConfidenceModel(prior_a=1, prior_b=1)
    result = score_confidence(0.9, 0, 0, sceptical)
    assert result.success_probability == pytest.approx(0.5)
    assert "prior Beta(1, 1)" in result.explanation


def test_explanation_states_the_numbers() -> None:
    """The explanation gives the value, both factors and the outcome counts."""
    result = score_confidence(0.85, 3, 1)
    assert result.explanation.startswith(f"confidence {result.value:.2f} = match probability")
    assert "3 successes, 1 failures" in result.explanation


def test_negative_counts_are_refused() -> None:
    """Negative outcome counts are a programming error."""
    with pytest.raises(ValueError, match="must be >= 0"):
        success_probability(-1, 0)
