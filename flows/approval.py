"""Waiting for a person: pause the resolution run with a typed form, then judge the answer."""

from __future__ import annotations

from typing import Any, Literal

from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import apause_flow_run
from prefect.input import RunInput

from flows.common import Channels, running_again_after_pause_timeout
from oncall_agent.approvals import ApprovalAnswer, Verdict
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.store.tables import Approval
from tasks.approvals import expire, judge, notify_requested, request
from tasks.resolution import deliver


class ApprovalInput(RunInput):
    """The form the Prefect UI shows. No default decision: an empty answer is a rejection."""

    decision: Literal["approve", "reject"] | None = None
    approver: str = ""
    comment: str = ""
    parameters: dict[str, Any] | None = None


def form_description(approval: Approval, analysis: Analysis) -> str:
    """Markdown above the form: the incident, the analysis, the exact action, risk, confidence."""
    params = "\n".join(f"| `{k}` | `{v}` |" for k, v in (approval.parameters or {}).items())
    return (
        f"## Approve `{approval.action}` for incident #{approval.incident_id}?\n\n"
        f"**Knowledge entry:** {analysis.entry_title} (`{analysis.entry_key}`)  \n"
        f"**Confidence:** {analysis.confidence}  **Risk:** {approval.risk}  \n"
        f"**Expires:** {approval.expires_at:%Y-%m-%d %H:%M:%S}Z  \n"
        f"**Solution:** {analysis.solution}\n\n"
        f"| parameter | value |\n|---|---|\n{params}\n\n"
        f"Set *decision* to `approve` or `reject` and put your name in *approver*. "
        f"From a shell: `oncall approve {approval.id}` or "
        f"`oncall reject {approval.id} --reason ...`"
    )


async def ask_for_approval(
    analysis: Analysis,
    policy: PolicyConfig,
    channels: Channels,
    *,
    requested_by: str,
    flow_run_id: str | None,
    ui_url: str | None,
) -> Verdict:
    """Request approval, pause until answered or expired, and return the judged verdict."""
    approval = await request(analysis, policy, requested_by, flow_run_id)
    assert approval.id is not None
    await notify_requested(approval, analysis, channels.outbox, ui_url)
    await deliver(channels.notifiers, channels.secrets)  # a person must hear of it before we wait
    form = ApprovalInput.with_initial_data(description=form_description(approval, analysis))
    timeout = policy.approval_timeout_for(analysis.risk) if analysis.risk else 3600
    try:
        answer = await apause_flow_run(
            wait_for_input=form,
            timeout=timeout,
            poll_interval=policy.approval_poll_interval_s,
            key=f"approval-{approval.id}",
        )
    except FlowPauseTimeout:
        await expire(approval.id)
        await running_again_after_pause_timeout(f"approval #{approval.id} expired: escalating")
        return Verdict(
            approved=False,
            approval_id=approval.id,
            approver="",
            reasons=[f"approval #{approval.id} expired after {timeout}s with no answer"],
        )
    given = ApprovalAnswer.model_validate(
        answer.model_dump(include=set(ApprovalAnswer.model_fields))
    )
    return await judge(approval.id, given, policy)
