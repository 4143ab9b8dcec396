"""Tasks around a human approval: request it, describe it, record an expiry or a failure."""

from __future__ import annotations

import asyncio

from prefect import task
from prefect.cache_policies import NO_CACHE

from oncall_agent.approval_form import form_description
from oncall_agent.approvals import close_approval, expire_approval, request_approval
from oncall_agent.notify.base import Notifier
from oncall_agent.notify.compose import compose_approval_request
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.resolution.decision import action_target
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.tables import Approval


@task(name="request-approval", cache_policy=NO_CACHE)
async def request(
    analysis: Analysis, policy: PolicyConfig, requested_by: str, flow_run_id: str | None
) -> Approval:
    """Store the approval request with its exact parameters."""
    return await asyncio.to_thread(
        request_approval,
        get_engine(),
        analysis,
        policy,
        requested_by=requested_by,
        flow_run_id=flow_run_id,
    )


@task(name="notify-approval-requested", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def notify_requested(
    approval: Approval, analysis: Analysis, notifier: Notifier, ui_url: str | None
) -> None:
    """Tell humans an approval waits, with the exact command to answer it."""

    def _send() -> None:
        with session_scope(get_engine()) as session:
            incident = get_incident(session, analysis.incident_id)
            assert approval.id is not None
            notification = compose_approval_request(
                incident,
                approval_id=approval.id,
                action=approval.action,
                parameters=approval.parameters or {},
                risk=approval.risk,
                confidence=approval.confidence,
                why=[analysis.solution],
                expires_at=approval.expires_at,
                ui_url=ui_url,
            )
        notifier.send(notification)

    await asyncio.to_thread(_send)


@task(name="expire-approval", cache_policy=NO_CACHE)
async def expire(approval_id: int) -> None:
    """Record that nobody answered in time."""
    await asyncio.to_thread(expire_approval, get_engine(), approval_id)


@task(name="close-approval", cache_policy=NO_CACHE)
async def close(approval_id: int, status: str, reason: str) -> bool:
    """Close a still-pending approval (failed, cancelled) so nothing waits on it."""
    return await asyncio.to_thread(close_approval, get_engine(), approval_id, status, reason)


@task(name="describe-approval", cache_policy=NO_CACHE)
async def describe(approval: Approval, analysis: Analysis) -> str:
    """The markdown the approval form shows, from the incident as stored now."""

    def _read() -> str:
        with session_scope(get_engine()) as session:
            incident = get_incident(session, approval.incident_id)
            return form_description(approval, incident, action_target(analysis))

    return await asyncio.to_thread(_read)
