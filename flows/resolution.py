"""The resolution flow: one run per new or reopened incident."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from flows.approval import ask_for_approval
from flows.common import Context, flow_run_url, load_context
from oncall_agent.approvals import Verdict
from oncall_agent.resolution.acting import ActionOutcome
from oncall_agent.resolution.analysis import Analysis
from tasks.resolution import act, conclude, deliver, resolve_unattended_task


async def _run(
    ctx: Context, analysis: Analysis, dry: bool, verdict: Verdict | None
) -> ActionOutcome:
    """Run the action (as the approver, with the approved parameters, when there was one)."""
    if verdict is not None:
        analysis = analysis.with_parameters(verdict.parameters)
    return await act(
        analysis,
        ctx.targets.executors,
        dry,
        ctx.targets.secret_values(),
        ctx.clients,
        triggered_by=verdict.approver if verdict else "agent",
        approved_hash=verdict.params_hash if verdict else None,
    )


async def _approve_then_act(
    ctx: Context, analysis: Analysis, requested_by: str, dry_run: bool
) -> tuple[ActionOutcome | None, list[str]]:
    """Ask a person (pause); run the action as approved, or not at all; say why."""
    verdict = await ask_for_approval(
        analysis,
        ctx.policy,
        ctx.channels,
        requested_by=requested_by,
        flow_run_id=str(flow_run.get_id()),
        ui_url=flow_run_url(),
    )
    if not verdict.approved:
        return None, verdict.reasons
    dry = dry_run or ctx.policy.dry_run_only
    return await _run(ctx, analysis, dry, verdict), verdict.reasons


@flow(name="resolve-incident", flow_run_name="resolve-incident-{incident_id}")
async def resolve_incident(
    incident_id: int,
    policy_block: str = "default",
    targets_block: str = "default",
    dry_run: bool = False,
    requested_by: str = "agent",
    notifications_block: str | None = None,
    deliver_now: bool = True,
) -> dict[str, object]:
    """Assess one incident and act or escalate; when the policy asks, wait for a person first."""
    ctx = await load_context(policy_block, targets_block, notifications_block)
    progress = await resolve_unattended_task(
        incident_id,
        ctx.targets.service_vars,
        ctx.policy,
        ctx.allowed,
        ctx.targets.executors,
        ctx.clients,
        ctx.targets.secret_values(),
        dry_run,
        ctx.channels.outbox,
        flow_run_url(),
    )
    summary = progress.summary
    if summary is None and progress.assessment is not None:  # the policy asked a person
        outcome, more = await _approve_then_act(
            ctx, progress.assessment.analysis, requested_by, dry_run
        )
        summary = await conclude(
            progress.assessment, outcome, more, ctx.channels.outbox, flow_run_url()
        )
    if deliver_now:  # a detection run delivers once after its whole fan-out instead
        await deliver(ctx.channels.notifiers, ctx.channels.secrets)
    assert summary is not None
    return summary
