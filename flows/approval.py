"""Waiting for a person: send each approver a code, pause with a typed form, judge the answer.

Sending codes and judging answers call the core directly (not as tasks) so the signing key is
never a task parameter. A wrong or missing code asks again (a new pause) until the request's
expiry or the code-failure limit; anything else that is not an approval ends the wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run
from prefect.input import RunInput
from pydantic import Field, ValidationError

from blocks.notifications import aload_notifiers
from flows.approval_key import load_approval_key
from flows.common import Channels, default_notifier, running_again_after_pause_timeout
from oncall_agent.approval_delivery import send_codes
from oncall_agent.approval_judge import judge_answer
from oncall_agent.approvals import ApprovalAnswer, Verdict, close_approval
from oncall_agent.markdown import escape_markdown
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.store.engine import get_engine
from oncall_agent.store.tables import Approval, utcnow
from tasks.approvals import close, describe, expire, notify_requested, request
from tasks.resolution import deliver

Validate = Callable[[dict[str, Any]], object]


class ApprovalInput(RunInput):
    """The form the Prefect UI shows. Decision is required, with no default."""

    decision: Literal["approve", "reject"] = Field(
        description="approve runs the action shown above; reject escalates and runs nothing."
    )
    code: str = Field(
        default="", description="The one-time code sent to your own channel (needed to approve)."
    )
    approver: str = Field(
        default="", description="Your approver name (optional with a code: the code names you)."
    )
    comment: str = Field(default="", description="Why; kept in the audit trail.")
    parameters: dict[str, Any] | None = Field(
        default=None,
        description='Optional overrides that only narrow the proposal, e.g. {"pattern": "a*.log"}.',
    )


async def _send_codes(approval: Approval, key: bytes, policy: PolicyConfig) -> list[str]:
    """Each allowed approver's code through their own channel; the approvers reached."""
    channels = list(policy.approver_channels.values())
    if not channels:
        return []
    notifiers, _ = await aload_notifiers(channels, default_notifier())
    return await asyncio.to_thread(send_codes, get_engine(), approval, key, policy, notifiers)


async def _wait_for_answer(
    approval: Approval, description: str, policy: PolicyConfig, attempt: int
) -> ApprovalAnswer | None:
    """Pause until someone answers (None: the request expired first)."""
    remaining = int((approval.expires_at - utcnow()).total_seconds())
    if remaining <= 0:
        return None
    form = ApprovalInput.with_initial_data(description=description)
    try:
        answer = await apause_flow_run(
            wait_for_input=form,
            timeout=remaining,
            poll_interval=min(policy.approval_poll_interval_s, remaining),
            key=f"approval-{approval.id}-{attempt}",
        )
    except FlowPauseTimeout:
        # Expiry is a designed outcome (the incident escalates): the run must not end Failed.
        await running_again_after_pause_timeout(f"approval #{approval.id} expired: escalating")
        return None
    except ValidationError:  # resumed without an answer: never read as an approval
        return ApprovalAnswer()
    return ApprovalAnswer.model_validate(
        answer.model_dump(include=set(ApprovalAnswer.model_fields))
    )


def _expired(approval: Approval, started: datetime) -> Verdict:
    """The verdict for a request nobody answered in time."""
    assert approval.id is not None
    waited = int((utcnow() - started).total_seconds())
    return Verdict(
        approved=False,
        approval_id=approval.id,
        approver="",
        reasons=[f"approval #{approval.id} expired after {waited}s with no accepted answer"],
    )


async def ask_for_approval(
    analysis: Analysis,
    policy: PolicyConfig,
    channels: Channels,
    *,
    requested_by: str,
    flow_run_id: str | None,
    ui_url: str | None,
    validate: Validate | None = None,
) -> Verdict:
    """Request approval, send codes, pause until answered or expired; return the verdict."""
    approval = await request(analysis, policy, requested_by, flow_run_id)
    assert approval.id is not None
    try:
        return await _ask(approval, analysis, policy, channels, ui_url, validate)
    except BaseException as exc:  # nothing may leave a pending approval behind (crash, cancel)
        # A direct, blocking call: under cancellation an awaited task might never run.
        close_approval(get_engine(), approval.id, "failed", f"{type(exc).__name__}: {exc}")
        raise


async def _ask(
    approval: Approval,
    analysis: Analysis,
    policy: PolicyConfig,
    channels: Channels,
    ui_url: str | None,
    validate: Validate | None,
) -> Verdict:
    """Everything after the request is stored (see ask_for_approval)."""
    assert approval.id is not None
    key = await load_approval_key()
    reached = await _send_codes(approval, key, policy)
    if not reached and not policy.trust_local_approver:
        why = (
            f"no approver could be sent a one-time code for approval #{approval.id} (see the "
            "audit trail; give the policy approver_channels): nobody can approve, so nothing runs"
        )
        await close(approval.id, "failed", why)
        return Verdict(approved=False, approval_id=approval.id, approver="", reasons=[why])
    await notify_requested(approval, analysis, channels.outbox, ui_url)
    await deliver(channels.notifiers, channels.secrets)  # a person must hear of it before we wait
    base, started = await describe(approval, analysis), utcnow()
    description = base
    attempt = 0
    while True:  # ends at expiry, or when an answer is final (after MAX_CODE_FAILURES at most)
        answer = await _wait_for_answer(approval, description, policy, attempt)
        if answer is None:
            await expire(approval.id)
            return _expired(approval, started)
        verdict = await asyncio.to_thread(
            judge_answer, get_engine(), approval.id, answer, policy, key=key, validate=validate
        )
        if verdict.final:
            return verdict
        refused = escape_markdown("; ".join(verdict.reasons))
        description = f"**Your last answer was refused:** {refused}\n\n{base}"
        attempt += 1
