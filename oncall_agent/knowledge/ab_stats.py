"""What `oncall kb stats` shows: each action of an entry, its outcomes, and P(it is the best)."""

from __future__ import annotations

from pydantic import BaseModel

from oncall_agent.knowledge.ab_test import ArmRecord, probability_best
from oncall_agent.knowledge.confidence import success_probability
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.settings import get_settings


class ArmStats(BaseModel):
    """One action of an entry with its record and how likely it is to be the best."""

    action: str
    role: str  # "main" | "alternative"
    successes: int
    failures: int
    posterior_mean: float
    probability_best: float


def arm_stats(
    spec: KnowledgeEntrySpec, records: dict[str, tuple[int, int]], draws: int = 20_000
) -> list[ArmStats]:
    """Every arm of SPEC in order (main first), with its record from RECORDS."""
    arms = [
        ArmRecord(action=a.name, successes=records.get(a.name, (0, 0))[0],
                  failures=records.get(a.name, (0, 0))[1])
        for a in spec.arms()
    ]  # fmt: skip
    best = probability_best(arms, draws=draws, seed=get_settings().ab_seed)
    return [
        ArmStats(
            action=arm.action,
            role="main" if i == 0 else "alternative",
            successes=arm.successes,
            failures=arm.failures,
            posterior_mean=success_probability(arm.successes, arm.failures)[0],
            probability_best=best[arm.action],
        )
        for i, arm in enumerate(arms)
    ]
