"""Source cursors in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from oncall_agent.sources.files import FileSource
from oncall_agent.store.cursors import load_cursor, save_cursor
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import SourceCursor

pytestmark = pytest.mark.integration


def test_unknown_source_has_an_empty_cursor(engine: Engine) -> None:
    """A source never saved starts from an empty cursor."""
    with session_scope(engine) as session:
        assert load_cursor(session, "files:/nowhere") == {}


def test_cursor_round_trips_and_upserts(engine: Engine) -> None:
    """Saving twice keeps one row holding the latest state, read back exactly."""
    first = {"version": 1, "files": {"/var/log/a.log": {"inode": 12, "offset": 40}}}
    latest = {"version": 1, "files": {"/var/log/a.log": {"inode": 12, "offset": 2**40}}}
    with session_scope(engine) as session:
        save_cursor(session, "files:/var/log/a.log", first)
    with session_scope(engine) as session:
        save_cursor(session, "files:/var/log/a.log", latest)
    with session_scope(engine) as session:
        assert load_cursor(session, "files:/var/log/a.log") == latest
        rows = session.execute(select(func.count()).select_from(SourceCursor)).scalar_one()
        assert rows == 1


def test_uncommitted_cursor_is_not_saved(engine: Engine) -> None:
    """A cursor saved in a transaction that fails is rolled back with it."""
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        save_cursor(session, "files:x", {"files": {"x": {"offset": 9}}})
        raise RuntimeError("storing the incidents failed")
    with session_scope(engine) as session:
        assert load_cursor(session, "files:x") == {}


def test_file_source_resumes_from_a_stored_cursor(engine: Engine, tmp_path: Path) -> None:
    """After a restart, a file source given the stored cursor reads only the new lines."""
    log = tmp_path / "app.log"
    log.write_text("one\ntwo\n")
    source = FileSource([str(log)])
    batch = source.read({})
    with session_scope(engine) as session:
        save_cursor(session, source.source_key, batch.cursor)
    with log.open("a") as handle:
        handle.write("three\n")
    restarted = FileSource([str(log)])
    with session_scope(engine) as session:
        cursor = load_cursor(session, restarted.source_key)
    assert [e.message for e in restarted.read(cursor).events] == ["three"]
