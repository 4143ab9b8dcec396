"""Crediting a knowledge entry with an action's success only after the incident stayed quiet.

An action that ran and passed its check is recorded `credit = "pending"`, due at the end of the
verification window. Each detection run (after storing what it read, so recurrences are known)
settles the runs that are due: quiet until then is a success for the entry ("credited"); the
incident coming back first, under the same or a new incident with its fingerprint, is a failure
("failed"). A recurrence inside the window settles it as a failure at once (`fail_pending`).
An action without effect, a dry run or an unknown outcome is never credited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from oncall_agent.store.audit import audit
from oncall_agent.store.knowledge import record_outcome
from oncall_agent.store.tables import ActionRun, Incident, utcnow

PENDING, CREDITED, FAILED = "pending", "credited", "failed"


@dataclass(frozen=True)
class Settled:
    """How one pending credit ended."""

    action_run_id: int
    incident_id: int | None
    credit: str


def hold_credit(
    session: Session, run_id: int, window_s: float, now: datetime | None = None
) -> None:
    """Mark run RUN_ID's success as pending until WINDOW_S seconds from NOW."""
    run = session.get(ActionRun, run_id)
    if run is None:
        return
    run.credit = PENDING
    run.credit_due_at = (now or utcnow()) + timedelta(seconds=window_s)
    session.add(run)
    session.flush()


def fail_pending(session: Session, incident_id: int) -> ActionRun | None:
    """The incident came back inside its window: its pending credit becomes a failure."""
    query = select(ActionRun).where(
        ActionRun.incident_id == incident_id, ActionRun.credit == PENDING
    )
    run = session.exec(query.order_by(col(ActionRun.id).desc())).first()
    if run is not None:
        _settle(session, run, FAILED, "the incident came back inside the verification window")
    return run


def settle_credits(session: Session, now: datetime | None = None) -> list[Settled]:
    """Settle every pending credit whose window has passed; what each became."""
    now = now or utcnow()
    due = session.exec(
        select(ActionRun)
        .where(ActionRun.credit == PENDING, col(ActionRun.credit_due_at) <= now)
        .order_by(col(ActionRun.id))
        .with_for_update(skip_locked=True)  # two detection runs never settle one credit twice
    ).all()
    settled = []
    for run in due:
        came_back = _recurred_after(session, run)
        credit = FAILED if came_back else CREDITED
        why = "the problem was seen again" if came_back else "quiet for the verification window"
        _settle(session, run, credit, why)
        assert run.id is not None
        settled.append(Settled(run.id, run.incident_id, credit))
    return settled


def _recurred_after(session: Session, run: ActionRun) -> bool:
    """Whether an incident with RUN's fingerprint was seen after RUN finished."""
    incident = session.get(Incident, run.incident_id) if run.incident_id else None
    if incident is None or run.finished_at is None:
        return False
    seen = session.exec(
        select(Incident.id).where(
            Incident.fingerprint == incident.fingerprint,
            col(Incident.last_seen) > run.finished_at,
            col(Incident.id) != incident.id,
        )
    ).first()
    return seen is not None or incident.recurrences > _episode_of(run)


def _episode_of(run: ActionRun) -> int:
    """The incident episode the run belonged to (from its idempotency key, ':epN:')."""
    for part in run.idempotency_key.split(":"):
        if part.startswith("ep") and part[2:].isdigit():
            return int(part[2:])
    return 0


def _settle(session: Session, run: ActionRun, credit: str, why: str) -> None:
    """Record CREDIT on RUN, count it for its entry, and audit why."""
    run.credit = credit
    run.held = credit == CREDITED
    session.add(run)
    if run.knowledge_entry_id is not None:
        record_outcome(
            session, run.knowledge_entry_id, success=credit == CREDITED, action=run.action
        )
    audit(session, f"credit_{credit}", incident_id=run.incident_id, action_run_id=run.id,
          reason=why)  # fmt: skip
    session.flush()
