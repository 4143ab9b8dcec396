"""`oncall recommend`: what the agent would propose now for each row of a CSV of incidents.

Only title, description, service, severity and timestamp are read (other columns are ignored,
missing ones allowed). The decision applies the policy's thresholds to the confidence, capped by
the entry's autonomy: an entry in `approve` mode (every imported one) is never executed alone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.errors import ConfigError
from oncall_agent.learning.examples import days_since_epoch, incident_text
from oncall_agent.learning.recommender import Recommendation, Recommender
from oncall_agent.learning.records import parse_timestamp
from oncall_agent.models import AutonomyMode, Decision
from oncall_agent.policy import PolicyConfig
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import KnowledgeEntry

READ = ("title", "description", "service", "severity", "timestamp")


@dataclass(frozen=True)
class Query:
    """One incident to recommend for (a data row of the file)."""

    row: int
    title: str
    description: str
    service: str
    timestamp: datetime


def read_queries(path: Path, now: datetime | None = None) -> Iterator[Query]:
    """The data rows of a CSV (1-based); a missing or empty timestamp means now."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; give a CSV with a header line")
    now = now or datetime.now(UTC)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not set(READ) & {f.strip() for f in reader.fieldnames}:
            raise ConfigError(f"{path}: the header names none of {', '.join(READ)}")
        reader.fieldnames = [f.strip() for f in reader.fieldnames]
        for number, raw in enumerate(reader, start=1):
            cell = {name: (raw.get(name) or "").strip() for name in READ}
            try:
                ts = parse_timestamp(cell["timestamp"]) if cell["timestamp"] else now
            except ValueError:
                raise ConfigError(
                    f"{path}: row {number}, column timestamp: {cell['timestamp']!r} is not an "
                    "ISO 8601 time; write e.g. 2026-03-01T14:05:00Z or leave it empty"
                ) from None
            yield Query(number, cell["title"], cell["description"], cell["service"], ts)


def threshold_decision(confidence: float, autonomy: str | None, policy: PolicyConfig) -> Decision:
    """The policy's thresholds on CONFIDENCE; only an `auto` entry may execute."""
    if confidence < policy.approve_threshold:
        return Decision.ESCALATE
    if confidence >= policy.auto_threshold and autonomy == AutonomyMode.AUTO.value:
        return Decision.EXECUTE
    return Decision.ASK_APPROVAL


def answer_rows(model: Recommender, queries: list[Query]) -> list[Recommendation]:
    """MODEL's recommendation for each query, in order."""
    if not queries:
        return []
    return model.recommend(
        [incident_text(q.title, q.description) for q in queries],
        np.array([q.service for q in queries], dtype=object),
        np.array([days_since_epoch(q.timestamp) for q in queries], dtype=float),
    )


def autonomy_by_entry(engine: Engine) -> dict[str, str]:
    """Each knowledge entry's autonomy mode, by key."""
    with session_scope(engine) as session:
        return {e.key: e.autonomy for e in session.exec(select(KnowledgeEntry))}


def to_json(
    query: Query, rec: Recommendation, autonomy: dict[str, str], policy: PolicyConfig
) -> dict[str, Any]:
    """One output object: row, solution (None: abstain), entry, confidence, decision."""
    decision = (
        Decision.ESCALATE
        if rec.solution is None
        else threshold_decision(rec.confidence, autonomy.get(rec.entry or ""), policy)
    )
    return {
        "row": query.row,
        "solution": rec.solution,
        "entry": rec.entry,
        "confidence": round(min(max(rec.confidence, 0.0), 1.0), 4),
        "decision": decision.value,
    }
