"""What every event source looks like to the detection pipeline."""

from __future__ import annotations

from typing import Any, Protocol

from oncall_agent.models import LogEvent


class SourceBatch(Protocol):
    """One read: the events, the cursor to save once they are stored, and statistics."""

    events: list[LogEvent]
    cursor: dict[str, Any]
    stats: Any


class EventSource(Protocol):
    """Files, Elasticsearch, Airflow, Spark: anything read from a cursor in batches."""

    def read(self, cursor: dict[str, Any], selector: Any = None) -> SourceBatch:
        """What is new since CURSOR (SELECTOR, if the source can use it, skips quiet lines)."""
        ...
