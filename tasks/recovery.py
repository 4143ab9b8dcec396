"""Tasks that keep incidents from being stranded: the sweep, and escalating a broken setup."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from oncall_agent.notify.base import Notifier
from oncall_agent.resolution.recovery import (
    SweepReport,
    escalate_unconfigured,
    run_ids_to_check,
    sweep_stranded,
)
from oncall_agent.store.engine import get_engine


async def gone_flow_runs(run_ids: Sequence[str]) -> set[str]:
    """Which of RUN_IDS Prefect no longer runs: ended (crashed, failed, cancelled...) or unknown."""
    if not run_ids:
        return set()
    ids = [uuid.UUID(r) for r in run_ids]
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
        )
    alive = {str(r.id) for r in runs if r.state is None or not r.state.is_final()}
    return set(run_ids) - alive


@task(name="sweep-stranded-resolutions", cache_policy=NO_CACHE)
async def sweep(notifier: Notifier) -> SweepReport:
    """Take over resolutions whose lease expired, whose run is gone, or that failed."""
    engine = get_engine()
    gone = await gone_flow_runs(await asyncio.to_thread(run_ids_to_check, engine))
    report = await asyncio.to_thread(sweep_stranded, engine, notifier, gone)
    for line in report.lines():
        get_run_logger().warning(line)
    return report


@task(name="escalate-misconfigured", cache_policy=NO_CACHE)
async def escalate_misconfigured(
    incident_id: int, where: str, problem: str, notifier: Notifier
) -> dict[str, object]:
    """Escalate an incident whose resolution cannot load its blocks, and say why in the run."""
    get_run_logger().error(
        "incident %s: configuration problem (%s): %s", incident_id, where, problem
    )
    return await asyncio.to_thread(
        escalate_unconfigured, get_engine(), incident_id, where, problem, notifier
    )
