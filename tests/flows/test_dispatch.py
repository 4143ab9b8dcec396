"""Deployed detection hands each incident to the resolution deployment and does not wait."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

from blocks.sources import LogFileSource
from flows.detection import detect_incidents
from flows.resolution import resolve_incident
from oncall_agent.store.engine import get_engine
from oncall_agent.store.schema import upgrade


def test_detection_dispatches_deployment_runs_without_waiting(
    data_dir: Path, tmp_path: Path
) -> None:
    """With resolution_deployment set, each new incident gets one scheduled run, once."""
    log = tmp_path / "app.log"
    log.write_text(
        "2026-11-27T03:00:00Z ERROR api connection pool exhausted: size=10\n"
        "2026-11-27T03:00:01Z ERROR api failed to write /x: No space left on device\n"
    )
    upgrade(get_engine())

    async def scenario() -> int:
        await LogFileSource(paths=[str(log)], service="api").asave("dispatch", overwrite=True)
        deployment_id = await (await resolve_incident.ato_deployment(name="resolve")).apply()
        for _ in range(2):  # the second run must not dispatch the same episodes again
            await detect_incidents(
                sources=["dispatch"], resolution_deployment="resolve-incident/resolve"
            )
        async with get_client() as client:
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
        assert {r.state_type.value for r in runs} == {"SCHEDULED"}  # no worker: they wait
        assert sorted(r.parameters["incident_id"] for r in runs) == [1, 2]
        return len(runs)

    assert asyncio.run(scenario()) == 2
