"""Confidence: the probability that a knowledge entry's action fixes the incident.

    confidence = P(the match is right) x P(the action works | the match is right)

P(action works) is the posterior mean of Beta(prior_a + successes, prior_b + failures). The
default prior Beta(4, 1) has mean 0.8 and weighs as much as five observed outcomes: entries are
written by people for a fix they have seen work, so a fresh entry starts optimistic, yet real
outcomes take over quickly (two failures on a fresh entry bring the mean to 4/7 = 0.57; ten
successes to 14/15 = 0.93, never 1).

P(match right) is a monotone map of the matcher's score s in [0, 1]: a logistic curve centred on
`midpoint` (0.5) with slope `steepness` (10), rescaled so that s = 0 maps to 0 and s = 1 maps to
`max_match_probability` (0.99: even a perfect textual match can be the wrong diagnosis). With the
matcher's weights, a pattern hit alone (s ~ 0.6) maps to ~0.73, a pattern hit on an entry for any
service in the incident's category (s ~ 0.83) to ~0.96, and pattern + service + category to
~0.97. The constants are a hand calibration until outcome data can fit them (Platt scaling on
recorded matches).

`lower_bound` is match probability x the Beta's 5th percentile: confidence that holds with 95%
probability under the posterior, useful to flag entries with too little history.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from oncall_agent.knowledge.beta import beta_quantile


class ConfidenceModel(BaseModel):
    """The prior and the score-to-probability map; defaults are documented in the module."""

    model_config = ConfigDict(frozen=True)

    prior_a: float = Field(default=4.0, gt=0)
    prior_b: float = Field(default=1.0, gt=0)
    midpoint: float = Field(default=0.5, ge=0, le=1)
    steepness: float = Field(default=10.0, gt=0)
    max_match_probability: float = Field(default=0.99, gt=0, le=1)


class ConfidenceScore(BaseModel):
    """A confidence value with its two factors, a pessimistic bound, and a readable account."""

    value: float
    match_probability: float
    success_probability: float
    lower_bound: float
    explanation: str


DEFAULT_MODEL = ConfidenceModel()


def _sigmoid(x: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-x))


def match_probability(score: float, model: ConfidenceModel = DEFAULT_MODEL) -> float:
    """P(the match is right) for a matcher score in [0, 1] (monotone, 0 at 0)."""
    s = min(max(score, 0.0), 1.0)
    low = _sigmoid(-model.steepness * model.midpoint)
    high = _sigmoid(model.steepness * (1.0 - model.midpoint))
    raw = _sigmoid(model.steepness * (s - model.midpoint))
    return model.max_match_probability * (raw - low) / (high - low)


def success_probability(
    successes: int, failures: int, model: ConfidenceModel = DEFAULT_MODEL
) -> tuple[float, float]:
    """Posterior mean and 5th percentile of P(action works) after the observed outcomes."""
    if successes < 0 or failures < 0:
        raise ValueError(f"outcome counts must be >= 0, got {successes} and {failures}")
    # SciPy costs ~0.8 s to import: paid by the first confidence computed, not by CLI start-up.

    a = model.prior_a + successes
    b = model.prior_b + failures
    return a / (a + b), beta_quantile(0.05, a, b)


def score_confidence(
    match_score: float, successes: int, failures: int, model: ConfidenceModel = DEFAULT_MODEL
) -> ConfidenceScore:
    """Confidence that the entry's action fixes the incident, with its explanation."""
    p_match = match_probability(match_score, model)
    p_success, p_success_low = success_probability(successes, failures, model)
    value = p_match * p_success
    lower_bound = p_match * p_success_low
    explanation = (
        f"confidence {value:.2f} = match probability {p_match:.2f} "
        f"(match score {match_score:.2f}) x success probability {p_success:.2f} "
        f"({successes} successes, {failures} failures, prior "
        f"Beta({model.prior_a:g}, {model.prior_b:g})); 95% lower bound {lower_bound:.2f}"
    )
    return ConfidenceScore(
        value=value,
        match_probability=p_match,
        success_probability=p_success,
        lower_bound=lower_bound,
        explanation=explanation,
    )
