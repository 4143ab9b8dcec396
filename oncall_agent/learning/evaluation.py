"""Holdout metrics: top-1 accuracy, macro-F1, Brier score, ECE (10 bins), coverage, abstention.

On history the truth is only what people did: a row counts for accuracy when its fix worked
(the right answer is that fix), and for calibration when the model proposed the fix that was
used (its outcome is known). An abstention is a wrong answer for accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import f1_score

from oncall_agent.learning.examples import ExampleTable
from oncall_agent.learning.recommender import Recommendation

BINS = 10
ABSTAIN = "<abstain>"


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin: how many answers, their mean confidence, the observed success rate."""

    low: float
    high: float
    count: int
    confidence: float
    observed: float


@dataclass(frozen=True)
class Metrics:
    """The model's scores on one holdout."""

    rows: int
    top1: float
    macro_f1: float
    brier: float
    ece: float
    coverage: float
    abstention: float
    calibrated_rows: int
    reliability: list[ReliabilityBin]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready values."""
        return asdict(self)


def reliability_table(
    confidence: Sequence[float], outcome: Sequence[float], bins: int = BINS
) -> tuple[float, list[ReliabilityBin]]:
    """Expected calibration error and the per-bin table (equal-width bins over [0, 1])."""
    conf, out = np.asarray(confidence, float), np.asarray(outcome, float)
    table: list[ReliabilityBin] = []
    ece = 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        inside = (conf >= low) & ((conf < high) | (b == bins - 1))
        n = int(inside.sum())
        if n:
            c, o = float(conf[inside].mean()), float(out[inside].mean())
            ece += n / len(conf) * abs(c - o)
            table.append(ReliabilityBin(low, high, n, round(c, 4), round(o, 4)))
        else:
            table.append(ReliabilityBin(low, high, 0, 0.0, 0.0))
    return ece, table


def evaluate(answers: Sequence[Recommendation], holdout: ExampleTable) -> Metrics:
    """Score ANSWERS against what happened on HOLDOUT (same order)."""
    truth: list[str] = []
    guess: list[str] = []
    conf: list[float] = []
    outcome: list[float] = []
    for ans, used, ok in zip(answers, holdout.solutions, holdout.success, strict=True):
        if used is None:
            continue
        if ok == 1.0:
            truth.append(used)
            guess.append(ans.solution or ABSTAIN)
        if ans.solution == used and not np.isnan(ok):
            conf.append(ans.confidence)
            outcome.append(float(ok))
    answered = sum(a.solution is not None for a in answers)
    ece, table = reliability_table(conf, outcome)
    labels = sorted(set(truth))
    return Metrics(
        rows=len(answers),
        top1=float(np.mean([t == g for t, g in zip(truth, guess, strict=True)])) if truth else 0.0,
        macro_f1=float(f1_score(truth, guess, labels=labels, average="macro", zero_division=0))
        if truth
        else 0.0,
        brier=float(np.mean((np.array(conf) - np.array(outcome)) ** 2)) if conf else 0.0,
        ece=ece,
        coverage=answered / len(answers) if answers else 0.0,
        abstention=1 - answered / len(answers) if answers else 0.0,
        calibrated_rows=len(conf),
        reliability=table,
    )


def reliability_markdown(table: Sequence[ReliabilityBin]) -> str:
    """The reliability table as markdown (confidence bins vs observed success)."""
    lines = [
        "| confidence bin | answers | mean confidence | observed success |",
        "|---|---|---|---|",
    ]
    for b in table:
        observed = f"{b.observed:.2f}" if b.count else "-"
        mean = f"{b.confidence:.2f}" if b.count else "-"
        lines.append(f"| {b.low:.1f}-{b.high:.1f} | {b.count} | {mean} | {observed} |")
    return "\n".join(lines)
