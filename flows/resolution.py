"""The resolution flow: one run per new or reopened incident."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from blocks.actions import ActionTargets
from flows.approval import ask_for_approval
from flows.common import (
    Channels,
    flow_run_url,
    load_channels,
    load_clients,
    load_policy,
    load_targets,
)
from oncall_agent.approvals import Verdict
from oncall_agent.executors.registry import configured_actions
from oncall_agent.models import Decision
from oncall_agent.policy import PolicyConfig, PolicyDecision
from oncall_agent.resolution.acting import ActionOutcome
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.resolution.recording import escalation_reasons
from tasks.resolution import (
    act,
    analyze,
    claim_incident,
    decide,
    deliver,
    escalate,
    record,
    summarize,
)


@dataclass
class Context:
    """What one resolution run works with, loaded from blocks once."""

    policy: PolicyConfig
    targets: ActionTargets
    clients: dict[str, Any]
    channels: Channels

    @property
    def allowed(self) -> set[str]:
        """Actions this deployment may run at all."""
        return configured_actions(self.targets.executors, self.clients)


async def _load_context(policy: str, targets: str, notifications: str | None) -> Context:
    """Load the policy, the action targets, their clients, and the notification channels."""
    loaded_targets = await load_targets(targets)
    return Context(
        policy=(await load_policy(policy)).policy,
        targets=loaded_targets,
        clients=await load_clients(loaded_targets),
        channels=await load_channels(notifications),
    )


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
) -> dict[str, object]:
    """Analyze one incident, decide, act (after approval if needed) or escalate, and record."""
    if not await claim_incident(incident_id):
        return await summarize(incident_id)  # another run already owns this episode
    ctx = await _load_context(policy_block, targets_block, notifications_block)
    analysis = await analyze(incident_id, ctx.targets.service_vars)
    decision = await decide(analysis, ctx.policy, ctx.allowed)
    outcome, more = await _act_as_decided(ctx, analysis, decision, requested_by, dry_run)
    resolved = outcome is not None and await record(analysis, outcome)
    if not resolved:
        why = escalation_reasons(decision.decision, decision.reasons + more, outcome)
        await escalate(incident_id, why, ctx.channels.outbox, flow_run_url())
    await deliver(ctx.channels.notifiers, ctx.channels.secrets)
    return await summarize(incident_id)
