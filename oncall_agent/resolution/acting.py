"""Act: run the proposed action once (idempotency key stored first), then verify it."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from oncall_agent.errors import ActionError, ActionRejected, DuplicateAction, VerificationError
from oncall_agent.executors.base import Executor, params_hash, truncate
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.resolution.decision import action_target
from oncall_agent.resolution.lease import move_held_lease
from oncall_agent.secrets import mask_secrets
from oncall_agent.settings import get_settings
from oncall_agent.store.actions import (
    finish_action,
    get_by_key,
    mark_abandoned,
    mark_running,
    reserve_action,
)
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.leases import LeasePhase
from oncall_agent.store.locks import target_lock
from oncall_agent.store.tables import Approval


class ActionOutcome(BaseModel):
    """How an attempt to act ended, for the record step and the summary table."""

    action: str
    target: str
    status: ActionStatus
    verified: bool | None = None
    verification: str = ""
    output: str = ""
    action_run_id: int | None = None
    reused: bool = False
    details: dict[str, object] = Field(default_factory=dict)


def idempotency_key(analysis: Analysis, recurrences: int, digest: str) -> str:
    """One key per incident episode, action and exact parameters."""
    assert analysis.action is not None
    return f"incident:{analysis.incident_id}:ep{recurrences}:{analysis.action.name}:{digest[:16]}"


def _previous_outcome(engine: Engine, key: str) -> ActionOutcome | None:
    """The outcome already stored under KEY; an in-flight one becomes UNKNOWN, never re-run."""
    with session_scope(engine) as session:
        run = get_by_key(session, key)
        if run is None:
            return None
        run = mark_abandoned(session, run)
        return ActionOutcome(
            action=run.action,
            target=run.target,
            status=ActionStatus(run.status),
            verified=run.verified,
            verification=str((run.verification or {}).get("detail", "")),
            output=run.output,
            action_run_id=run.id,
            reused=True,
        )


def _reserve(engine: Engine, analysis: Analysis, key: str, digest: str, who: str, dry: bool) -> int:
    """Write the action run (status pending) and mark it running, each committed."""
    assert analysis.action is not None
    with session_scope(engine) as session:
        run = reserve_action(
            session,
            idempotency_key=key,
            incident_id=analysis.incident_id,
            knowledge_entry_id=analysis.entry_id,
            action=analysis.action.name,
            target=action_target(analysis),
            parameters=analysis.action.params,
            params_hash=digest,
            triggered_by=who,
            dry_run=dry,
            confidence=analysis.confidence,
        )
        assert run.id is not None
        audit(
            session,
            "action_reserved",
            actor=who,
            incident_id=analysis.incident_id,
            action_run_id=run.id,
            key=key,
            params_hash=digest,
        )
        run_id = run.id
    with session_scope(engine) as session:
        mark_running(session, run_id)
    return run_id


def check_approved(engine: Engine, approval_id: int, incident_id: int, digest: str) -> None:
    """ActionRejected unless approval APPROVAL_ID was granted for exactly these parameters."""
    with session_scope(engine) as session:
        row = session.get(Approval, approval_id)
        if row is None or row.incident_id != incident_id or row.status != "approved":
            state = "missing" if row is None else f"{row.status}, for incident #{row.incident_id}"
            raise ActionRejected(f"approval #{approval_id} is {state}: nothing ran")
        if row.approved_hash != digest:
            raise ActionRejected(
                f"the parameters to run (hash {digest[:12]}) differ from those approved in "
                f"#{approval_id} (hash {str(row.approved_hash)[:12]}): nothing ran"
            )


def _run_and_verify(
    executor: Executor, analysis: Analysis, dry_run: bool
) -> tuple[ActionResult, VerificationResult | None]:
    """Plan, run, and (for a real run that succeeded) verify."""
    assert analysis.action is not None
    plan = executor.plan(analysis.action.params)
    result = executor.run(plan, dry_run=dry_run, timeout_s=analysis.action.timeout_s)
    if dry_run or result.status is not ActionStatus.SUCCEEDED:
        return result, None
    try:
        return result, executor.verify(plan, result, analysis.action.verify)
    except VerificationError as exc:
        return result, VerificationResult(ok=False, detail=f"verification could not run: {exc}")


def execute_action(
    engine: Engine,
    analysis: Analysis,
    executor: Executor,
    *,
    dry_run: bool = False,
    triggered_by: str = "agent",
    secrets: tuple[str, ...] = (),
    approval_id: int | None = None,
    lease_owner: str | None = None,
) -> ActionOutcome:
    """Run the analysis's action at most once per incident episode, and verify its effect.

    With APPROVAL_ID, the parameters must be exactly those the store says were approved. With
    LEASE_OWNER, the run's resolution lease must still be held (LeaseLost otherwise): a run a
    sweep already declared dead never starts a side effect.
    """
    if analysis.action is None:
        raise ActionRejected("there is no action to run for this incident")
    executor.plan(analysis.action.params)  # validation first: a rejected action stores nothing
    digest = params_hash(analysis.action.params)
    if approval_id is not None:
        check_approved(engine, approval_id, analysis.incident_id, digest)
    with session_scope(engine) as session:
        recurrences = get_incident(session, analysis.incident_id).recurrences
    key = idempotency_key(analysis, recurrences, digest) + (":dry" if dry_run else "")
    previous = _previous_outcome(engine, key)
    if previous is not None:
        return previous
    if lease_owner is not None:
        move_held_lease(engine, analysis.incident_id, lease_owner, LeasePhase.ACTING)
    try:
        run_id = _reserve(engine, analysis, key, digest, triggered_by, dry_run)
    except DuplicateAction:
        previous = _previous_outcome(engine, key)  # a concurrent run reserved it first
        assert previous is not None
        return previous
    limit = get_settings().action_output_limit
    # The lock outlives the action's timeout plus verification, so a crashed holder frees it.
    ttl = analysis.action.timeout_s + 120
    try:
        with target_lock(engine, action_target(analysis), key, ttl_s=ttl):
            result, verification = _run_and_verify(executor, analysis, dry_run)
    except ActionError as exc:
        result = ActionResult(status=ActionStatus.FAILED, output=str(exc))
        verification = None
    output = truncate(mask_secrets(result.output, secrets), limit)
    if dry_run:
        status = ActionStatus.DRY_RUN
    elif (
        result.status is ActionStatus.SUCCEEDED and verification is not None and not verification.ok
    ):
        status = ActionStatus.FAILED  # it ran, but the problem is still there
    else:
        status = result.status
    with session_scope(engine) as session:
        run = finish_action(
            session,
            run_id,
            status=status,
            output=output,
            verification=verification.model_dump() if verification else None,
            verified=verification.ok if verification else None,
        )
        audit(
            session,
            "action_finished",
            actor=triggered_by,
            incident_id=analysis.incident_id,
            action_run_id=run_id,
            status=status.value,
            verified=verification.ok if verification else None,
        )
    return ActionOutcome(
        action=run.action,
        target=run.target,
        status=status,
        verified=run.verified,
        verification=verification.detail if verification else "",
        output=output,
        action_run_id=run_id,
        details=result.details,
    )
