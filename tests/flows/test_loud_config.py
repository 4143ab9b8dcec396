"""Configuration problems are loud: in the run's log and artifact, in `oncall status`, and an
incident that cannot be resolved because of one escalates instead of waiting forever."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import BlockDocumentUpdate
from sqlmodel import select
from typer.testing import CliRunner

from blocks.actions import ActionTargets
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource
from flows.detection import detect_incidents
from oncall_agent.cli import build_app
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.schema import upgrade
from oncall_agent.store.tables import Incident, NotificationRow


async def _summary_artifact() -> str:
    """The description of the newest detection-summary artifact."""
    async with get_client() as client:
        artifacts = await client.read_artifacts()
    found = sorted((a for a in artifacts if a.key == "detection-summary"), key=lambda a: a.created)
    return str(found[-1].description) if found else ""


async def _force_policy(name: str, **values: Any) -> None:
    """Write policy VALUES straight through the API, past the block's validation."""
    await ResolutionPolicy().asave(name, overwrite=True)
    async with get_client() as client:
        doc = await client.read_block_document_by_name(name, "oncall-resolution-policy")
        data = dict(doc.data)
        data["policy"] = {**data["policy"], **values}
        await client.update_block_document(doc.id, BlockDocumentUpdate(data=data))


def _status() -> str:
    """What `oncall status` prints."""
    result = CliRunner().invoke(build_app(), ["status"])
    assert result.exit_code == 0, result.output
    return result.output


def test_out_of_range_policy_escalates_the_incident(data_dir: Path, tmp_path: Path) -> None:
    """A policy with auto_threshold 5 forced through the API: the incident escalates, loudly."""
    log = tmp_path / "app.log"
    log.write_text("2026-11-27T03:00:00Z ERROR api ledger checksum mismatch for batch 77\n")
    upgrade(get_engine())

    async def scenario() -> list[dict[str, object]]:
        await LogFileSource(paths=[str(log)], service="api").asave("loud", overwrite=True)
        await ActionTargets().asave("loud", overwrite=True)
        await _force_policy("loud", auto_threshold=5.0)
        return await detect_incidents(sources=["loud"], policy_block="loud", targets_block="loud")

    [summary] = asyncio.run(scenario())
    assert summary["outcome"] == "escalated", summary
    assert any("auto_threshold" in str(r) for r in summary["reasons"])  # type: ignore[attr-defined]
    with session_scope(get_engine()) as session:
        incident = session.exec(select(Incident)).one()
        told = session.exec(
            select(NotificationRow).where(NotificationRow.incident_id == incident.id)
        ).all()
    assert not incident.needs_resolution and [r.kind for r in told] == ["escalation"]
    assert "configuration problem" in asyncio.run(_summary_artifact())
    assert "blocks:loud/loud" in _status()


def test_glob_matching_no_file_is_reported(data_dir: Path, tmp_path: Path) -> None:
    """A source glob that matches nothing is named in the artifact and by `oncall status`."""
    upgrade(get_engine())
    pattern = str(tmp_path / "nothing-here-*.log")

    async def scenario() -> None:
        await LogFileSource(paths=[pattern], service="api").asave("empty", overwrite=True)
        await detect_incidents(sources=["empty"], resolve=False)

    asyncio.run(scenario())
    assert f"{pattern!r} matches no file" in asyncio.run(_summary_artifact())
    assert "matches no file" in _status()
