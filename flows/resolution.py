"""The resolution flow: one run per new or reopened incident."""

from __future__ import annotations

import asyncio
import time

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.runtime import flow_run
from pydantic import ValidationError

from flows.approval import Validate, ask_for_approval
from flows.common import Context, flow_run_url, load_channels, load_context
from oncall_agent.approvals import Verdict
from oncall_agent.errors import OncallError
from oncall_agent.executors.registry import build_executor
from oncall_agent.resolution.acting import ActionOutcome
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.resolution.lease import LeaseKeeper, process_owner
from oncall_agent.resolution.report import resolution_markdown
from oncall_agent.resolution.steps import Assessment, conclude_incident, resolve_unattended
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
        approval_id=verdict.approval_id if verdict else None,
        lease_owner=owner,
    )


def _validator(ctx: Context, analysis: Analysis) -> Validate:
    """The executor's own validation (its plan), to check parameters an approver changed."""
    assert analysis.action is not None
    executor = build_executor(
        analysis.action.name,
        ctx.targets.executors,
        secrets=ctx.targets.secret_values(),
        clients=ctx.clients,
    )
    return executor.plan


async def _approve_then_run(
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
        validate=_validator(ctx, analysis),
    )
    if not verdict.approved:
        return None, verdict.reasons
    dry = dry_run or ctx.policy.dry_run_only
    return await _run(ctx, analysis, dry, verdict, owner), verdict.reasons


async def _approve_then_act(
    ctx: Context, assessment: Assessment, requested_by: str, dry_run: bool, owner: str
) -> dict[str, object]:
    """The approval path, which always ends resolved or escalated, whatever fails on the way."""
    try:
        outcome, reasons = await _approve_then_run(
            ctx, assessment.analysis, requested_by, dry_run, owner
        )
    except Exception as exc:  # a refusal or crash after the request: escalate, never strand
        outcome, reasons = None, [_failed(exc)]
    except BaseException as exc:  # cancelled or stopped: escalate now (directly), then stop
        conclude_incident(
            get_engine(), assessment, None, [_failed(exc)], ctx.channels.outbox, flow_run_url()
        )
        raise
    return await conclude(assessment, outcome, reasons, ctx.channels.outbox, flow_run_url())


def _failed(exc: BaseException) -> str:
    """Why the approval path ended early, for the escalation."""
    return (
        f"the approval path failed ({type(exc).__name__}: {exc}); nothing more runs for this "
        "request and a person must take over"
    )


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
    llm_block: str | None = None,
) -> dict[str, object]:
    """Assess one incident and act or escalate; when the policy asks, wait for a person first.

    LLM_BLOCK names an LLMConfig block: a model then adds a summary and may pick among the
    knowledge base's actions (a pick that is not the agent's own always asks a person).
    """
    try:
        ctx = await load_context(policy_block, targets_block, notifications_block, llm_block)
    except (ValidationError, ValueError, OncallError) as exc:  # a block that does not validate
        where = f"blocks:{policy_block}/{targets_block}"
        return await _escalate_misconfigured(incident_id, where, str(exc), notifications_block)
    run_id = str(flow_run.get_id()) if flow_run.get_id() else None
    owner = process_owner(run_id)
    # The lease is renewed for as long as this run works on the incident (approval included);
    # if this process dies, it expires and the next detection run's sweep takes over.
    with LeaseKeeper(get_engine(), incident_id, owner):
        summary, seconds = await _resolve(ctx, incident_id, dry_run, requested_by, owner, run_id)
    if deliver_now:  # a detection run delivers once after its whole fan-out instead
        await deliver(ctx.channels.notifiers, ctx.channels.secrets)
    await _report(incident_id, summary, seconds)
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
) -> tuple[dict[str, object], dict[str, float]]:
    """Resolve unattended, or ask a person and then act as they answered; the run's summary
    and the seconds each step took."""
    # The unattended path is one direct call into the core, not a task: measured, a task per
    # incident adds ~40% on top of a bare subflow (bench/resolve.py); the run's log line and
    # its step report (one artifact) show every step instead.
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
        advisor=ctx.advisor,
    )
    summary, seconds = progress.summary, dict(progress.seconds)
    if summary is None and progress.assessment is not None:  # the policy asked a person
        started = time.perf_counter()
        summary = await _approve_then_act(ctx, progress.assessment, requested_by, dry_run, owner)
        seconds["act"] = time.perf_counter() - started  # includes the wait for the person
    assert summary is not None
    return summary, seconds


async def _report(incident_id: int, summary: dict[str, object], seconds: dict[str, float]) -> None:
    """The outcome in one log line and one short markdown artifact (cheaper than a task per
    step: one API call per resolution)."""
    get_run_logger().info("incident %s: %s", incident_id, _one_line(summary))
    markdown = await asyncio.to_thread(
        resolution_markdown, get_engine(), incident_id, seconds, str(summary.get("title", ""))
    )
    await acreate_markdown_artifact(
        markdown=markdown,
        key=f"resolution-{incident_id}",
        description=f"How incident #{incident_id} was resolved, step by step",
    )
