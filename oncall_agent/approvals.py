"""Approvals: request, judge and consume a human's answer, with every guardrail (no Prefect here).

A request stores the exact parameters and their hash. An answer is accepted only if it says
"approve" explicitly, comes from an allowed approver (and, for four-eyes risk classes, not from the
requester), arrives before expiry, and the request is still pending; accepting it consumes the
request, so it cannot be replayed. The executor later checks the hash of what it runs.
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
from oncall_agent.store.tables import Approval, utcnow


class ApprovalAnswer(BaseModel):
    """What a person answered (from the Prefect UI form or the CLI)."""

    decision: str | None = None  # "approve" | "reject"; anything else is a rejection
    approver: str = ""
    comment: str = ""
    parameters: dict[str, Any] | None = None


class Verdict(BaseModel):
    """Whether the action may run, with which parameters, and why."""

    approved: bool
    approval_id: int
    approver: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    params_hash: str = ""
    reasons: list[str] = Field(default_factory=list)


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


def _refusals(
    row: Approval, answer: ApprovalAnswer, policy: PolicyConfig, now: datetime
) -> list[str]:
    """Every reason the answer cannot approve the request (empty: it can)."""
    risk = RiskClass(row.risk)
    reasons = []
    if answer.decision != "approve":
        said = answer.decision or "nothing"
        reasons.append(f"the answer was {said!r}, not an explicit 'approve'")
    if row.status != "pending":
        reasons.append(f"approval #{row.id} is {row.status}, not pending (no replays)")
    if now >= row.expires_at:
        reasons.append(f"approval #{row.id} expired at {row.expires_at:%Y-%m-%d %H:%M:%S}Z")
    allowed = policy.approvers.get(risk) or []
    if not answer.approver.strip():
        reasons.append("the answer does not say who approved it")
    elif allowed and answer.approver not in allowed:
        reasons.append(
            f"{answer.approver!r} may not approve {risk.value}-risk actions "
            f"(allowed: {', '.join(allowed)})"
        )
    unknown = sorted(set(answer.parameters or {}) - set(row.parameters or {}))
    if unknown:
        reasons.append(f"overrides may only change the proposed parameters, not add {unknown}")
    if risk in policy.four_eyes_risk_classes and answer.approver == row.requested_by:
        reasons.append(
            f"{risk.value}-risk actions need a second person: the requester "
            f"{row.requested_by!r} cannot approve their own request"
        )
    return reasons


def _approved_parameters(row: Approval, answer: ApprovalAnswer) -> dict[str, Any]:
    """The parameters to run: the requested ones, with the approver's overrides on top."""
    return {**(row.parameters or {}), **(answer.parameters or {})}


def judge_answer(
    engine: Engine,
    approval_id: int,
    answer: ApprovalAnswer,
    policy: PolicyConfig,
    now: datetime | None = None,
) -> Verdict:
    """Check the answer against every guardrail and consume the approval if it passes."""
    now = now or utcnow()
    with session_scope(engine) as session:
        row = _get(session, approval_id)
        reasons = _refusals(row, answer, policy, now)
        parameters = _approved_parameters(row, answer)
        digest = params_hash(parameters)
        status = "rejected" if reasons else "approved"
        if row.status == "pending" and now >= row.expires_at:
            status = "expired"
        if not _consume(session, approval_id, status, answer, digest, now):
            reasons = reasons or [f"approval #{approval_id} was answered already (no replays)"]
        audit(
            session,
            f"approval_{'granted' if not reasons else 'refused'}",
            actor=answer.approver or "unknown",
            incident_id=row.incident_id,
            approval_id=approval_id,
            decision=answer.decision,
            comment=answer.comment,
            params_hash=digest,
            reasons=reasons,
        )
        return Verdict(
            approved=not reasons,
            approval_id=approval_id,
            approver=answer.approver,
            parameters=parameters,
            params_hash=digest,
            reasons=reasons,
        )


def _consume(
    session: Session,
    approval_id: int,
    status: str,
    answer: ApprovalAnswer,
    digest: str,
    now: datetime,
) -> bool:
    """Move a pending approval to STATUS atomically; False if someone answered it first."""
    result = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval_id, col(Approval.status) == "pending")
        .values(
            status=status,
            decided_by=answer.approver or None,
            decided_at=now,
            decision_comment=answer.comment or None,
            approved_hash=digest,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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


def _get(session: Session, approval_id: int) -> Approval:
    """The approval with this id, or StoreError naming it."""
    row = session.get(Approval, approval_id)
    if row is None:
        raise StoreError(f"no approval with id {approval_id}: see `oncall approvals`")
    return row


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
