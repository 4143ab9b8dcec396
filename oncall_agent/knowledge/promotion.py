"""Graduated autonomy: the learning loop suggests a promotion; only a person applies one."""

from __future__ import annotations

from pydantic import BaseModel

from oncall_agent.knowledge.confidence import success_probability
from oncall_agent.models import AutonomyMode, RiskClass

MIN_SUCCESSES = 5
MIN_LOWER_BOUND = 0.75
PROMOTABLE_RISKS = (RiskClass.LOW, RiskClass.MEDIUM)


class PromotionSuggestion(BaseModel):
    """An entry whose record would justify more autonomy, and the command a person would run."""

    key: str
    current: AutonomyMode
    suggested: AutonomyMode
    reason: str
    command: str


def suggest_promotion(
    key: str, autonomy: AutonomyMode, risk: RiskClass, successes: int, failures: int
) -> PromotionSuggestion | None:
    """A suggestion to move an 'approve' entry to 'auto' once its record is strong, else None."""
    if autonomy is not AutonomyMode.APPROVE or risk not in PROMOTABLE_RISKS:
        return None
    mean, lower = success_probability(successes, failures)
    if successes < MIN_SUCCESSES or lower < MIN_LOWER_BOUND:
        return None
    return PromotionSuggestion(
        key=key,
        current=autonomy,
        suggested=AutonomyMode.AUTO,
        reason=(
            f"{successes} verified successes, {failures} failures: success rate {mean:.2f}, "
            f"5th-percentile bound {lower:.2f} >= {MIN_LOWER_BOUND}"
        ),
        command=f"oncall kb set-autonomy {key} auto --by YOUR_NAME --reason '...'",
    )
