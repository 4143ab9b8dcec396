"""The resolution flow: one run per new or reopened incident."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from flows.approval import ask_for_approval
from flows.common import flow_run_url, load_channels, load_clients, load_policy, load_targets
from oncall_agent.executors.registry import configured_actions
from oncall_agent.models import Decision
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
    policy, targets = (await load_policy(policy_block)).policy, await load_targets(targets_block)
    clients, channels = await load_clients(targets), await load_channels(notifications_block)
    analysis = await analyze(incident_id, targets.service_vars)
    decision = await decide(analysis, policy, configured_actions(targets.executors, clients))
    reasons, outcome, approver, approved_hash = list(decision.reasons), None, "agent", None
    if decision.decision is Decision.ASK_APPROVAL:
        verdict = await ask_for_approval(
            analysis,
            policy,
            channels,
            requested_by=requested_by,
            flow_run_id=str(flow_run.get_id()),
            ui_url=flow_run_url(),
        )
        reasons += verdict.reasons
        if verdict.approved:
            analysis = analysis.with_parameters(verdict.parameters)
            approver, approved_hash = verdict.approver, verdict.params_hash
    if decision.decision is Decision.SHADOW and analysis.action is not None:
        # Shadow mode records exactly what would have run, as a dry run, and leaves it to people.
        outcome = await act(analysis, targets.executors, True, targets.secret_values(), clients)
    elif decision.decision is Decision.EXECUTE or approved_hash is not None:
        dry = dry_run or policy.dry_run_only
        outcome = await act(
            analysis,
            targets.executors,
            dry,
            targets.secret_values(),
            clients,
            triggered_by=approver,
            approved_hash=approved_hash,
        )
        if await record(analysis, outcome):
            await deliver(channels.notifiers, channels.secrets)
            return await summarize(incident_id)
    why = escalation_reasons(decision.decision, reasons, outcome, approvals_enabled=True)
    await escalate(incident_id, why, channels.outbox, flow_run_url())
    await deliver(channels.notifiers, channels.secrets)
    return await summarize(incident_id)
