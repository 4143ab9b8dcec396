"""The executor's allow-lists judge the concrete action before anyone is asked or anything runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.models import IncidentStatus
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.steps import resolve_unattended
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import seed_defaults
from oncall_agent.store.tables import ActionRun, Approval
from tests.integration.test_resolution_steps import draft_for


def _resolve(engine: Engine, tmp_path: Path, roots: list[Path]) -> tuple[int, Path]:
    """Resolve a disk-full incident whose log folder is TMP_PATH/logs, with ROOTS allow-listed."""
    logs = tmp_path / "logs"
    logs.mkdir()
    old = time.time() - 3 * 86400
    for i in range(3):
        (logs / f"old.{i}.log").write_text("x")
        os.utime(logs / f"old.{i}.log", (old, old))
    with session_scope(engine) as session:
        seed_defaults(session)
        draft = draft_for("write failed: [Errno 28] No space left on device", "disk")
        incident_id = open_or_update_incident(session, draft, reopen_window_s=60).incident_id
    outbox = tmp_path / "outbox.jsonl"
    resolve_unattended(
        engine,
        incident_id,
        service_vars={"api": {"log_dir": str(logs)}},
        policy=PolicyConfig(),
        allowed={"cleanup_files"},
        executors=ExecutorConfig(cleanup_roots=roots),
        clients={},
        secrets=(),
        dry_run=False,
        notifier=ConsoleOutboxNotifier(outbox),
    )
    return incident_id, outbox


def test_an_automatic_action_outside_the_allow_lists_escalates(
    engine: Engine, tmp_path: Path
) -> None:
    """A cleanup of a folder no cleanup root covers escalates with the refusal; nothing runs."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    incident_id, outbox = _resolve(engine, tmp_path, [elsewhere])
    assert len(list((tmp_path / "logs").iterdir())) == 3
    with session_scope(engine) as session:
        incident = get_incident(session, incident_id)
        assert session.exec(select(ActionRun)).all() == []
        assert session.exec(select(Approval)).all() == []
    assert incident.status == IncidentStatus.ESCALATED and incident.decision == "escalate"
    reasons = " ".join(incident.decision_reasons or [])
    assert "allow-lists refuse 'cleanup_files'" in reasons
    assert "allow-lists refuse" in outbox.read_text()


def test_an_allowed_action_says_so_and_runs(engine: Engine, tmp_path: Path) -> None:
    """The same incident with its folder allow-listed runs the cleanup."""
    incident_id, _ = _resolve(engine, tmp_path, [tmp_path / "logs"])
    with session_scope(engine) as session:
        assert get_incident(session, incident_id).status == IncidentStatus.RESOLVED
    assert list((tmp_path / "logs").iterdir()) == []
