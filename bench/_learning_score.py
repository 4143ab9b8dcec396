"""Scoring recommendations against a synthetic history's truth (the four figures of issue 8)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from oncall_agent.learning.evaluation import reliability_table
from oncall_agent.learning.synth import SynthRow


@dataclass(frozen=True)
class Answer:
    """What a method said for one test row."""

    solution: str | None
    confidence: float
    decision: str = "ask_approval"


@dataclass(frozen=True)
class Figures:
    """Top-1 on seen problems, ECE vs the true success rate, abstention on unseen, drifted top-1."""

    top1_seen: float
    ece: float
    abstain_unseen: float
    top1_drifted: float
    seen: int
    unseen: int
    drifted: int


def abstained(a: Answer) -> bool:
    """No recommendation, or one the agent would only escalate (low confidence)."""
    return a.solution is None or a.decision == "escalate"


def score(rows: Sequence[SynthRow], answers: Sequence[Answer]) -> Figures:
    """The four figures for ANSWERS to the test ROWS (same order)."""
    seen_hits, drift_hits, unseen_abstain = [], [], []
    conf, truth = [], []
    for row, ans in zip(rows, answers, strict=True):
        p = row.problem
        if p.unseen:
            unseen_abstain.append(abstained(ans))
        else:
            hit = ans.solution == p.best_fix(row.timestamp)
            seen_hits.append(hit)
            if p.drift_at is not None:
                drift_hits.append(hit)
        if ans.solution is not None:
            conf.append(ans.confidence)
            truth.append(p.success_p(ans.solution, row.timestamp))
    ece, _ = reliability_table(conf, truth)
    return Figures(
        top1_seen=float(np.mean(seen_hits)) if seen_hits else 0.0,
        ece=ece,
        abstain_unseen=float(np.mean(unseen_abstain)) if unseen_abstain else 0.0,
        top1_drifted=float(np.mean(drift_hits)) if drift_hits else 0.0,
        seen=len(seen_hits),
        unseen=len(unseen_abstain),
        drifted=len(drift_hits),
    )
