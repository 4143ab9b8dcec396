"""The detection flow honours false-positive marks: a marked kind opens nothing until undone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from blocks.sources import LogFileSource
from flows.detection import detect_incidents
from oncall_agent.learning.false_positives import mark_false_positive, undo_false_positive
from oncall_agent.models import IncidentStatus
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.schema import upgrade
from oncall_agent.store.tables import Incident

LINE = "2026-12-01T10:00:00Z ERROR api connection pool exhausted: size=10\n"


def _incidents() -> list[tuple[int, str, int]]:
    """(id, status, occurrences) of every incident."""
    with session_scope(get_engine()) as session:
        rows = session.exec(select(Incident).order_by(Incident.id)).all()  # type: ignore[arg-type]
        return [(r.id or 0, r.status, r.occurrences) for r in rows]


def test_marked_fingerprint_opens_no_incident_in_the_detection_flow(
    data_dir: Path, tmp_path: Path
) -> None:
    """Mark, more lines: nothing opens or grows; undo, more lines: the incident comes back."""
    log = tmp_path / "app.log"
    upgrade(get_engine())

    async def detect(lines: int) -> None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(LINE * lines)
        await detect_incidents(sources=["fp-flow"], resolve=False)

    async def scenario() -> None:
        await LogFileSource(paths=[str(log)], service="api").asave("fp-flow", overwrite=True)
        await detect(2)
        [(incident_id, _, _)] = _incidents()
        with session_scope(get_engine()) as session:
            mark_false_positive(session, incident_id, reason="pool test", actor="ana")
        await detect(5)
        assert _incidents() == [(incident_id, IncidentStatus.RESOLVED.value, 2)]
        with session_scope(get_engine()) as session:
            undo_false_positive(session, incident_id, actor="ana")
        await detect(1)
        assert _incidents() == [(incident_id, IncidentStatus.OPEN.value, 3)]

    asyncio.run(scenario())
