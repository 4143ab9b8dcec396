"""The detection flow: read new log lines, open or update incidents, resolve the new ones."""

from __future__ import annotations

import asyncio
import secrets
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
    unclaimed,
)
from tasks.recovery import sweep
from tasks.resolution import deliver, summarize


async def _resolve_bounded(
    incident_ids: list[int], limit: int, options: dict[str, Any]
) -> list[dict[str, object]]:
    """One resolution subflow per incident (with OPTIONS as its parameters), LIMIT at a time."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(incident_id: int) -> dict[str, object] | None:
        async with gate:
            # Detection runs racing on the same incidents: one that another run claimed while
            # this one waited at the gate costs a lookup, not a subflow (tests/chaos counts them).
            if not await unclaimed(incident_id):
                return None
            state = await resolve_incident(incident_id, **options, return_state=True)
        if state.is_completed():
            return await state.aresult()  # type: ignore[no-any-return]
        # A crash leaves the incident as it was; the store says what happened.
        return await summarize(incident_id)

    # Start at a random place: runs racing over the same list then meet rarely, where in the
    # same order they would reach every incident together (both pass the look, one loses).
    start = secrets.randbelow(len(incident_ids)) if incident_ids else 0
    ordered = incident_ids[start:] + incident_ids[:start]
    done = await asyncio.gather(*(one(i) for i in ordered))
    return [summary for summary in done if summary is not None]


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
    """Scan every source block, store incidents, and fan out one resolution per new incident.

    LLM_BLOCK names an LLMConfig block each resolution uses (None: no model is asked).
    """
    problems: list[str] = []
    for spec in sources if sources is not None else ["default"]:
        block = await load_source_block(spec)
        rules = block.detection_rules() if hasattr(block, "detection_rules") else None
        report = await scan_event_source(block.build(), source_key=f"source:{spec}", rules=rules)
        problems += report.problems
    await settle_credits()  # after reading, so a recurrence in this batch counts against it
    if not resolve:
        await _publish([], problems, resolution_deployment)
        return []
    channels = await load_channels(notifications_block)
    swept = await sweep(channels.outbox)  # resolutions whose run died or failed: retry/escalate
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
    await deliver(channels.notifiers, channels.secrets)  # retries what earlier runs could not send
    found = problems + swept.lines() + _config_reasons(summaries)
    await _publish(summaries, found, resolution_deployment)
    return summaries


def _config_reasons(summaries: list[dict[str, object]]) -> list[str]:
    """The configuration problems resolutions escalated for (a missing command, a bad block)."""
    found: list[str] = []
    for summary in summaries:
        reasons = summary.get("reasons")
        if isinstance(reasons, list):
            found += [str(r) for r in reasons if "configuration problem (" in str(r)]
    return found


async def _publish(
    summaries: list[dict[str, object]], problems: list[str], deployment: str | None
) -> None:
    """The detection-summary artifact: problems first (loud), then one row per incident."""
    if not summaries and not problems:
        return
    text = (
        f"Incidents this run dispatched to {deployment}"
        if deployment
        else "Incidents this run resolved, escalated or asked a person about"
    )
    if problems:
        # Entities only: paths and globs stay readable; <NUM> and <VAL> still show literally.
        listed = "\n".join(f"- {escape_html(p)}" for p in problems)
        text = f"**Problems:**\n{listed}\n\n{text}"
    await acreate_table_artifact(
        key="detection-summary", table=[_row(s) for s in summaries], description=text
    )


def _row(summary: dict[str, object]) -> dict[str, object]:
    """A summary flattened for a table artifact (text escaped: the UI shows <NUM> literally)."""
    flat = {k: ("; ".join(map(str, v)) if isinstance(v, list) else v) for k, v in summary.items()}
    return {k: escape_html(v) if isinstance(v, str) else v for k, v in flat.items()}
