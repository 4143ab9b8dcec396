"""The resolution flow: one run per new or reopened incident."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from flows.approval import ask_for_approval
from flows.common import Context, flow_run_url, load_context
from oncall_agent.approvals import Verdict
from oncall_agent.models import Decision
from oncall_agent.policy import PolicyDecision
from oncall_agent.resolution.acting import ActionOutcome
from oncall_agent.resolution.analysis import Analysis
from tasks.resolution import act, assess, conclude, deliver, summarize


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


async def _act_as_decided(
    ctx: Context, analysis: Analysis, decision: PolicyDecision, requested_by: str, dry_run: bool
) -> tuple[ActionOutcome | None, list[str]]:
    """Execute, ask and then execute, or dry-run (shadow); return the outcome and extra reasons."""
    dry = dry_run or ctx.policy.dry_run_only
    if decision.decision is Decision.EXECUTE:
        return await _run(ctx, analysis, dry, None), []
    if decision.decision is Decision.SHADOW and analysis.action is not None:
        return await _run(ctx, analysis, True, None), []  # records what would have run
    if decision.decision is Decision.ASK_APPROVAL:
        verdict = await ask_for_approval(
            analysis,
            ctx.policy,
            ctx.channels,
            requested_by=requested_by,
            flow_run_id=str(flow_run.get_id()),
            ui_url=flow_run_url(),
        )
        if verdict.approved:
            return await _run(ctx, analysis, dry, verdict), verdict.reasons
        return None, verdict.reasons
    return None, []


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
    """Assess one incident, act as decided (after approval if needed), then resolve or escalate."""
    ctx = await load_context(policy_block, targets_block, notifications_block)
    assessment = await assess(incident_id, ctx.targets.service_vars, ctx.policy, ctx.allowed)
    if assessment is None:
        return await summarize(incident_id)  # another run already owns this episode
    outcome, more = await _act_as_decided(
        ctx, assessment.analysis, assessment.decision, requested_by, dry_run
    )
    summary = await conclude(assessment, outcome, more, ctx.channels.outbox, flow_run_url())
    if deliver_now:  # a detection run delivers once after its whole fan-out instead
        await deliver(ctx.channels.notifiers, ctx.channels.secrets)
    return summary
