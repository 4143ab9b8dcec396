"""Training examples: what happened (text, service, time) and which fix was used, with outcome."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def days_since_epoch(at: datetime) -> float:
    """AT as a number of days (the unit recency weights use)."""
    return (at - EPOCH).total_seconds() / 86400.0


def incident_text(title: str, description: str, template: str = "") -> str:
    """The text a model reads: title twice (it names the problem), the description and the log
    template (models read words only: numbers and ids never count)."""
    return f"{title} . {title} . {description} . {template}"


@dataclass(frozen=True)
class Example:
    """One past incident: its text, service, time, the fix used and whether it worked."""

    timestamp: datetime
    title: str
    description: str
    service: str
    solution: str | None
    success: bool | None
    entry_key: str | None = None
    incident_id: int | None = None
    template: str = ""


@dataclass
class ExampleTable:
    """Examples as parallel columns, oldest first (what the models consume)."""

    texts: list[str]
    services: np.ndarray
    days: np.ndarray
    solutions: list[str | None]
    success: np.ndarray  # 1.0, 0.0, or nan when the outcome is unknown
    entries: list[str | None]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, index: np.ndarray) -> ExampleTable:
        """The rows at INDEX (an integer array)."""
        return ExampleTable(
            texts=[self.texts[i] for i in index],
            services=self.services[index],
            days=self.days[index],
            solutions=[self.solutions[i] for i in index],
            success=self.success[index],
            entries=[self.entries[i] for i in index],
        )


def to_table(examples: Sequence[Example]) -> ExampleTable:
    """EXAMPLES sorted by time as a table."""
    ordered = sorted(examples, key=lambda e: e.timestamp)
    return ExampleTable(
        texts=[incident_text(e.title, e.description, e.template) for e in ordered],
        services=np.array([e.service for e in ordered], dtype=object),
        days=np.array([days_since_epoch(e.timestamp) for e in ordered], dtype=float),
        solutions=[e.solution for e in ordered],
        success=np.array(
            [np.nan if e.success is None else float(e.success) for e in ordered], dtype=float
        ),
        entries=[e.entry_key for e in ordered],
    )


def time_split(table: ExampleTable, holdout: float = 0.2) -> tuple[ExampleTable, ExampleTable]:
    """The oldest (1 - HOLDOUT) of TABLE and the newest HOLDOUT (rows are sorted by time)."""
    cut = round(len(table) * (1.0 - holdout))
    index = np.arange(len(table))
    return table.subset(index[:cut]), table.subset(index[cut:])
