"""Approvals: request, judge and consume a human's answer, with every guardrail (no Prefect here).

A request stores the exact parameters and their hash. An answer is accepted only if it says
"approve" explicitly, proves who gives it (the one-time code sent to that approver's channel, see
`approval_codes`; or, in the off-by-default trust mode, a declared name), comes from an allowed
approver (and, for four-eyes risk classes, not from the requester), arrives before expiry, and the
request is still pending; accepting it consumes the request, so it cannot be replayed. Overrides
may only narrow the proposal (`approval_overrides`). The executor later checks what it runs
against the hash stored here (`approved_hash`, `approved_parameters`).
A wrong or missing code does not close the request at once (people mistype): the flow asks again,
up to MAX_CODE_FAILURES; every refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from oncall_agent.approval_codes import code_owner
from oncall_agent.approval_overrides import apply_overrides
from oncall_agent.errors import ActionRejected, StoreError
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


def _identity(
    row: Approval, answer: ApprovalAnswer, policy: PolicyConfig, key: bytes | None
) -> tuple[str, list[str]]:
    """Who proved to be answering, and why not (empty reasons: proven)."""
    assert row.id is not None
    if answer.code.strip():
        if key is None:
            return "", ["no approval key is loaded, so no code can be checked"]
        risk = RiskClass(row.risk)
        candidates = [answer.approver] if answer.approver else policy.allowed_approvers(risk)
        owner = code_owner(key, answer.code, row.id, candidates, row.params_hash, row.expires_at)
        if owner is None:
            who = repr(answer.approver) if answer.approver else "any allowed approver"
            return "", [f"the one-time code is not the one sent to {who} for approval #{row.id}"]
        return owner, []
    if policy.trust_local_approver:
        if not answer.approver.strip():
            return "", ["the answer does not say who approved it"]
        return answer.approver, []
    return "", [
        f"approving needs the one-time code sent to your channel for approval #{row.id} "
        "(`oncall approve ID --code CODE`, or the form's code field)"
    ]


def _refusals(
    row: Approval, answer: ApprovalAnswer, who: str, policy: PolicyConfig, now: datetime
) -> list[str]:
    """Every reason besides identity that the answer cannot approve the request."""
    risk = RiskClass(row.risk)
    reasons = []
    if answer.decision != "approve":
        said = answer.decision or "nothing"
        reasons.append(f"the answer was {said!r}, not an explicit 'approve'")
    if row.status != "pending":
        reasons.append(f"approval #{row.id} is {row.status}, not pending (no replays)")
    if now >= row.expires_at:
        reasons.append(f"approval #{row.id} expired at {row.expires_at:%Y-%m-%d %H:%M:%S}Z")
    if params_hash(row.parameters or {}) != row.params_hash:
        reasons.append(f"approval #{row.id}'s stored parameters changed since it was requested")
    allowed = policy.allowed_approvers(risk)
    if not allowed and not policy.trust_local_approver:
        reasons.append(
            f"nobody may approve {risk.value}-risk actions: give the policy approver_channels "
            "(and approvers per risk class)"
        )
    elif who and allowed and who not in allowed:
        reasons.append(
            f"{who!r} may not approve {risk.value}-risk actions (allowed: {', '.join(allowed)})"
        )
    if who and risk in policy.four_eyes_risk_classes and who == row.requested_by:
        reasons.append(
            f"{risk.value}-risk actions need a second person: the requester "
            f"{row.requested_by!r} cannot approve their own request"
        )
    return reasons


def _parameters(
    row: Approval, answer: ApprovalAnswer, validate: Callable[[dict[str, Any]], object] | None
) -> tuple[dict[str, Any], list[str]]:
    """The parameters to run (overrides applied, allow-lists checked) and why they are refused."""
    parameters, reasons = apply_overrides(row.action, row.parameters or {}, answer.parameters)
    if not reasons and validate is not None:
        try:
            validate(parameters)
        except ActionRejected as exc:
            reasons.append(f"the allow-lists refuse the approved parameters: {exc}")
    return parameters, reasons


def judge_answer(
    engine: Engine,
    approval_id: int,
    answer: ApprovalAnswer,
    policy: PolicyConfig,
    now: datetime | None = None,
    *,
    key: bytes | None = None,
    validate: Callable[[dict[str, Any]], object] | None = None,
) -> Verdict:
    """Check the answer against every guardrail and consume the approval if it passes.

    KEY checks one-time codes; VALIDATE (the executor's plan) checks the approved parameters.
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        row = _get(session, approval_id)
        who, unproven = _identity(row, answer, policy, key)
        others = _refusals(row, answer, who, policy, now)
        parameters, refused = _parameters(row, answer, validate)
        reasons = unproven + others + refused
        digest = params_hash(parameters)
        if unproven and not others and _may_retry(session, row):
            _audit_answer(session, row, answer, who, digest, reasons, retry=True)
            return Verdict(
                approved=False, approval_id=approval_id, approver=who, reasons=reasons, final=False
            )
        status = "rejected" if reasons else "approved"
        if row.status == "pending" and now >= row.expires_at:
            status = "expired"
        kept = parameters if not reasons else None
        if not _consume(session, approval_id, status, answer, who, digest, kept, now):
            reasons = reasons or [f"approval #{approval_id} was answered already (no replays)"]
        _audit_answer(session, row, answer, who, digest, reasons, retry=False)
        return Verdict(
            approved=not reasons,
            approval_id=approval_id,
            approver=who or answer.approver,
            parameters=parameters,
            params_hash=digest,
            reasons=reasons,
        )


def _may_retry(session: Session, row: Approval) -> bool:
    """Count one more code failure; whether the request may still be answered."""
    failures = row.code_failures + 1  # read first: the update below refreshes ROW
    session.execute(
        update(Approval)
        .where(col(Approval.id) == row.id)
        .values(code_failures=col(Approval.code_failures) + 1)
    )
    return failures < MAX_CODE_FAILURES


def _audit_answer(
    session: Session,
    row: Approval,
    answer: ApprovalAnswer,
    who: str,
    digest: str,
    reasons: list[str],
    *,
    retry: bool,
) -> None:
    """One audit row per answer: who (proven, else as declared), the hash, and every reason."""
    audit(
        session,
        f"approval_{'granted' if not reasons else 'refused'}",
        actor=who or answer.approver or "unknown",
        incident_id=row.incident_id,
        approval_id=row.id,
        decision=answer.decision,
        proven=bool(who) and bool(answer.code.strip()),
        declared=answer.approver,
        comment=answer.comment,
        params_hash=digest,
        reasons=reasons,
        asks_again=retry,
    )


def _consume(
    session: Session,
    approval_id: int,
    status: str,
    answer: ApprovalAnswer,
    who: str,
    digest: str,
    parameters: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Move a pending approval to STATUS atomically; False if someone answered it first."""
    result = session.execute(
        update(Approval)
        .where(col(Approval.id) == approval_id, col(Approval.status) == "pending")
        .values(
            status=status,
            decided_by=who or answer.approver or None,
            decided_at=now,
            decision_comment=answer.comment or None,
            approved_hash=digest if parameters is not None else None,
            approved_parameters=parameters,
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
