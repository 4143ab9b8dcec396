"""Tasks of the resolution flow: claim, analyze, decide, act, record, escalate, summarize."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.notify.base import Notifier
from oncall_agent.notify.dispatch import DispatchReport, dispatch_due
from oncall_agent.policy import PolicyConfig, PolicyDecision
from oncall_agent.resolution.acting import ActionOutcome, execute_action
from oncall_agent.resolution.analysis import Analysis, analyze_incident
from oncall_agent.resolution.decision import decide_incident
from oncall_agent.resolution.recording import (
    escalate_incident,
    incident_summary,
    record_action_outcome,
)
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import claim_for_resolution


@task(name="claim-incident", cache_policy=NO_CACHE)
async def claim_incident(incident_id: int) -> bool:
    """Take the one right to resolve this incident episode."""

    def _claim() -> bool:
        with session_scope(get_engine()) as session:
            return claim_for_resolution(session, incident_id)

    return await asyncio.to_thread(_claim)


@task(name="analyze-incident", cache_policy=NO_CACHE)
async def analyze(incident_id: int, service_vars: dict[str, dict[str, str]]) -> Analysis:
    """Match the knowledge base and score confidence."""
    return await asyncio.to_thread(analyze_incident, get_engine(), incident_id, service_vars)


@task(name="decide", cache_policy=NO_CACHE)
async def decide(analysis: Analysis, policy: PolicyConfig, allowed: set[str]) -> PolicyDecision:
    """Apply the policy and store the decision with its reasons."""
    return await asyncio.to_thread(decide_incident, get_engine(), analysis, policy, allowed)


@task(name="act", cache_policy=NO_CACHE)
async def act(
    analysis: Analysis,
    config: ExecutorConfig,
    dry_run: bool,
    secrets: tuple[str, ...],
    clients: dict[str, Any],
    triggered_by: str = "agent",
    approved_hash: str | None = None,
) -> ActionOutcome:
    """Run the action once under its idempotency key, then verify it."""
    assert analysis.action is not None
    executor = build_executor(analysis.action.name, config, secrets=secrets, clients=clients)
    return await asyncio.to_thread(
        execute_action,
        get_engine(),
        analysis,
        executor,
        dry_run=dry_run,
        secrets=secrets,
        triggered_by=triggered_by,
        approved_hash=approved_hash,
    )


@task(name="record-outcome", cache_policy=NO_CACHE)
async def record(analysis: Analysis, outcome: ActionOutcome) -> bool:
    """Feed the outcome back into the knowledge entry; resolve the incident if it held."""
    return await asyncio.to_thread(record_action_outcome, get_engine(), analysis, outcome)


@task(name="escalate", cache_policy=NO_CACHE)
async def escalate(
    incident_id: int, reasons: list[str], notifier: Notifier, ui_url: str | None
) -> None:
    """Mark the incident escalated and queue the notification (delivery retries on its own)."""
    await asyncio.to_thread(escalate_incident, get_engine(), incident_id, reasons, notifier, ui_url)


@task(name="summarize-incident", cache_policy=NO_CACHE)
async def summarize(incident_id: int) -> dict[str, object]:
    """The row a user sees for this incident."""
    return await asyncio.to_thread(incident_summary, get_engine(), incident_id)


@task(name="deliver-notifications", cache_policy=NO_CACHE)
async def deliver(notifiers: dict[str, Notifier], secrets: list[str]) -> DispatchReport:
    """Send what is due in the outbox; a channel that is down keeps its rows for a later run."""
    report = await asyncio.to_thread(
        dispatch_due, lambda: session_scope(get_engine()), notifiers, secrets=secrets
    )
    for error in report.errors:
        get_run_logger().warning("notification not delivered yet: %s", error)
    return report
