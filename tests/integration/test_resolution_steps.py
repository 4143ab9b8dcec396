"""The resolution steps on a real store and a real executor: act once, verify, learn, escalate."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.models import ActionStatus, Decision, IncidentDraft, IncidentStatus, Severity
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.resolution.decision import decide_incident
from oncall_agent.resolution.recording import escalate_incident, record_action_outcome
from oncall_agent.store.credits import settle_credits
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import get_entry, seed_defaults
from oncall_agent.store.tables import ActionRun, AuditEvent, utcnow

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def draft_for(message: str, category: str, service: str = "api") -> IncidentDraft:
    """A draft about MESSAGE, as grouping would produce it."""
    return IncidentDraft(
        fingerprint=f"fp-{category}",
        title=message,
        service=service,
        severity=Severity.ERROR,
        category=category,
        template=message,
        source="test",
        first_seen=NOW,
        last_seen=NOW,
        count=40,
        samples=[message],
        targets={"service": service},  # as from a source configured with this service
    )


def _open(engine: Engine, message: str, category: str, service: str = "api") -> int:
    """Seed the knowledge base and store one incident about MESSAGE."""
    with session_scope(engine) as session:
        seed_defaults(session)
        draft = draft_for(message, category, service)
        return open_or_update_incident(session, draft, reopen_window_s=3600).incident_id


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A log folder with five old files and one new one."""
    folder = tmp_path / "logs"
    folder.mkdir()
    old = time.time() - 3 * 86400
    for i in range(5):
        path = folder / f"old.{i}.log"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (old, old))
    (folder / "new.log").write_bytes(b"y" * 10)
    return folder


def test_disk_full_is_cleaned_once_verified_and_learned(engine: Engine, log_dir: Path) -> None:
    """Disk full: cleanup runs once, a retry reuses the stored run, and the entry learns."""
    inc = _open(engine, "write failed: [Errno 28] No space left on device", "disk")
    analysis = analyze_incident(engine, inc, {"api": {"log_dir": str(log_dir)}})
    assert analysis.entry_key == "disk-full"
    decision = decide_incident(engine, analysis, PolicyConfig(), {"cleanup_files"})
    assert decision.decision is Decision.EXECUTE, decision.reasons
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[log_dir]))

    outcome = execute_action(engine, analysis, executor)
    assert outcome.status is ActionStatus.SUCCEEDED and outcome.verified
    assert sorted(p.name for p in log_dir.iterdir()) == ["new.log"]
    assert record_action_outcome(engine, analysis, outcome)

    (log_dir / "old.9.log").write_bytes(b"z")  # would be deleted by a second real run
    os.utime(log_dir / "old.9.log", (1, 1))
    again = execute_action(engine, analysis, executor)
    assert again.reused and again.action_run_id == outcome.action_run_id
    assert (log_dir / "old.9.log").exists()
    record_action_outcome(engine, analysis, again)  # a reused outcome must not count twice
    with session_scope(engine) as session:
        assert len(session.exec(select(ActionRun)).all()) == 1
        entry = get_entry(session, "disk-full")
        assert entry is not None and (entry.successes, entry.failures) == (0, 0)  # pending
        assert get_incident(session, inc).status == IncidentStatus.RESOLVED
        settle_credits(session, now=utcnow() + timedelta(hours=1))  # quiet past the window
    with session_scope(engine) as session:
        entry = get_entry(session, "disk-full")
        assert entry is not None and (entry.successes, entry.failures) == (1, 0)


def test_interrupted_action_becomes_unknown_and_is_not_rerun(engine: Engine, log_dir: Path) -> None:
    """A run left 'running' by a crash is marked unknown on the next attempt, which does nothing."""
    inc = _open(engine, "No space left on device", "disk")
    analysis = analyze_incident(engine, inc, {"api": {"log_dir": str(log_dir)}})
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[log_dir]))
    first = execute_action(engine, analysis, executor)
    with session_scope(engine) as session:  # simulate a crash between side effect and record
        run = session.get(ActionRun, first.action_run_id)
        assert run is not None
        run.status = ActionStatus.RUNNING.value
        session.add(run)
    again = execute_action(engine, analysis, executor)
    assert again.status is ActionStatus.UNKNOWN and again.reused


def test_rejected_parameters_store_nothing(engine: Engine, tmp_path: Path) -> None:
    """An action whose root is outside the allow-list is refused before any row is written."""
    from oncall_agent.errors import ActionRejected

    inc = _open(engine, "No space left on device", "disk")
    analysis = analyze_incident(engine, inc, {"api": {"log_dir": "/etc"}})
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[tmp_path]))
    with pytest.raises(ActionRejected):
        execute_action(engine, analysis, executor)
    with session_scope(engine) as session:
        assert session.exec(select(ActionRun)).all() == []


def test_unknown_error_escalates_to_the_outbox(engine: Engine, tmp_path: Path) -> None:
    """An incident no entry matches escalates, and the outbox holds a message saying why."""
    inc = _open(engine, "ledger checksum mismatch for batch <NUM>", "error")
    analysis = analyze_incident(engine, inc, {})
    decision = decide_incident(engine, analysis, PolicyConfig(), {"cleanup_files"})
    assert decision.decision is Decision.ESCALATE
    outbox = tmp_path / "outbox.jsonl"
    escalate_incident(engine, inc, decision.reasons, ConsoleOutboxNotifier(outbox))
    message = json.loads(outbox.read_text())
    assert message["incident_id"] == inc and "no knowledge entry" in message["body"]
    with session_scope(engine) as session:
        assert get_incident(session, inc).status == IncidentStatus.ESCALATED
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert kinds == ["decision", "escalated"]


def test_circuit_breaker_escalates_after_repeated_failures(engine: Engine, log_dir: Path) -> None:
    """Three failed actions on the same target within the hour stop the next automatic one."""
    inc = _open(engine, "No space left on device", "disk")
    analysis = analyze_incident(engine, inc, {"api": {"log_dir": str(log_dir)}})
    with session_scope(engine) as session:
        for i in range(3):
            session.add(
                ActionRun(
                    idempotency_key=f"old-{i}",
                    action="cleanup_files",
                    target=f"cleanup_files:{log_dir}",
                    status="failed",
                )
            )
    decision = decide_incident(engine, analysis, PolicyConfig(), {"cleanup_files"})
    assert decision.decision is Decision.ESCALATE
    assert any("circuit" in r for r in decision.reasons)


def test_a_fix_that_does_not_hold_counts_against_it(engine: Engine, log_dir: Path) -> None:
    """A recurrence inside the window records the fix as a failure, never its success."""
    inc = _open(engine, "No space left on device", "disk")
    analysis = analyze_incident(engine, inc, {"api": {"log_dir": str(log_dir)}})
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[log_dir]))
    outcome = execute_action(engine, analysis, executor)
    assert record_action_outcome(engine, analysis, outcome)
    with session_scope(engine) as session:
        change = open_or_update_incident(
            session, draft_for("No space left on device", "disk"), reopen_window_s=3600
        )
        assert change.kind == "reopened"
        entry = get_entry(session, "disk-full")
        run = session.get(ActionRun, outcome.action_run_id)
    assert entry is not None and (entry.successes, entry.failures) == (0, 1)
    assert run is not None and run.held is False and run.credit == "failed"
    again = analyze_incident(engine, inc, {"api": {"log_dir": str(log_dir)}})
    assert again.confidence is not None and again.confidence < (analysis.confidence or 0)
