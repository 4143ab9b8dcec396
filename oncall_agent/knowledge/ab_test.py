"""A/B between alternative fixes: Thompson sampling over each action's Beta posterior.

Each arm (an entry's action or one of its alternatives) has a record of verified successes and
failures; its success probability is Beta(prior_a + successes, prior_b + failures), the same prior
as confidence. To choose, draw one sample from each allowed arm's posterior and take the largest:
an arm is chosen as often as it is likely to be the best, so a fix that keeps failing is tried
less and less, yet never ruled out on a few unlucky outcomes.
"""

from __future__ import annotations

import random

from pydantic import BaseModel

from oncall_agent.knowledge.confidence import DEFAULT_MODEL, ConfidenceModel


class ArmRecord(BaseModel):
    """One alternative action and its verified outcomes."""

    action: str
    successes: int = 0
    failures: int = 0


class ArmChoice(BaseModel):
    """The arm Thompson sampling chose, and every arm's draw (for the record)."""

    action: str
    draws: dict[str, float]


def choose_arm(
    arms: list[ArmRecord], rng: random.Random, model: ConfidenceModel = DEFAULT_MODEL
) -> ArmChoice:
    """Draw from each arm's posterior and pick the highest draw (ties: the earlier arm)."""
    if not arms:
        raise ValueError("Thompson sampling needs at least one arm")
    draws = {
        arm.action: rng.betavariate(model.prior_a + arm.successes, model.prior_b + arm.failures)
        for arm in arms
    }
    best = max(arms, key=lambda arm: draws[arm.action])
    return ArmChoice(action=best.action, draws={k: round(v, 4) for k, v in draws.items()})


def probability_best(
    arms: list[ArmRecord],
    draws: int = 20_000,
    seed: int | None = None,
    model: ConfidenceModel = DEFAULT_MODEL,
) -> dict[str, float]:
    """Per arm, the Monte Carlo probability that its success rate is the highest of all arms."""
    if not arms:
        return {}
    import numpy as np  # only `kb stats` needs it; resolutions and the CLI start without it

    generator = np.random.default_rng(seed)
    samples = np.stack(
        [
            generator.beta(model.prior_a + a.successes, model.prior_b + a.failures, size=draws)
            for a in arms
        ]
    )
    wins = np.bincount(samples.argmax(axis=0), minlength=len(arms))
    return {arm.action: float(wins[i]) / draws for i, arm in enumerate(arms)}


def default_rng(seed: int | None) -> random.Random:
    """The random source of one choice: seeded for tests and replays, else from the OS."""
    # Thompson sampling needs statistics, not secrecy: a seedable PRNG is the right tool.
    return random.Random(seed)  # noqa: S311
