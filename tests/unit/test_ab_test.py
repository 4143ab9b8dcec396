"""Thompson sampling and P(best) over Beta posteriors; alternatives in the entry spec."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from oncall_agent.knowledge.ab_test import ArmRecord, choose_arm, probability_best
from oncall_agent.knowledge.spec import KnowledgeEntrySpec

GOOD, BAD = (
    ArmRecord(action="good", successes=20, failures=1),
    ArmRecord(action="bad", successes=2, failures=15),
)


def test_thompson_sampling_mostly_picks_the_better_arm_and_is_seedable() -> None:
    """With clear records the better arm wins most draws; a seed repeats the same choices."""
    rng = random.Random(11)
    picks = [choose_arm([BAD, GOOD], rng).action for _ in range(200)]
    assert picks.count("good") >= 190
    again = random.Random(11)
    assert [choose_arm([BAD, GOOD], again).action for _ in range(200)] == picks


def test_thompson_sampling_keeps_exploring_untried_arms() -> None:
    """Two untried arms are each chosen a fair share of the time (neither is ruled out)."""
    rng = random.Random(5)
    arms = [ArmRecord(action="a"), ArmRecord(action="b")]
    picks = [choose_arm(arms, rng).action for _ in range(400)]
    assert 140 <= picks.count("a") <= 260


def test_probability_best_sums_to_one_and_ranks_arms() -> None:
    """P(best) is a distribution over arms that puts the stronger record first."""
    best = probability_best([GOOD, BAD, ArmRecord(action="new")], seed=1)
    assert sum(best.values()) == pytest.approx(1.0)
    assert best["good"] > 0.5 > best["new"] > best["bad"]  # an untried arm keeps a chance
    assert probability_best([GOOD], seed=1) == {"good": 1.0}


def _spec(**fields: object) -> KnowledgeEntrySpec:
    """A spec with FIELDS on top of a minimal valid entry."""
    base = {"key": "pool", "title": "Pool exhausted", "solution": "restart"}
    return KnowledgeEntrySpec.model_validate({**base, **fields})


def test_alternatives_are_validated() -> None:
    """Alternatives need a main action, distinct executor names, and well-formed names."""
    spec = _spec(
        action={"name": "restart_service", "params": {"service": "api"}},
        alternatives=[{"name": "cleanup_files"}],
    )
    assert [a.name for a in spec.arms()] == ["restart_service", "cleanup_files"]
    with pytest.raises(ValidationError, match="need a main 'action'"):
        _spec(alternatives=[{"name": "cleanup_files"}])
    with pytest.raises(ValidationError, match="appears twice"):
        _spec(action={"name": "restart_service"}, alternatives=[{"name": "restart_service"}])
    with pytest.raises(ValidationError, match="not valid; use a snake_case"):
        _spec(action={"name": "restart_service"}, alternatives=[{"name": "Rm -rf"}])
