"""Two detectors reading the same new lines: each line is counted by exactly one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.models import IncidentStatus
from oncall_agent.pipeline import scan_source
from oncall_agent.sources.files import FileSource, ReadBatch
from oncall_agent.store.cursors import advance_cursor, load_cursor_at
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import set_status
from oncall_agent.store.tables import Incident

pytestmark = pytest.mark.integration

KEY = "files:race"
LINES = 40


class RivalFirst(FileSource):
    """A file source whose first read lets a rival detector store the same lines first
    (the interleaving two `oncall detect` processes hit when they start together)."""

    def __init__(self, paths: list[str], engine: Engine, resolve_between: bool) -> None:
        """RESOLVE_BETWEEN: the rival's incident is resolved before our batch is stored."""
        super().__init__(paths, service="orders", flush_after_s=0)
        self.engine, self.resolve_between, self.raced = engine, resolve_between, False

    def read(
        self, cursor: dict[str, Any], max_bytes: int = 1 << 23, selector: Any = None
    ) -> ReadBatch:
        """Read, then (once) have the rival scan and store the very same lines."""
        batch = super().read(cursor, max_bytes=max_bytes, selector=selector)
        if not self.raced:
            self.raced = True
            scan_source(self.engine, FileSource(self.paths, service="orders", flush_after_s=0), KEY)
            if self.resolve_between:
                with session_scope(self.engine) as session:
                    incident = session.exec(select(Incident)).one()
                    assert incident.id is not None
                    set_status(session, incident.id, IncidentStatus.RESOLVED, "fixed by the rival")
                    incident.needs_resolution = False
        return batch


def _write_errors(log: Path) -> None:
    """LINES identical errors (one incident) in LOG."""
    log.write_text("".join(f"ERROR payment gateway refused order {n}\n" for n in range(LINES)))


def _incidents(engine: Engine) -> list[Incident]:
    """Every incident in the store."""
    with session_scope(engine) as session:
        return list(session.exec(select(Incident)).all())


def test_racing_detectors_count_each_line_once(engine: Engine, tmp_path: Path) -> None:
    """Two detectors on the same new lines: one incident, occurrences equal to the lines."""
    log = tmp_path / "app.log"
    _write_errors(log)
    report = scan_source(engine, RivalFirst([str(log)], engine, resolve_between=False), KEY)
    [incident] = _incidents(engine)
    assert incident.occurrences == LINES
    assert report.lost_races == 1


def test_stale_batch_never_reopens_a_resolved_incident(engine: Engine, tmp_path: Path) -> None:
    """Lines the rival counted and whose incident was then resolved do not reopen it."""
    log = tmp_path / "app.log"
    _write_errors(log)
    scan_source(engine, RivalFirst([str(log)], engine, resolve_between=True), KEY)
    [incident] = _incidents(engine)
    assert (incident.status, incident.recurrences) == (IncidentStatus.RESOLVED.value, 0)
    assert incident.needs_resolution is False
    assert incident.occurrences == LINES


def test_cursor_advances_only_from_the_version_read(engine: Engine) -> None:
    """A compare-and-swap from a stale version fails and leaves the winner's cursor."""
    with session_scope(engine) as session:
        assert advance_cursor(session, KEY, {"n": 1}, 0)
    with session_scope(engine) as session:
        assert not advance_cursor(session, KEY, {"n": "stale"}, 0)
        assert advance_cursor(session, KEY, {"n": 2}, 1)
    with session_scope(engine) as session:
        assert load_cursor_at(session, KEY) == ({"n": 2}, 2)
