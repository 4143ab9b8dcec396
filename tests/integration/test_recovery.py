"""Resolution leases and the sweep on a real store: nothing stranded or re-run, all notified."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.errors import LeaseLost
from oncall_agent.executors.config import CommandTemplate, ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionStatus, IncidentDraft, IncidentStatus, Severity
from oncall_agent.notify.outbox import RoutedOutbox
from oncall_agent.notify.routing import RoutingConfig
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.resolution.lease import LeaseKeeper
from oncall_agent.resolution.recovery import sweep_stranded
from oncall_agent.resolution.steps import resolve_unattended
from oncall_agent.store.actions import reserve_action
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.leases import claim_lease, count_by_phase
from oncall_agent.store.problems import recent_problems
from oncall_agent.store.tables import ActionRun, Approval, NotificationRow, utcnow

# Appends one line per run to <dir>/<incident id>: the count of lines is the count of side effects.
MARKER_SCRIPT = "import pathlib, sys; pathlib.Path(*sys.argv[1:3]).open('a').write('ran\\n')"


def _outbox(engine: Engine) -> RoutedOutbox:
    """The outbox every escalation goes through (console channel, no grouping delay)."""
    return RoutedOutbox(lambda: session_scope(engine), RoutingConfig(group_wait_s=0))


def _incident(engine: Engine, name: str = "marker") -> int:
    """One open incident whose knowledge entry runs the `touch` command template."""
    spec = KnowledgeEntrySpec.model_validate(
        {
            "key": f"touch-{name}",
            "title": f"{name} marker missing",
            "patterns": [f"{name} marker missing"],
            "services": ["app"],
            "solution": "touch the marker",
            "action": {
                "name": "run_command",
                "params": {"template": "touch", "params": {"name": "{{incident.id}}"}},
            },
            "risk": "low",
            "autonomy": "auto",
            "successes": 50,
        }
    )
    draft = IncidentDraft(
        fingerprint=f"fp-{name}",
        title=f"{name} marker missing",
        service="app",
        severity=Severity.ERROR,
        category="app",
        template=f"{name} marker missing",
        source="test",
        first_seen=utcnow(),
        last_seen=utcnow(),
        count=3,
        samples=[f"{name} marker missing"],
    )
    with session_scope(engine) as session:
        add_entry(session, spec, origin="test")
        return open_or_update_incident(session, draft, reopen_window_s=3600).incident_id


def _executors(marker_dir: Path, executable: str = sys.executable) -> ExecutorConfig:
    """A `touch` template that appends to MARKER_DIR/<incident id> with a real process."""
    template = {
        "argv": [executable, "-c", MARKER_SCRIPT, str(marker_dir), "{name}"],
        "params": {"name": {"pattern": r"\d+"}},
    }
    return ExecutorConfig(command_templates={"touch": CommandTemplate.model_validate(template)})


def _notified(engine: Engine, incident_id: int) -> list[NotificationRow]:
    """Escalations stored in the outbox for the incident."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(NotificationRow).where(NotificationRow.incident_id == incident_id)
        ).all()
        return [r for r in rows if r.kind == "escalation"]


def _later(seconds: float) -> Callable[[], object]:
    """A moment SECONDS from now (a sweep run after the lease expired)."""
    return lambda: utcnow() + timedelta(seconds=seconds)


def test_action_left_running_becomes_unknown_escalated_and_not_rerun(engine: Engine) -> None:
    """A crash mid-action: the sweep marks the run unknown, escalates with a notification, once."""
    inc = _incident(engine)
    with session_scope(engine) as session:
        assert claim_lease(session, inc, "dead-worker", ttl_s=30) is not None
        run = reserve_action(
            session,
            idempotency_key="k1",
            incident_id=inc,
            knowledge_entry_id=None,
            action="run_command",
            target="run_command:touch",
            parameters={},
            params_hash="h",
            triggered_by="agent",
        )
        run.status = ActionStatus.RUNNING.value  # the process died here
    assert sweep_stranded(engine, _outbox(engine)).unknown == []  # the lease has not expired yet
    report = sweep_stranded(engine, _outbox(engine), now=_later(31)())  # type: ignore[arg-type]
    assert report.unknown == [inc]
    with session_scope(engine) as session:
        assert get_incident(session, inc).status == IncidentStatus.ESCALATED
        assert get_incident(session, inc).needs_resolution is False  # never re-run by itself
        runs = session.exec(select(ActionRun)).all()
        assert [r.status for r in runs] == [ActionStatus.UNKNOWN.value]
    notes = _notified(engine, inc)
    assert len(notes) == 1 and "unknown" in notes[0].body
    again = sweep_stranded(engine, _outbox(engine), now=_later(3600)())  # type: ignore[arg-type]
    assert (again.unknown, again.escalated, again.retried) == ([], [], [])


