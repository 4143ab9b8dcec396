"""Judging an answer to an approval request: proven identity, every guardrail, consumed once.

Identity comes from the one-time code sent to the approver's own channel (`approval_codes`), or,
in the off-by-default trust mode, from a declared name. A wrong or missing code does not close the
request at once (people mistype): the flow asks again, up to MAX_CODE_FAILURES, and each refusal
is audited. Overrides may only narrow the proposal (`approval_overrides`) and must pass the
executor's own validation. An accepted answer stores what will run (`approved_parameters`,
`approved_hash`), which the executor checks before acting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from oncall_agent.approval_codes import code_owner
from oncall_agent.approval_overrides import apply_overrides
from oncall_agent.approvals import MAX_CODE_FAILURES, ApprovalAnswer, Verdict, get_approval
from oncall_agent.errors import ActionRejected
from oncall_agent.executors.base import params_hash
from oncall_agent.models import RiskClass
from oncall_agent.policy import PolicyConfig
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Approval, utcnow


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
        row = get_approval(session, approval_id)
        who, unproven = _identity(row, answer, policy, key)
        if answer.decision != "approve":  # saying no needs no proof: it only stops things
            unproven = []
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
