"""False-positive marks: the marked kind stops opening incidents for its source, until undone."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.errors import ConfigError
from oncall_agent.learning.false_positives import (
    drop_false_positives,
    false_positive_incidents,
    mark_false_positive,
    undo_false_positive,
)
from oncall_agent.models import IncidentStatus
from oncall_agent.pipeline import ScanReport, scan_source
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.tables import AuditEvent, Incident
from tests.integration.learning_cli import cli_db, invoke, oncall
from tests.integration.test_incident_store import draft

__all__ = ["cli_db"]

LINE = "2026-12-01 10:00:00 ERROR worker: connection pool exhausted (size=10)\n"


def _scan(engine: Engine, log: Path, lines: int = 1) -> ScanReport:
    """Append LINES copies of the alarming line to LOG and scan it once."""
    with log.open("a", encoding="utf-8") as handle:
        handle.write(LINE * lines)
    return scan_source(engine, FileSource([str(log)], flush_after_s=0), "source:test")


def test_marked_fingerprint_opens_nothing_until_undone(engine: Engine, tmp_path: Path) -> None:
    """After a mark the same line opens nothing (counted as dropped); after undo it reopens."""
    log = tmp_path / "worker.log"
    first = _scan(engine, log)
    assert [c.kind for c in first.changes] == ["opened"]
    incident_id = first.changes[0].incident_id
    with session_scope(engine) as session:
        mark_false_positive(session, incident_id, reason="load test pool", actor="ana")
        assert get_incident(session, incident_id).status == IncidentStatus.RESOLVED

    quiet = _scan(engine, log, lines=3)
    assert quiet.changes == [] and quiet.stats["false_positive_lines"] == 3
    with session_scope(engine) as session:
        assert len(session.exec(select(Incident)).all()) == 1
        with pytest.raises(ConfigError, match="already marked"):
            mark_false_positive(session, incident_id, reason="again", actor="ana")
        assert undo_false_positive(session, incident_id, actor="bo", reason="real now") == 1
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
        assert {"false_positive", "false_positive_undone"} <= set(kinds)

    back = _scan(engine, log)
    assert [(c.kind, c.incident_id) for c in back.changes] == [("reopened", incident_id)]


def test_marks_are_read_once_per_scan_not_per_line(engine: Engine, tmp_path: Path) -> None:
    """A scan of thousands of marked lines queries the false-positive table once."""
    log = tmp_path / "worker.log"
    incident_id = _scan(engine, log).changes[0].incident_id
    with session_scope(engine) as session:
        mark_false_positive(session, incident_id, reason="noise", actor="ana")
    queries: list[str] = []

    def count(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "false_positives" in statement:
            queries.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        report = _scan(engine, log, lines=5000)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert report.stats["false_positive_lines"] == 5000
    assert len(queries) == 1


def test_a_mark_only_covers_its_own_source() -> None:
    """The same fingerprint from another source is kept; the marked source's drafts are dropped."""
    marked = frozenset({("fp-1", "file:/var/log/a.log")})
    ours = draft(fp="fp-1", count=4).model_copy(update={"source": "file:/var/log/a.log"})
    other = draft(fp="fp-1", count=2).model_copy(update={"source": "file:/var/log/b.log"})
    kept, dropped = drop_false_positives([ours, other], marked)
    assert kept == [other] and dropped == 4


def test_false_positive_cli_marks_and_undoes(cli_db: str) -> None:
    """`oncall false-positive` closes and suppresses; --undo lifts it; bad input is one line."""
    oncall("db", "upgrade")
    out = oncall(
        "simulate-incident", "--title", "noisy", "--service", "api",
        "--message", "ERROR connection pool exhausted size=10",
    )  # fmt: skip
    assert "incident #1 opened" in out
    missing_reason = invoke("false-positive", "1")
    assert missing_reason.exit_code == 2 and "--reason" in missing_reason.output
    marked = oncall("false-positive", "1", "--reason", "synthetic check", "--by", "ana")
    assert "incident #1 closed as a false positive" in marked
    assert "no longer opens incidents for cli" in marked
    assert "resolved" in oncall("show", "1") and "false_positive" in oncall("show", "1")
    again = oncall(
        "simulate-incident", "--title", "noisy", "--service", "api",
        "--message", "ERROR connection pool exhausted size=10",
    )  # fmt: skip
    assert "incident #1 reopened" in again  # simulate bypasses detection: marks guard scans
    undone = oncall("false-positive", "1", "--undo", "--by", "bo")
    assert "false-positive mark lifted" in undone
    twice = invoke("false-positive", "1", "--undo")
    assert twice.exit_code == 2 and "not marked a false positive" in twice.output
    unknown = invoke("false-positive", "999", "--reason", "x")
    assert unknown.exit_code == 1 and "no incident with id 999" in unknown.output
    with session_scope(get_engine()) as session:
        assert [r for r in session.exec(select(AuditEvent.kind)) if "false" in r] == [
            "false_positive", "false_positive_undone"
        ]  # fmt: skip


def test_marked_incidents_are_listed_for_retraining(engine: Engine, tmp_path: Path) -> None:
    """false_positive_incidents names incidents with a mark in force, and forgets undone ones."""
    incident_id = _scan(engine, tmp_path / "w.log").changes[0].incident_id
    with session_scope(engine) as session:
        assert false_positive_incidents(session) == set()
        mark_false_positive(session, incident_id, reason="noise", actor="ana")
        assert false_positive_incidents(session) == {incident_id}
        undo_false_positive(session, incident_id, actor="ana")
        assert false_positive_incidents(session) == set()
