"""Calibration of recorded confidences against outcomes: a reliability table and the ECE."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

BINS = 10


class ReliabilityBin(BaseModel):
    """Confidences in [low, high): how many, their mean, and how often the action worked."""

    low: float
    high: float
    count: int
    mean_confidence: float | None
    success_rate: float | None


class Calibration(BaseModel):
    """Expected calibration error over equal-width bins, with the table it comes from."""

    samples: int
    ece: float | None
    bins: list[ReliabilityBin]


def calibrate(pairs: Iterable[tuple[float, bool]], bins: int = BINS) -> Calibration:
    """ECE = sum over bins of |mean confidence - success rate| x share of samples in the bin."""
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for confidence, success in pairs:
        p = min(max(confidence, 0.0), 1.0)
        groups[min(int(p * bins), bins - 1)].append((p, success))  # 1.0 joins the last bin
    total = sum(len(g) for g in groups)
    table, ece = [], 0.0
    for i, group in enumerate(groups):
        mean = sum(p for p, _ in group) / len(group) if group else None
        rate = sum(s for _, s in group) / len(group) if group else None
        if mean is not None and rate is not None:
            ece += abs(mean - rate) * len(group) / total
        table.append(
            ReliabilityBin(
                low=i / bins,
                high=(i + 1) / bins,
                count=len(group),
                mean_confidence=mean,
                success_rate=rate,
            )
        )
    return Calibration(samples=total, ece=ece if total else None, bins=table)
