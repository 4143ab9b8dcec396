"""Tasks of the resolution flow: act (after approval), conclude, summarize, deliver."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.notify.base import Notifier
from oncall_agent.notify.dispatch import DispatchReport, dispatch_due
from oncall_agent.resolution.acting import ActionOutcome, execute_action
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.resolution.recording import incident_summary
from oncall_agent.resolution.steps import (
    Assessment,
    conclude_incident,
)
from oncall_agent.store.engine import get_engine, session_scope


@task(name="act", cache_policy=NO_CACHE)
async def act(
    analysis: Analysis,
    config: ExecutorConfig,
    dry_run: bool,
    secrets: tuple[str, ...],
    clients: dict[str, Any],
    triggered_by: str = "agent",
    approval_id: int | None = None,
    lease_owner: str | None = None,
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
        approval_id=approval_id,
        lease_owner=lease_owner,
    )


@task(name="conclude", cache_policy=NO_CACHE)
async def conclude(
    assessment: Assessment,
    outcome: ActionOutcome | None,
    extra_reasons: list[str],
    notifier: Notifier,
    ui_url: str | None,
) -> dict[str, object]:
    """Feed the outcome back and resolve the incident, or escalate it with every reason."""
    return await asyncio.to_thread(
        conclude_incident, get_engine(), assessment, outcome, extra_reasons, notifier, ui_url
    )


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
