"""Drift: a fix whose recent success rate fell well below its earlier rate.

Rule: for each (knowledge entry, action), outcomes in the last RECENT_DAYS days are compared with
all earlier ones; a warning needs at least MIN_OUTCOMES on each side and a drop of at least
MIN_DROP in success rate. A fix that stopped working then shows up while its lifetime record
still looks good.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, computed_field

RECENT_DAYS = 7
MIN_OUTCOMES = 3
MIN_DROP = 0.25


class DriftWarning(BaseModel):
    """One fix that works less often than it used to."""

    entry: str
    action: str
    earlier_rate: float
    earlier_outcomes: int
    recent_rate: float
    recent_outcomes: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """The warning in one sentence."""
        return (
            f"{self.action} for {self.entry} worked {self.recent_rate:.0%} of "
            f"{self.recent_outcomes} times in the last {RECENT_DAYS} days, down from "
            f"{self.earlier_rate:.0%} of {self.earlier_outcomes} before"
        )


def drift_warnings(
    outcomes: Iterable[tuple[str, str, datetime, bool]], now: datetime
) -> list[DriftWarning]:
    """Warnings from (entry, action, when, worked) outcomes, worst drop first."""
    cutoff = now - timedelta(days=RECENT_DAYS)
    sides: dict[tuple[str, str], tuple[list[bool], list[bool]]] = defaultdict(lambda: ([], []))
    for entry, action, when, worked in outcomes:
        earlier, recent = sides[(entry, action)]
        (recent if when >= cutoff else earlier).append(worked)
    warnings = []
    for (entry, action), (earlier, recent) in sides.items():
        if len(earlier) < MIN_OUTCOMES or len(recent) < MIN_OUTCOMES:
            continue
        before, lately = sum(earlier) / len(earlier), sum(recent) / len(recent)
        if before - lately >= MIN_DROP:
            warnings.append(
                DriftWarning(
                    entry=entry,
                    action=action,
                    earlier_rate=before,
                    earlier_outcomes=len(earlier),
                    recent_rate=lately,
                    recent_outcomes=len(recent),
                )
            )
    return sorted(warnings, key=lambda w: w.recent_rate - w.earlier_rate)
