"""The detection flow: read new log lines, open or update incidents, resolve the new ones."""

from __future__ import annotations

import asyncio

from prefect import flow
from prefect.artifacts import acreate_table_artifact

from blocks.airflow import AirflowFailureSource
from blocks.sources import LogFileSource
from flows.resolution import resolve_incident
from tasks.detection import incidents_to_resolve, scan_log_source
from tasks.resolution import summarize


async def _resolve_bounded(
    incident_ids: list[int], limit: int, policy_block: str, targets_block: str, dry_run: bool
) -> list[dict[str, object]]:
    """One resolution subflow per incident, at most LIMIT at a time."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(incident_id: int) -> dict[str, object]:
        async with gate:
            state = await resolve_incident(
                incident_id,
                policy_block=policy_block,
                targets_block=targets_block,
                dry_run=dry_run,
                return_state=True,
            )
        if state.is_completed():
            return await state.aresult()  # type: ignore[no-any-return]
        # An expired approval ends its run Failed even though it escalated properly; a crash
        # leaves the incident as it was. Either way the store says what happened.
        return await summarize(incident_id)

    return list(await asyncio.gather(*(one(i) for i in incident_ids)))


@flow(name="detect-incidents")
async def detect_incidents(
    sources: list[str] | None = None,
    resolve: bool = True,
    policy_block: str = "default",
    targets_block: str = "default",
    max_concurrent_resolutions: int = 4,
    dry_run: bool = False,
    airflow_sources: list[str] | None = None,
) -> list[dict[str, object]]:
    """Scan every source block, store incidents, and fan out one resolution per new incident."""
    for name in sources if sources is not None else ["default"]:
        source: LogFileSource = await LogFileSource.aload(name)
        await scan_log_source(source.build(), source_key=f"file-source:{name}")
    for name in airflow_sources or []:
        airflow = await AirflowFailureSource.aload(name)
        await scan_log_source(airflow.build(), source_key=f"airflow-source:{name}")
    if not resolve:
        return []
    pending = await incidents_to_resolve()
    summaries = await _resolve_bounded(
        pending, max_concurrent_resolutions, policy_block, targets_block, dry_run
    )
    if summaries:
        await acreate_table_artifact(
            key="detection-summary",
            table=[_row(s) for s in summaries],
            description="Incidents resolved or escalated by this detection run",
        )
    return summaries


def _row(summary: dict[str, object]) -> dict[str, object]:
    """A summary flattened for a table artifact."""
    return {k: ("; ".join(v) if isinstance(v, list) else v) for k, v in summary.items()}
