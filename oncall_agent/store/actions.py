"""Repository functions for action runs: reserve a key, finish, count for guardrails."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oncall_agent.errors import DuplicateAction
from oncall_agent.models import ActionStatus
from oncall_agent.store.tables import ActionRun, utcnow

# An action still "pending" or "running" when someone looks again may have run: its outcome is
# unknown, and it is never run again without a new approval.
IN_FLIGHT = (ActionStatus.PENDING.value, ActionStatus.RUNNING.value)


def reserve_action(
    session: Session,
    *,
    idempotency_key: str,
    incident_id: int | None,
    knowledge_entry_id: int | None,
    action: str,
    target: str,
    parameters: dict[str, Any],
    params_hash: str,
    triggered_by: str,
    dry_run: bool = False,
    confidence: float | None = None,
) -> ActionRun:
    """Store the action run under its key before any side effect; DuplicateAction if it exists."""
    run = ActionRun(
        idempotency_key=idempotency_key,
        incident_id=incident_id,
        knowledge_entry_id=knowledge_entry_id,
        action=action,
        target=target,
        parameters=parameters,
        params_hash=params_hash,
        status=ActionStatus.PENDING.value,
        triggered_by=triggered_by,
        dry_run=dry_run,
        confidence=confidence,
    )
    savepoint = session.begin_nested()
    try:
        session.add(run)
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        raise DuplicateAction(f"action key {idempotency_key!r} was used before") from None
    return run


def get_by_key(session: Session, idempotency_key: str) -> ActionRun | None:
    """The action run stored under this idempotency key, if any."""
    query = select(ActionRun).where(ActionRun.idempotency_key == idempotency_key)
    return session.exec(query).first()


def mark_running(session: Session, run_id: int) -> None:
    """Say the side effect is about to start (a crash from here on leaves the outcome unknown)."""
    run = session.get(ActionRun, run_id)
    if run is not None:
        run.status = ActionStatus.RUNNING.value
        session.add(run)
        session.flush()


def finish_action(
    session: Session,
    run_id: int,
    *,
    status: ActionStatus,
    output: str,
    verification: dict[str, Any] | None = None,
    verified: bool | None = None,
    error: str | None = None,
) -> ActionRun:
    """Record how an action run ended."""
    run = session.get(ActionRun, run_id)
    if run is None:
        raise DuplicateAction(f"action run {run_id} disappeared")
    run.status = status.value
    run.output = output
    run.verification = verification or {}
    run.verified = verified
    run.error = error
    run.finished_at = utcnow()
    session.add(run)
    session.flush()
    return run


def mark_abandoned(session: Session, run: ActionRun) -> ActionRun:
    """Turn an in-flight run found after a crash into UNKNOWN (StackStorm's 'abandoned')."""
    if run.status in IN_FLIGHT:
        run.status = ActionStatus.UNKNOWN.value
        run.error = "the run was interrupted; the action may or may not have taken effect"
        run.finished_at = utcnow()
        session.add(run)
        session.flush()
    return run


def actions_for_incident(session: Session, incident_id: int) -> int:
    """How many real (not dry-run) actions have run for this incident."""
    query = select(func.count()).where(
        ActionRun.incident_id == incident_id, col(ActionRun.dry_run).is_(False)
    )
    return int(session.exec(query).one())


def actions_since(session: Session, since: datetime) -> int:
    """How many real actions started since SINCE (the global hourly cap)."""
    query = select(func.count()).where(
        col(ActionRun.started_at) >= since, col(ActionRun.dry_run).is_(False)
    )
    return int(session.exec(query).one())


def failures_on_target(session: Session, target: str, window_s: int, now: datetime) -> int:
    """Actions on TARGET in the window that failed, ended unknown, or did not hold."""
    since = now - timedelta(seconds=window_s)
    bad = or_(
        # A no-op counts too: acting again and again without effect must stop as well.
        col(ActionRun.status).in_(
            [ActionStatus.FAILED.value, ActionStatus.UNKNOWN.value, ActionStatus.NO_EFFECT.value]
        ),
        col(ActionRun.held).is_(False),
    )
    query = select(func.count()).where(
        ActionRun.target == target, col(ActionRun.started_at) >= since, bad
    )
    return int(session.exec(query).one())


def mark_did_not_hold(session: Session, incident_id: int) -> ActionRun | None:
    """The problem came back: flag the incident's last successful run as a fix that did not hold."""
    query = (
        select(ActionRun)
        .where(
            ActionRun.incident_id == incident_id,
            ActionRun.status == ActionStatus.SUCCEEDED.value,
            col(ActionRun.held).is_not(False),
        )
        .order_by(col(ActionRun.id).desc())
    )
    run = session.exec(query).first()
    if run is not None:
        run.held = False
        session.add(run)
        session.flush()
    return run


def runs_for_incident(session: Session, incident_id: int) -> list[ActionRun]:
    """Every action run of one incident, oldest first."""
    query = (
        select(ActionRun)
        .where(ActionRun.incident_id == incident_id)
        .order_by(col(ActionRun.started_at), col(ActionRun.id))
    )
    return list(session.exec(query).all())
