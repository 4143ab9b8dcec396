"""Noise control: each source's own history says whether a template's lines are news.

A source's baseline is a count per fingerprint per time bucket (BUCKET_S). A template opens an
incident when it is **new** (it was not there when the source was first observed, given its
rate) or when its **rate changes** (a bucket holds many times its usual count). A template
that has been there all along at a steady rate is chatter: it does not open an incident (an
incident already open for it still counts its lines, so a fix that did not hold shows).

The same judgment serves `oncall scan` (the history is the file itself: a template present
from the file's start at a steady rate is chatter) and the detection flow (the history is the
store's `template_counts`, plus the batch being read). Every verdict carries a sentence that
says why ("steady since 2026-12-01 22:00 (~12/h), not opened").

The thresholds are round numbers chosen from the Poisson model, not fitted to any sample:
- a template seen in fewer than MIN_PRESENT buckets has no rate yet: it is new;
- a template whose first line came later than NEW_AFTER_GAPS mean gaps (between the buckets it
  is present in) after the source was first observed was not there all along (with a steady
  rate, that happens with p < 5 %);
- a bucket holding at least SPIKE_FACTOR times the template's usual count, a count a steady
  (Poisson) stream at the usual rate reaches with probability under SPIKE_P, is a rate change
  (SPIKE_P is small because every bucket of every template is tested: a night of 72 buckets
  and a hundred templates expects under 0.01 false rate changes from a truly steady stream;
  the factor guards against real streams being burstier than Poisson);
- under MIN_HISTORY_BUCKETS of observed history, nothing is chatter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

BUCKET_S = 600
MIN_HISTORY_BUCKETS = 6
MIN_PRESENT = 3
NEW_AFTER_GAPS = 3.0
SPIKE_FACTOR = 3.0
SPIKE_P = 1e-6


@dataclass(frozen=True)
class Verdict:
    """Whether a template's lines open an incident, and why in one sentence."""

    opens: bool
    why: str


def bucket_of(moment: datetime) -> int:
    """The bucket number (since the epoch) MOMENT falls in; naive times are UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return int(aware.timestamp()) // BUCKET_S


def bucket_time(bucket: int) -> str:
    """The start of BUCKET, for a person: '2026-12-01 22:00 UTC'."""
    return datetime.fromtimestamp(bucket * BUCKET_S, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _per_hour(per_bucket: float) -> str:
    """A rate per bucket as a readable rate per hour."""
    hourly = per_bucket * 3600 / BUCKET_S
    return f"~{hourly:.0f}/h" if hourly >= 1 else f"~{hourly:.1f}/h"


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= K) for X ~ Poisson(MEAN), summed from K upwards (K is above the mean here)."""
    if mean <= 0:
        return 0.0 if k > 0 else 1.0
    total, i, log_mean = 0.0, k, math.log(mean)
    while True:
        term = math.exp(-mean + i * log_mean - math.lgamma(i + 1))
        total += term
        if (i > mean and term < total * 1e-12) or i > k + 100_000:
            return min(total, 1.0)
        i += 1


def _spike(counts: Mapping[int, int], life: int, total: int, test_from: int) -> str | None:
    """The first bucket at or after TEST_FROM whose count is a rate change, said in words."""
    if life < 2:
        return None
    for bucket in sorted(b for b in counts if b >= test_from):
        here = counts[bucket]
        usual = (total - here) / (life - 1)
        if here >= SPIKE_FACTOR * usual and poisson_tail(here, usual) < SPIKE_P:
            return (
                f"rate rose at {bucket_time(bucket)}: {here} lines in {BUCKET_S // 60} min "
                f"(usual {usual:.1f})"
            )
    return None


def judge(
    counts: Mapping[int, int], observed_from: int, now: int, test_from: int | None = None
) -> Verdict:
    """Whether a template with COUNTS (bucket -> lines) opens an incident.

    OBSERVED_FROM is the first bucket the source was observed in, NOW the latest; rate changes
    are looked for in buckets from TEST_FROM on (default: all of them).
    """
    if not counts:
        return Verdict(True, "no lines")
    first, total = min(counts), sum(counts.values())
    observed = now - observed_from + 1
    if observed < MIN_HISTORY_BUCKETS:
        minutes = MIN_HISTORY_BUCKETS * BUCKET_S // 60
        return Verdict(True, f"under {minutes} min of this source seen: no baseline yet")
    present = len(counts)
    if present < MIN_PRESENT:
        return Verdict(True, f"new: {total} line(s) from {bucket_time(first)}")
    life = now - first + 1
    rate = total / life
    if (first - observed_from) * present / life > NEW_AFTER_GAPS:
        return Verdict(True, f"new at {bucket_time(first)} ({_per_hour(rate)} since)")
    spike = _spike(counts, life, total, observed_from if test_from is None else test_from)
    if spike is not None:
        return Verdict(True, spike)
    return Verdict(False, f"steady since {bucket_time(first)} ({_per_hour(rate)}), not opened")


class WindowBaseline:
    """Bucket counts per key (a fingerprint) within one span of time, judged at the end."""

    def __init__(self) -> None:
        """Start with no counts."""
        self.counts: dict[str, dict[int, int]] = {}
        self.first: int | None = None
        self.last: int | None = None

    def observe(self, moment: datetime) -> None:
        """Widen the observed span to include MOMENT (a line of the source, alerting or not)."""
        bucket = bucket_of(moment)
        self.first = bucket if self.first is None else min(self.first, bucket)
        self.last = bucket if self.last is None else max(self.last, bucket)

    def add(self, key: str, moment: datetime) -> None:
        """Count one line of KEY at MOMENT."""
        self.observe(moment)
        series = self.counts.setdefault(key, {})
        bucket = bucket_of(moment)
        series[bucket] = series.get(bucket, 0) + 1

    def judge(self, key: str) -> Verdict:
        """The verdict for KEY over the whole observed span."""
        series = self.counts.get(key)
        if not series or self.first is None or self.last is None:
            return Verdict(True, "no timestamps: no baseline")
        return judge(series, self.first, self.last)
