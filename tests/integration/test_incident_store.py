"""Incidents in the store: one per fingerprint, repeats absorbed, recurrences reopen, races safe."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.models import IncidentDraft, IncidentStatus, Severity
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import (
    claim_for_resolution,
    get_incident,
    open_or_update_incident,
    pending_resolution,
    set_status,
)
from oncall_agent.store.tables import Incident

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def draft(
    fp: str = "fp-1", count: int = 1, at: datetime = T0, sample: str = "boom"
) -> IncidentDraft:
    """A draft as grouping produces it."""
    return IncidentDraft(
        fingerprint=fp,
        title="db pool exhausted",
        service="api",
        severity=Severity.ERROR,
        category="database",
        template="pool exhausted <NUM>",
        source="test",
        first_seen=at,
        last_seen=at,
        count=count,
        samples=[sample],
    )


def store(engine: Engine, d: IncidentDraft, now: datetime | None = None) -> str:
    """Store one draft and return what happened."""
    with session_scope(engine) as session:
        return open_or_update_incident(session, d, reopen_window_s=3600, now=now).kind


def test_repeats_update_the_open_incident(engine: Engine) -> None:
    """The same fingerprint twice gives one incident whose count and last_seen grow."""
    assert store(engine, draft(count=3)) == "opened"
    later = T0 + timedelta(minutes=5)
    assert store(engine, draft(count=7, at=later, sample="boom 2")) == "updated"
    with session_scope(engine) as session:
        rows = session.exec(select(Incident)).all()
    assert len(rows) == 1
    assert rows[0].occurrences == 10
    assert rows[0].last_seen == later and rows[0].first_seen == T0
    assert rows[0].samples == ["boom", "boom 2"]


def test_recurrence_after_resolution_reopens_within_window(engine: Engine) -> None:
    """A resolved incident seen again within the window reopens, counted as a recurrence."""
    store(engine, draft())
    with session_scope(engine) as session:
        inc_id = session.exec(select(Incident.id)).one()
        assert claim_for_resolution(session, inc_id)
        set_status(session, inc_id, IncidentStatus.RESOLVED)
    assert store(engine, draft()) == "reopened"
    with session_scope(engine) as session:
        inc = get_incident(session, inc_id)
        assert inc.status == IncidentStatus.OPEN and inc.recurrences == 1
        assert pending_resolution(session) == [inc_id]


def test_recurrence_after_window_opens_a_new_incident(engine: Engine) -> None:
    """Long after resolution, the same problem is a new incident."""
    store(engine, draft())
    with session_scope(engine) as session:
        inc_id = session.exec(select(Incident.id)).one()
        set_status(session, inc_id, IncidentStatus.RESOLVED)
    assert store(engine, draft(), now=datetime.now(UTC) + timedelta(hours=2)) == "opened"
    with session_scope(engine) as session:
        assert len(session.exec(select(Incident)).all()) == 2


def test_claim_is_granted_once(engine: Engine) -> None:
    """Only one resolution run may claim a new incident."""
    store(engine, draft())
    with session_scope(engine) as session:
        inc_id = session.exec(select(Incident.id)).one()
    results = []
    for _ in range(3):
        with session_scope(engine) as session:
            results.append(claim_for_resolution(session, inc_id))
    assert results == [True, False, False]


def test_racing_detectors_open_exactly_one_incident(engine: Engine) -> None:
    """Eight threads storing the same new fingerprint at once open one incident with all counts."""
    barrier = threading.Barrier(8)
    kinds: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            kinds.append(store(engine, draft(count=2)))
        except BaseException as exc:  # reported below; a thread must not swallow failures
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(kinds).count("opened") == 1
    with session_scope(engine) as session:
        rows = session.exec(select(Incident)).all()
    assert len(rows) == 1 and rows[0].occurrences == 16
