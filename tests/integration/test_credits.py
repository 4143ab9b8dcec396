"""An action's success is credited to its entry only after the incident stayed quiet.

Real cleanups on real files, on SQLite and PostgreSQL: a verified success waits as a pending
credit; settling after the window credits it; a recurrence inside the window (reopened, or as a
new incident with the same fingerprint) makes it a failure; an action with no effect is never
credited and escalates.
"""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.models import ActionStatus, Decision, IncidentStatus
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.resolution.recording import (
    escalate_incident,
    escalation_reasons,
    record_action_outcome,
)
from oncall_agent.settings import get_settings
from oncall_agent.store.credits import settle_credits
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import get_entry
from oncall_agent.store.tables import ActionRun, utcnow
from tests.integration.test_resolution_steps import _open, draft_for

pytestmark = pytest.mark.integration
WINDOW = timedelta(seconds=get_settings().verification_window_s)


def _old_files(folder: Path, count: int = 3) -> Path:
    """FOLDER with COUNT three-day-old files."""
    folder.mkdir(exist_ok=True)
    old = time.time() - 3 * 86400
    for i in range(count):
        (folder / f"old.{i}.log").write_bytes(b"x" * 100)
        os.utime(folder / f"old.{i}.log", (old, old))
    return folder


def _clean_up(engine: Engine, folder: Path) -> tuple[int, int, bool]:
    """Open a disk-full incident, run its cleanup and record it: (incident, run id, resolved)."""
    incident_id = _open(engine, "No space left on device", "disk")
    analysis = analyze_incident(engine, incident_id, {"api": {"log_dir": str(folder)}})
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[folder]))
    outcome = execute_action(engine, analysis, executor)
    assert outcome.action_run_id is not None
    return incident_id, outcome.action_run_id, record_action_outcome(engine, analysis, outcome)


def _record(engine: Engine) -> tuple[int, int]:
    """The disk-full entry's (successes, failures)."""
    with session_scope(engine) as session:
        entry = get_entry(session, "disk-full")
        assert entry is not None
        return entry.successes, entry.failures


def test_a_success_is_credited_only_after_a_quiet_window(engine: Engine, tmp_path: Path) -> None:
    """Resolved at once, but counted for the entry only when the window has passed quietly."""
    incident_id, run_id, resolved = _clean_up(engine, _old_files(tmp_path / "logs"))
    assert resolved and _record(engine) == (0, 0)
    with session_scope(engine) as session:
        assert get_incident(session, incident_id).status == IncidentStatus.RESOLVED
        assert settle_credits(session, now=utcnow() + WINDOW / 2) == []
    assert _record(engine) == (0, 0)
    with session_scope(engine) as session:
        (settled,) = settle_credits(session, now=utcnow() + WINDOW + timedelta(seconds=1))
        run = session.get(ActionRun, run_id)
        assert settled.credit == "credited" and run is not None and run.held is True
        assert settle_credits(session, now=utcnow() + 2 * WINDOW) == []  # settled once
    assert _record(engine) == (1, 0)


def test_a_recurrence_as_a_new_incident_inside_the_window_is_a_failure(
    engine: Engine, tmp_path: Path
) -> None:
    """The same problem opening a new incident (reopen window passed) fails the pending credit."""
    _, run_id, resolved = _clean_up(engine, _old_files(tmp_path / "logs"))
    assert resolved
    later = draft_for("No space left on device", "disk")
    later.first_seen = later.last_seen = utcnow() + timedelta(seconds=5)
    with session_scope(engine) as session:
        change = open_or_update_incident(session, later, reopen_window_s=0)
        assert change.kind == "opened"
    with session_scope(engine) as session:
        (settled,) = settle_credits(session, now=utcnow() + WINDOW + timedelta(seconds=1))
        assert settled.credit == "failed" and settled.action_run_id == run_id
    assert _record(engine) == (0, 1)


def test_a_cleanup_that_deletes_nothing_is_no_effect_and_never_credited(
    engine: Engine, tmp_path: Path
) -> None:
    """Nothing to delete: recorded no_effect, not resolved, escalated saying so, never counted."""
    empty = tmp_path / "empty"
    empty.mkdir()
    incident_id, run_id, resolved = _clean_up(engine, empty)
    with session_scope(engine) as session:
        run = session.get(ActionRun, run_id)
        assert run is not None and run.status == ActionStatus.NO_EFFECT.value
        assert run.credit is None
    assert not resolved
    analysis = analyze_incident(engine, incident_id, {"api": {"log_dir": str(empty)}})
    outcome = execute_action(  # the stored outcome, reused
        engine, analysis,
        build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[empty])),
    )  # fmt: skip
    reasons = escalation_reasons(Decision.EXECUTE, [], outcome)
    escalate_incident(
        engine, incident_id, reasons, ConsoleOutboxNotifier(tmp_path / "o.jsonl", io.StringIO())
    )
    assert any("changed nothing (no effect)" in r for r in reasons)
    with session_scope(engine) as session:
        assert get_incident(session, incident_id).status == IncidentStatus.ESCALATED
        assert settle_credits(session, now=utcnow() + 2 * WINDOW) == []
    assert _record(engine) == (0, 0)
