"""The learning-report flow publishes the report as a markdown artifact."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.learning_report import learning_report
from oncall_agent.human import record_human_resolution
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import open_or_update_incident
from oncall_agent.store.schema import upgrade
from tests.integration.test_incident_store import draft


def test_learning_report_flow_publishes_a_markdown_artifact(data_dir: Path) -> None:
    """A run returns the figures and leaves a 'learning-report' artifact with the same text."""
    upgrade(get_engine())
    with session_scope(get_engine()) as session:
        incident = open_or_update_incident(session, draft(), reopen_window_s=60).incident_id
        record_human_resolution(
            session, incident, solution="restarted the pool", success=True, note="", actor="ana"
        )

    async def scenario() -> tuple[dict[str, object], str]:
        figures = await learning_report(days=7)
        async with get_client() as client:
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["learning-report"]))
            )
        return figures, str(max(artifacts, key=lambda a: a.created).data)

    figures, markdown = asyncio.run(scenario())
    assert figures["days"] == 7 and figures["resolved"] == 1
    assert "# Learning report: last 7 days" in markdown
    assert "| resolved automatically / with approval / by people | 0 / 0 / 1 |" in markdown
