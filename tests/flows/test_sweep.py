"""The detection flow starts with the sweep: resolutions whose Prefect run is gone, or whose lease
expired mid-action, are escalated (unknown, never re-run) and notified through the outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from prefect import flow
from sqlmodel import select

from blocks.sources import LogFileSource
from flows.detection import detect_incidents
from oncall_agent.models import ActionStatus, IncidentDraft, IncidentStatus, Severity
from oncall_agent.store.actions import reserve_action
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.leases import LeasePhase, claim_lease, move_lease
from oncall_agent.store.schema import upgrade
from oncall_agent.store.tables import ActionRun, Approval, NotificationRow, ResolutionLease, utcnow


@flow(name="finished-elsewhere")
def _finished() -> None:
    """A run that has already ended, as a crashed resolution's run would have."""


def _incident(name: str) -> int:
    """An open incident named NAME."""
    draft = IncidentDraft(
        fingerprint=f"fp-{name}",
        title=name,
        service="api",
        severity=Severity.ERROR,
        category="app",
        template=name,
        source="test",
        first_seen=utcnow(),
        last_seen=utcnow(),
        count=1,
        samples=[name],
    )
    with session_scope(get_engine()) as session:
        return open_or_update_incident(session, draft, reopen_window_s=60).incident_id


def test_detection_run_sweeps_gone_runs_and_expired_leases(data_dir: Path, tmp_path: Path) -> None:
    """A run gone in Prefect and an expired lease mid-action: both escalated and notified."""
    upgrade(get_engine())
    state = _finished(return_state=True)
    gone_run = str(state.state_details.flow_run_id)
    waiting, acting = _incident("waiting for approval"), _incident("acting when killed")
    with session_scope(get_engine()) as session:
        claim_lease(session, waiting, "w1", ttl_s=3600, flow_run_id=gone_run)
        move_lease(session, waiting, "w1", LeasePhase.AWAITING_APPROVAL)
        session.add(
            Approval(
                incident_id=waiting,
                action="run_command",
                params_hash="h",
                risk="low",
                expires_at=utcnow() + timedelta(hours=1),
                flow_run_id=gone_run,
            )
        )
        claim_lease(session, acting, "w2", ttl_s=3600)
        session.get(ResolutionLease, acting).expires_at = utcnow() - timedelta(seconds=1)  # type: ignore[union-attr]
        run = reserve_action(
            session,
            idempotency_key="killed",
            incident_id=acting,
            knowledge_entry_id=None,
            action="run_command",
            target="run_command:x",
            parameters={},
            params_hash="h",
            triggered_by="agent",
        )
        run.status = ActionStatus.RUNNING.value
    log = tmp_path / "quiet.log"
    log.write_text("")

    async def scenario() -> None:
        await LogFileSource(paths=[str(log)], service="api").asave("sweep", overwrite=True)
        await detect_incidents(sources=["sweep"])

    asyncio.run(scenario())
    with session_scope(get_engine()) as session:
        statuses = {i: get_incident(session, i).status for i in (waiting, acting)}
        runs = session.exec(select(ActionRun)).all()
        told = {r.incident_id for r in session.exec(select(NotificationRow)).all()}
        approval = session.exec(select(Approval)).one()
    assert approval.status == "expired"
    assert statuses == {waiting: IncidentStatus.ESCALATED, acting: IncidentStatus.ESCALATED}
    assert [r.status for r in runs] == [ActionStatus.UNKNOWN.value]
    assert told == {waiting, acting}
