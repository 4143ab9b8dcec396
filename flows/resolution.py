"""The resolution flow: one run per new or reopened incident."""

from __future__ import annotations

from prefect import flow

from flows.common import default_notifier, flow_run_url, load_policy, load_targets
from oncall_agent.executors.registry import configured_actions
from oncall_agent.models import Decision
from oncall_agent.resolution.recording import escalation_reasons
from tasks.resolution import act, analyze, claim_incident, decide, escalate, record, summarize


@flow(name="resolve-incident", flow_run_name="resolve-incident-{incident_id}")
async def resolve_incident(
    incident_id: int,
    policy_block: str = "default",
    targets_block: str = "default",
    dry_run: bool = False,
) -> dict[str, object]:
    """Analyze one incident, decide, act or escalate, verify, and record the outcome."""
    if not await claim_incident(incident_id):
        return await summarize(incident_id)  # another run already owns this episode
    policy, targets = await load_policy(policy_block), await load_targets(targets_block)
    analysis = await analyze(incident_id, targets.service_vars)
    allowed = configured_actions(targets.executors)
    decision = await decide(analysis, policy.policy, allowed)
    outcome = None
    if decision.decision is Decision.EXECUTE:
        dry = dry_run or policy.policy.dry_run_only
        outcome = await act(analysis, targets.executors, dry, targets.secret_values())
        if await record(analysis, outcome):
            return await summarize(incident_id)
    reasons = escalation_reasons(decision.decision, decision.reasons, outcome)
    await escalate(incident_id, reasons, default_notifier(), flow_run_url())
    return await summarize(incident_id)
