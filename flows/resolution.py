"""The resolution flow: one run per new or reopened incident."""

from __future__ import annotations

import asyncio

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic import ValidationError

from flows.approval import ask_for_approval
from flows.common import Context, flow_run_url, load_channels, load_context
from oncall_agent.approvals import Verdict
from oncall_agent.errors import OncallError
from oncall_agent.resolution.acting import ActionOutcome
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.resolution.lease import LeaseKeeper
from oncall_agent.resolution.recovery import process_owner
from oncall_agent.resolution.steps import resolve_unattended
from oncall_agent.store.engine import get_engine
from tasks.recovery import escalate_misconfigured
from tasks.resolution import act, conclude, deliver


async def _run(
    ctx: Context, analysis: Analysis, dry: bool, verdict: Verdict | None, owner: str
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
        lease_owner=owner,
    )


async def _approve_then_act(
    ctx: Context, analysis: Analysis, requested_by: str, dry_run: bool, owner: str
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
    return await _run(ctx, analysis, dry, verdict, owner), verdict.reasons


def _one_line(summary: dict[str, object]) -> str:
    """The outcome of a resolution in one log line."""
    return (
        f"{summary.get('decision')} -> {summary.get('outcome')} "
        f"(entry {summary.get('entry')}, confidence {summary.get('confidence')}, "
        f"action {summary.get('action')})"
    )


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
    try:
        ctx = await load_context(policy_block, targets_block, notifications_block)
    except (ValidationError, ValueError, OncallError) as exc:  # a block that does not validate
        where = f"blocks:{policy_block}/{targets_block}"
        return await _escalate_misconfigured(incident_id, where, str(exc), notifications_block)
    run_id = str(flow_run.get_id()) if flow_run.get_id() else None
    owner = process_owner(run_id)
    # The lease is renewed for as long as this run works on the incident (approval included);
    # if this process dies, it expires and the next detection run's sweep takes over.
    with LeaseKeeper(get_engine(), incident_id, owner):
        summary = await _resolve(ctx, incident_id, dry_run, requested_by, owner, run_id)
    if deliver_now:  # a detection run delivers once after its whole fan-out instead
        await deliver(ctx.channels.notifiers, ctx.channels.secrets)
    return summary


async def _escalate_misconfigured(
    incident_id: int, where: str, problem: str, notifications_block: str | None
) -> dict[str, object]:
    """Escalate at once, through the console if the channels cannot load either; the summary."""
    try:
        channels = await load_channels(notifications_block)
    except (ValidationError, ValueError, OncallError):
        channels = await load_channels(None)
    summary = await escalate_misconfigured(incident_id, where, problem, channels.outbox)
    await deliver(channels.notifiers, channels.secrets)
    return summary


async def _resolve(
    ctx: Context,
    incident_id: int,
    dry_run: bool,
    requested_by: str,
    owner: str,
    run_id: str | None,
) -> dict[str, object]:
    """Resolve unattended, or ask a person and then act as they answered; the run's summary."""
    # The unattended path is one direct call into the core, not a task: measured, a task per
    # incident adds ~40% on top of a bare subflow (bench/resolve.py); the run's log line below
    # and the store's audit trail record every step instead.
    progress = await asyncio.to_thread(
        resolve_unattended,
        get_engine(),
        incident_id,
        service_vars=ctx.targets.service_vars,
        policy=ctx.policy,
        allowed=ctx.allowed,
        executors=ctx.targets.executors,
        clients=ctx.clients,
        secrets=ctx.targets.secret_values(),
        dry_run=dry_run,
        notifier=ctx.channels.outbox,
        lease_owner=owner,
        flow_run_id=run_id,
        ui_url=flow_run_url(),
    )
    if progress.summary is not None:
        get_run_logger().info("incident %s: %s", incident_id, _one_line(progress.summary))
    summary = progress.summary
    if summary is None and progress.assessment is not None:  # the policy asked a person
        outcome, more = await _approve_then_act(
            ctx, progress.assessment.analysis, requested_by, dry_run, owner
        )
        summary = await conclude(
            progress.assessment, outcome, more, ctx.channels.outbox, flow_run_url()
        )
    assert summary is not None
    return summary