def test_failed_before_acting_is_retried_then_escalated(engine: Engine) -> None:
    """A resolution that dies before acting is retried up to the limit, then escalated."""
    inc = _incident(engine)
    for attempt in (1, 2, 3):
        with session_scope(engine) as session:
            lease = claim_lease(session, inc, f"worker-{attempt}", ttl_s=30)
            assert lease is not None and lease.attempts == attempt
        report = sweep_stranded(engine, _outbox(engine), now=_later(31)())  # type: ignore[arg-type]
        if attempt < 3:
            assert report.retried == [inc]
            with session_scope(engine) as session:
                assert get_incident(session, inc).needs_resolution is True
    assert report.escalated == [inc]
    assert "3 times before acting" in _notified(engine, inc)[0].body


def test_run_gone_while_awaiting_approval_escalates_at_once(engine: Engine) -> None:
    """A run paused for approval that Prefect reports gone: approval expired, incident escalated."""
    inc = _incident(engine)
    with session_scope(engine) as session:
        claim_lease(session, inc, "w", ttl_s=300, flow_run_id="run-1")
        lease_approval = Approval(
            incident_id=inc,
            action="run_command",
            params_hash="h",
            risk="low",
            expires_at=utcnow() + timedelta(hours=1),
        )
        session.add(lease_approval)
    from oncall_agent.store.leases import LeasePhase, move_lease

    with session_scope(engine) as session:
        assert move_lease(session, inc, "w", LeasePhase.AWAITING_APPROVAL)
    report = sweep_stranded(engine, _outbox(engine), gone_run_ids={"run-1"})
    assert report.escalated == [inc]
    with session_scope(engine) as session:
        assert session.exec(select(Approval)).one().status == "expired"
    assert "approval" in _notified(engine, inc)[0].body


def test_lease_kept_alive_by_heartbeats_is_not_swept(engine: Engine, tmp_path: Path) -> None:
    """A live run renews its lease: after several TTLs the sweep leaves it alone."""
    inc = _incident(engine)
    with session_scope(engine) as session:
        claim_lease(session, inc, "alive", ttl_s=0.4)
    import time

    with LeaseKeeper(engine, inc, "alive", ttl_s=0.4):
        time.sleep(1.2)
        assert sweep_stranded(engine, _outbox(engine)).retried == []
    with session_scope(engine) as session:
        assert count_by_phase(session) == {}  # done once the block ended normally


def test_swept_run_cannot_start_its_action(engine: Engine, tmp_path: Path) -> None:
    """A run whose lease was taken over is fenced: the action never starts, nothing is stored."""
    inc = _incident(engine)
    with session_scope(engine) as session:
        claim_lease(session, inc, "slow", ttl_s=30)
    sweep_stranded(engine, _outbox(engine), now=_later(31)())  # type: ignore[arg-type]
    analysis = analyze_incident(engine, inc, {})
    markers = tmp_path / "markers"
    markers.mkdir()
    executor = build_executor("run_command", _executors(markers))
    with pytest.raises(LeaseLost):
        execute_action(engine, analysis, executor, lease_owner="slow")
    assert list(markers.iterdir()) == []
    with session_scope(engine) as session:
        assert session.exec(select(ActionRun)).all() == []


def _resolve(engine: Engine, inc: int, executors: ExecutorConfig) -> object:
    """One unattended resolution as a flow runs it, holding the lease."""
    with LeaseKeeper(engine, inc, "me"):
        return resolve_unattended(
            engine,
            inc,
            service_vars={},
            policy=PolicyConfig(),
            allowed={"run_command"},
            executors=executors,
            clients={},
            secrets=(),
            dry_run=False,
            notifier=_outbox(engine),
            lease_owner="me",
        )


def test_missing_command_escalates_at_once_and_is_reported(engine: Engine, tmp_path: Path) -> None:
    """An executor whose command does not exist: escalated now with a notification, not stuck."""
    inc = _incident(engine)
    executors = _executors(tmp_path, executable="/nonexistent/bin/restart-app")
    _resolve(engine, inc, executors)
    with session_scope(engine) as session:
        assert get_incident(session, inc).status == IncidentStatus.ESCALATED
        problems = recent_problems(session)
        assert [p.key for p in problems] == ["action:run_command"]
        assert "/nonexistent/bin/restart-app" in problems[0].problem
        assert count_by_phase(session) == {}  # nothing left for a sweep
    assert "configuration problem" in _notified(engine, inc)[0].body


def test_resolution_with_lease_acts_once_and_resolves(engine: Engine, tmp_path: Path) -> None:
    """The normal path under a lease: the marker is created once and the incident resolves."""
    inc = _incident(engine)
    _resolve(engine, inc, _executors(tmp_path))
    assert (tmp_path / str(inc)).read_text() == "ran\n"
    with session_scope(engine) as session:
        assert get_incident(session, inc).status == IncidentStatus.RESOLVED
        assert count_by_phase(session) == {}
