"""Approvals: the request, its answer's shape, expiry, closing, and queries (no Prefect here).

A request stores the exact parameters and their hash. An answer is accepted only if it says
"approve" explicitly, proves who gives it, comes from an allowed approver (and, for four-eyes risk
classes, not from the requester), arrives before expiry, and the request is still pending;
accepting it consumes the request, so it cannot be replayed (`approval_judge`). The executor later
checks what it runs against the hash stored here (`approved_hash`, `approved_parameters`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from oncall_agent.errors import StoreError
from oncall_agent.executors.base import params_hash
from oncall_agent.models import RiskClass
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Approval, AuditEvent, utcnow


class ApprovalAnswer(BaseModel):
    """What a person answered (from the Prefect UI form or the CLI)."""

    decision: str | None = None  # "approve" | "reject"; anything else is a rejection
    approver: str = ""
    code: str = ""  # the one-time code the approver received on their channel
    comment: str = ""
    parameters: dict[str, Any] | None = None


MAX_CODE_FAILURES = 3


class Verdict(BaseModel):
    """Whether the action may run, with which parameters, and why."""

    approved: bool
    approval_id: int
    approver: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    params_hash: str = ""
    reasons: list[str] = Field(default_factory=list)
    # False when the answer was refused only for its code and the request still waits.
    final: bool = True


def request_approval(
    engine: Engine,
    analysis: Analysis,
    policy: PolicyConfig,
    *,
    requested_by: str = "agent",
    flow_run_id: str | None = None,
    now: datetime | None = None,
) -> Approval:
    """Store a pending approval for the analysis's action with its exact parameters."""
    assert analysis.action is not None
    now = now or utcnow()
    risk = analysis.risk or RiskClass.HIGH
    with session_scope(engine) as session:
        row = Approval(
            incident_id=analysis.incident_id,
            action=analysis.action.name,
            parameters=analysis.action.params,
            params_hash=params_hash(analysis.action.params),
            risk=risk.value,
            confidence=analysis.confidence,
            requested_by=requested_by,
            requested_at=now,
            expires_at=now + timedelta(seconds=policy.approval_timeout_for(risk)),
            flow_run_id=flow_run_id,
        )
        session.add(row)
        session.flush()
        audit(
            session,
            "approval_requested",
            actor=requested_by,
            incident_id=analysis.incident_id,
            approval_id=row.id,
            action=row.action,
            params_hash=row.params_hash,
            expires_at=row.expires_at.isoformat(),
        )
        return row


def expire_approval(engine: Engine, approval_id: int, now: datetime | None = None) -> None:
    """Record that nobody answered in time (the flow escalates next)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        row = _get(session, approval_id)
        session.execute(
            update(Approval)
            .where(col(Approval.id) == approval_id, col(Approval.status) == "pending")
            .values(status="expired", decided_at=now)
        )
        audit(session, "approval_expired", incident_id=row.incident_id, approval_id=approval_id)


def close_approval(engine: Engine, approval_id: int, status: str, reason: str) -> bool:
    """Close a still-pending approval as STATUS (e.g. failed) with REASON; False if not pending."""
    with session_scope(engine) as session:
        row = _get(session, approval_id)
        result = session.execute(
            update(Approval)
            .where(col(Approval.id) == approval_id, col(Approval.status) == "pending")
            .values(status=status, decided_at=utcnow(), decision_comment=reason)
        )
        closed = bool(result.rowcount)  # type: ignore[attr-defined]
        if closed:
            audit(
                session,
                f"approval_{status}",
                incident_id=row.incident_id,
                approval_id=approval_id,
                reason=reason,
            )
        return closed


def _get(session: Session, approval_id: int) -> Approval:
    """The approval with this id, or StoreError naming it."""
    row = session.get(Approval, approval_id)
    if row is None:
        raise StoreError(f"no approval with id {approval_id}: see `oncall approvals`")
    return row


def answers_to(session: Session, approval_id: int, after_event: int = 0) -> list[AuditEvent]:
    """The judged answers to APPROVAL_ID (granted or refused) after audit event AFTER_EVENT."""
    row = _get(session, approval_id)
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.incident_id == row.incident_id,
            col(AuditEvent.id) > after_event,
            col(AuditEvent.kind).in_(["approval_granted", "approval_refused"]),
        )
        .order_by(col(AuditEvent.id))
    )
    events = session.exec(query).all()
    return [e for e in events if (e.details or {}).get("approval_id") == approval_id]


def last_event_id(session: Session) -> int:
    """The id of the newest audit event (0 when there is none)."""
    query = select(AuditEvent.id).order_by(col(AuditEvent.id).desc()).limit(1)
    return session.exec(query).first() or 0


def pending_approvals(session: Session) -> list[Approval]:
    """Approvals waiting for an answer, oldest first."""
    query = select(Approval).where(Approval.status == "pending").order_by(col(Approval.id))
    return list(session.exec(query).all())


def get_approval(session: Session, approval_id: int) -> Approval:
    """One approval by id."""
    return _get(session, approval_id)


def attach_flow_run(engine: Engine, approval_id: int, flow_run_id: str) -> None:
    """Remember which paused flow run waits for this approval."""
    with session_scope(engine) as session:
        row = _get(session, approval_id)
        row.flow_run_id = flow_run_id
        session.add(row)
