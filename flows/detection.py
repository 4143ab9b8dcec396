"""The detection flow: read new log lines, open or update incidents, resolve the new ones."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow
from prefect.artifacts import acreate_table_artifact
from prefect.deployments.flow_runs import arun_deployment

from blocks.event_sources import load_source_block
from flows.common import load_channels
from flows.resolution import resolve_incident
from oncall_agent.markdown import escape_html
from tasks.detection import (
    incident_episode,
    incidents_to_resolve,
    scan_event_source,
    settle_credits,
)
from tasks.resolution import deliver, summarize


async def _resolve_bounded(
    incident_ids: list[int], limit: int, options: dict[str, Any]
) -> list[dict[str, object]]:
    """One resolution subflow per incident (with OPTIONS as its parameters), LIMIT at a time."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(incident_id: int) -> dict[str, object]:
        async with gate:
            state = await resolve_incident(incident_id, **options, return_state=True)
        if state.is_completed():
            return await state.aresult()  # type: ignore[no-any-return]
        # A crash leaves the incident as it was; the store says what happened.
        return await summarize(incident_id)

    return list(await asyncio.gather(*(one(i) for i in incident_ids)))


async def _dispatch_deployment_runs(
    incident_ids: list[int], deployment: str, options: dict[str, Any]
) -> list[dict[str, object]]:
    """Start one resolution deployment run per incident and return at once (timeout=0).

    A paused approval then holds only its own run, never this detection run or its schedule.
    The idempotency key makes a second detection run's dispatch of the same episode a no-op.
    """
    summaries = []
    for incident_id in incident_ids:
        run = await arun_deployment(
            deployment,
            parameters={"incident_id": incident_id, **options},
            timeout=0,
            as_subflow=False,
            idempotency_key=f"resolve-{incident_id}-{await incident_episode(incident_id)}",
        )
        # The resolution has not happened yet: say where it went, not a decision it has not made.
        summary = await summarize(incident_id)
        summary["outcome"] = f"dispatched to {deployment} (run {run.name})"
        summaries.append(summary)
    return summaries


@flow(name="detect-incidents")
async def detect_incidents(
    sources: list[str] | None = None,
    resolve: bool = True,
    policy_block: str = "default",
    targets_block: str = "default",
    max_concurrent_resolutions: int = 4,
    dry_run: bool = False,
    notifications_block: str | None = None,
    resolution_deployment: str | None = None,
    llm_block: str | None = None,
) -> list[dict[str, object]]:
    """Scan every source block, store incidents, and fan out one resolution per new incident."""
    for spec in sources if sources is not None else ["default"]:
        block = await load_source_block(spec)
        rules = block.detection_rules() if hasattr(block, "detection_rules") else None
        await scan_event_source(block.build(), source_key=f"source:{spec}", rules=rules)
    await settle_credits()  # after reading, so a recurrence in this batch counts against it
    if not resolve:
        return []
    pending = await incidents_to_resolve()
    options = {
        "policy_block": policy_block,
        "targets_block": targets_block,
        "dry_run": dry_run,
        "notifications_block": notifications_block,
        "llm_block": llm_block,
    }
    if resolution_deployment:
        summaries = await _dispatch_deployment_runs(pending, resolution_deployment, options)
    else:
        # Subflows leave delivery to this run, which delivers once after the whole fan-out.
        summaries = await _resolve_bounded(
            pending, max_concurrent_resolutions, {**options, "deliver_now": False}
        )
    channels = await load_channels(notifications_block)
    await deliver(channels.notifiers, channels.secrets)  # retries what earlier runs could not send
    if summaries:
        await acreate_table_artifact(
            key="detection-summary",
            table=[_row(s) for s in summaries],
            description=(
                f"Incidents this run dispatched to {resolution_deployment}"
                if resolution_deployment
                else "Incidents this run resolved, escalated or asked a person about"
            ),
        )
    return summaries


def _row(summary: dict[str, object]) -> dict[str, object]:
    """A summary flattened for a table artifact (text escaped: the UI shows <NUM> literally)."""
    flat = {k: ("; ".join(map(str, v)) if isinstance(v, list) else v) for k, v in summary.items()}
    return {k: escape_html(v) if isinstance(v, str) else v for k, v in flat.items()}
