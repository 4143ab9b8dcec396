"""The sweep each detection run starts with: take over resolutions whose run died or failed.

A lease that expired, a Prefect run that is gone, or a resolution that failed is taken over:
an action it left in flight becomes UNKNOWN and the incident escalates (never re-run without a
person); a resolution that stopped before acting is retried a bounded number of times, then
escalated. Every path that does not retry ends in a notification.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from oncall_agent.models import IncidentStatus
from oncall_agent.notify.base import Notifier
from oncall_agent.resolution.lease import process_owner
from oncall_agent.resolution.recording import escalate_incident, incident_summary
from oncall_agent.resolution.steps import configuration_problem
from oncall_agent.settings import get_settings
from oncall_agent.store.actions import IN_FLIGHT, mark_abandoned, runs_for_incident
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.leases import (
    LeasePhase,
    claim_lease,
    finish_sweep,
    leased_run_ids,
    move_lease,
    stale_leases,
    take_over,
)
from oncall_agent.store.tables import ActionRun, Approval, Incident, ResolutionLease, utcnow


@dataclass
class SweepReport:
    """What one sweep did, by incident id."""

    unknown: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per non-empty outcome, for the run log and the summary artifact."""
        parts = [
            (self.unknown, "interrupted mid-action: outcome unknown, escalated"),
            (self.escalated, "stranded or failing resolution escalated"),
            (self.retried, "resolution that stopped before acting retried"),
        ]
        return [f"{text}: incidents {ids}" for ids, text in parts if ids]


def run_ids_to_check(engine: Engine) -> list[str]:
    """Prefect runs holding leases; the caller asks Prefect which of them are gone."""
    with session_scope(engine) as session:
        return leased_run_ids(session)


def _why(lease: ResolutionLease, gone: bool, now: datetime) -> str:
    """Why the lease was taken over, in the words the escalation uses."""
    who = f"run {lease.flow_run_id}" if lease.flow_run_id else f"process {lease.owner}"
    if lease.phase == LeasePhase.FAILED.value:
        return f"the resolution ({who}) failed while {lease.phase}: {lease.last_error}"
    if gone:
        return f"the resolution {who} ended or vanished in Prefect while {lease.phase}"
    seconds = int((now - lease.heartbeat_at).total_seconds())
    return f"the resolution {who} stopped renewing its lease {seconds}s ago while {lease.phase}"


def _expire_approvals(session: Session, incident_id: int) -> int:
    """Expire the incident's pending approvals: nobody waits for the answer any more."""
    result = session.execute(
        update(Approval)
        .where(col(Approval.incident_id) == incident_id, col(Approval.status) == "pending")
        .values(status="expired", decided_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _escalation(
    session: Session, lease: ResolutionLease, why: str, max_attempts: int
) -> tuple[str, list[str]]:
    """What to do with a taken-over lease ('unknown', 'escalate' or 'retry') and why."""
    runs = [
        r for r in runs_for_incident(session, lease.incident_id) if r.started_at >= lease.claimed_at
    ]
    in_flight: list[ActionRun] = [r for r in runs if r.status in IN_FLIGHT]
    for run in in_flight:
        mark_abandoned(session, run)
    if in_flight:
        named = ", ".join(f"{r.action} on {r.target} (run #{r.id})" for r in in_flight)
        return "unknown", [
            why,
            f"{named} was running: its outcome is unknown and it will not be re-run "
            "without a person; check the target, then resolve the incident by hand",
        ]
    if runs:
        last = runs[-1]
        return "escalate", [
            why,
            f"{last.action} on {last.target} (run #{last.id}) had ended {last.status} before "
            "the outcome was recorded; check it, then resolve the incident by hand",
        ]
    if lease.phase == LeasePhase.AWAITING_APPROVAL.value and _expire_approvals(
        session, lease.incident_id
    ):
        return "escalate", [why, "nobody can answer its approval request any more: nothing ran"]
    if lease.attempts < max_attempts:
        return "retry", [why]
    return "escalate", [why, f"the resolution stopped {lease.attempts} times before acting"]


def _recover_one(
    engine: Engine,
    lease: ResolutionLease,
    gone: bool,
    notifier: Notifier,
    report: SweepReport,
    now: datetime,
) -> None:
    """Take over one stale lease and retry or escalate its incident."""
    settings = get_settings()
    sweeper = process_owner()
    why = _why(lease, gone, now)
    with session_scope(engine) as session:
        if not take_over(session, lease, sweeper, settings.resolution_lease_s):
            return  # another sweep, or the holder itself, got there first
        what, reasons = _escalation(session, lease, why, settings.resolution_max_attempts)
        incident = get_incident(session, lease.incident_id)
        if incident.status == IncidentStatus.RESOLVED.value:
            what = "settled"  # a person resolved it meanwhile: nothing left to do
        elif what == "retry":
            session.execute(
                update(Incident)
                .where(col(Incident.id) == lease.incident_id)
                .values(needs_resolution=True)
            )
        audit(session, "lease_swept", incident_id=lease.incident_id, outcome=what, reasons=reasons)
    if what in ("unknown", "escalate"):
        escalate_incident(engine, lease.incident_id, reasons, notifier)
        (report.unknown if what == "unknown" else report.escalated).append(lease.incident_id)
    elif what == "retry":
        report.retried.append(lease.incident_id)
    with session_scope(engine) as session:
        finish_sweep(session, lease.incident_id, sweeper)


def escalate_unconfigured(
    engine: Engine, incident_id: int, where: str, problem: str, notifier: Notifier
) -> dict[str, object]:
    """Escalate an incident whose resolution cannot even load its configuration; its summary."""
    owner = process_owner()
    with session_scope(engine) as session:
        claimed = claim_lease(session, incident_id, owner, get_settings().resolution_lease_s)
    if claimed is not None:
        reason = configuration_problem(engine, where, problem, incident_id)
        escalate_incident(engine, incident_id, [reason], notifier)
        with session_scope(engine) as session:
            move_lease(session, incident_id, owner, LeasePhase.DONE)
    return incident_summary(engine, incident_id)


def sweep_stranded(
    engine: Engine,
    notifier: Notifier,
    gone_run_ids: Collection[str] = (),
    now: datetime | None = None,
) -> SweepReport:
    """Take over every failed or expired lease, and those whose Prefect run is gone."""
    now = now or utcnow()
    gone = set(gone_run_ids)
    with session_scope(engine) as session:
        stale = stale_leases(session, now, sorted(gone))
    report = SweepReport()
    for lease in stale:
        _recover_one(engine, lease, lease.flow_run_id in gone, notifier, report, now)
    return report
