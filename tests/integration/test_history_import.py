"""`oncall history import` core on SQLite and PostgreSQL: rows become resolved history, entries
are linked or created in approve mode, duplicates are skipped, and bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from oncall_agent.errors import ConfigError
from oncall_agent.learning.importer import import_history
from oncall_agent.learning.records import read_history
from oncall_agent.learning.synth import generate, write_csv
from oncall_agent.store.engine import session_scope
from oncall_agent.store.knowledge import seed_defaults
from oncall_agent.store.tables import Incident, KnowledgeEntry

pytestmark = pytest.mark.integration
HEADER = "timestamp,title,description,service,severity,resolution_time,solution,tags,success\n"


def _csv(tmp_path: Path, body: str) -> Path:
    """A history CSV with the standard header and BODY."""
    path = tmp_path / "history.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _count(engine: Engine, model: type) -> int:
    """Rows in MODEL's table."""
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_generated_history_imports_as_resolved_incidents_and_reimport_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """Every row is a resolved, never-active incident; a re-import skips them all as duplicates."""
    history = generate(11, "a", days=60, scale=0.3)
    path = tmp_path / "train.csv"
    write_csv(history.train, path)
    report = import_history(engine, read_history(path))
    assert report.imported == len(history.train) and report.duplicates == 0
    pairs = {(r.service, r.solution) for r in history.train}
    assert report.entries_created == len(pairs)
    with session_scope(engine) as session:
        incidents = session.exec(select(Incident)).all()
        assert {i.status for i in incidents} == {"resolved"}
        assert all(i.active_fingerprint is None and i.origin == "imported" for i in incidents)
        assert all(i.solution and i.solution_success is not None for i in incidents)
        entries = session.exec(select(KnowledgeEntry).where(KnowledgeEntry.origin == "imported"))
        entries = list(entries)
        assert {e.autonomy for e in entries} == {"approve"}
        total = sum(e.successes + e.failures for e in entries)
    assert total == len(history.train)
    again = import_history(engine, read_history(path))
    assert (again.imported, again.duplicates) == (0, len(history.train))
    assert _count(engine, Incident) == len(history.train)


def test_dry_run_reports_the_counts_and_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    """A dry run says how many rows it would import and leaves the store empty."""
    path = _csv(tmp_path, "2026-01-01T10:00:00Z,disk full on etl,,etl,error,30,clear-tmp,,yes\n")
    report = import_history(engine, read_history(path), dry_run=True)
    assert report.imported == 1 and report.entries_created == 1
    assert _count(engine, Incident) == 0 and _count(engine, KnowledgeEntry) == 0


def test_an_invalid_row_names_row_and_column_and_nothing_is_imported(
    engine: Engine, tmp_path: Path
) -> None:
    """One bad cell among good rows: the error names its row and column; no row is stored."""
    body = (
        "2026-01-01T10:00:00Z,disk full on etl,,etl,error,30,clear-tmp,,yes\n"
        "2026-01-02T10:00:00Z,oom on etl,,etl,error,30,restart,,maybe\n"
        "yesterday,oom on etl,,etl,loud,30,,,no\n"
    )
    report = import_history(engine, read_history(_csv(tmp_path, body)))
    messages = [str(e) for e in report.errors]
    assert any(m.startswith("row 2, column success: 'maybe'") for m in messages)
    assert any(m.startswith("row 3, column timestamp") for m in messages)
    assert any(m.startswith("row 3, column severity") for m in messages)
    assert any(m.startswith("row 3, column solution: is empty") for m in messages)
    assert _count(engine, Incident) == 0 and _count(engine, KnowledgeEntry) == 0


def test_a_header_without_a_required_column_is_refused(tmp_path: Path) -> None:
    """A file lacking the solution column is refused before any row, naming the column."""
    path = tmp_path / "h.csv"
    path.write_text("timestamp,title,service,severity\n2026-01-01,x,y,error\n")
    with pytest.raises(ConfigError, match=r"lacks column.*solution"):
        list(read_history(path))


def test_solutions_naming_an_entry_key_or_action_link_to_that_entry(
    engine: Engine, tmp_path: Path
) -> None:
    """A solution that is an entry's key or its action name links there; no new entry is made."""
    with session_scope(engine) as session:
        seed_defaults(session)
        entry = session.exec(
            select(KnowledgeEntry).where(col(KnowledgeEntry.action).is_not(None))
        ).first()
        assert entry is not None and entry.action is not None
        key, action, before = entry.key, entry.action["name"], entry.successes
    body = (
        f"2026-01-01T10:00:00Z,first,,svc,error,,{key},,true\n"
        f"2026-01-02T10:00:00Z,second,,svc,error,,{action},,true\n"
    )
    report = import_history(engine, read_history(_csv(tmp_path, body)))
    assert report.entries_created == 0 and report.imported == 2
    with session_scope(engine) as session:
        linked = session.exec(select(Incident.knowledge_entry_id)).all()
        row = session.exec(select(KnowledgeEntry).where(KnowledgeEntry.key == key)).one()
        assert len(set(linked)) <= 2 and row.id in linked
        assert row.successes >= before + 1


def test_json_lines_history_imports_like_csv(engine: Engine, tmp_path: Path) -> None:
    """A JSON-lines file with the same fields imports; booleans and tag lists are accepted."""
    path = tmp_path / "h.jsonl"
    rows = [
        {"timestamp": "2026-01-01T10:00:00", "title": "lag on kafka", "service": "kafka",
         "severity": "warning", "solution": "reset-offsets", "success": False, "tags": ["a", "b"]},
        {"timestamp": "2026-01-03T10:00:00", "title": "lag on kafka again", "service": "kafka",
         "severity": "high", "solution": "scale-consumers", "success": True},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    report = import_history(engine, read_history(path))
    assert report.imported == 2 and not report.errors
    with session_scope(engine) as session:
        tags = session.exec(select(Incident.attributes).where(Incident.solution == "reset-offsets"))
        assert tags.one() == {"tags": "a;b"}
