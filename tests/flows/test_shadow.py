"""Shadow mode: the agent records exactly what it would run, runs nothing, and tells people."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from sqlmodel import select

from blocks.actions import ActionTargets
from blocks.policy import ResolutionPolicy
from flows.resolution import resolve_incident
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode, IncidentStatus, RiskClass
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.schema import upgrade
from oncall_agent.store.tables import ActionRun
from tests.integration.test_resolution_steps import draft_for


def test_shadow_entry_records_a_dry_run_and_escalates(data_dir: Path, tmp_path: Path) -> None:
    """A shadow entry's action is planned as a dry run (files listed, none deleted)."""
    spool = tmp_path / "spool"
    spool.mkdir()
    old = time.time() - 86400
    for i in range(2):
        (spool / f"old{i}.log").write_text("x")
        os.utime(spool / f"old{i}.log", (old, old))
    upgrade(get_engine())
    with session_scope(get_engine()) as session:
        add_entry(
            session,
            KnowledgeEntrySpec(
                key="spool-shadow",
                title="Spool full",
                patterns=[r"spool is full"],
                categories=["disk"],
                solution="Delete old spool files",
                action=ActionSpec(
                    name="cleanup_files", params={"root": str(spool), "pattern": "*.log"}
                ),
                risk=RiskClass.LOW,
                autonomy=AutonomyMode.SHADOW,
            ),
        )
        incident_id = open_or_update_incident(
            session, draft_for("ERROR spool is full", "disk"), reopen_window_s=60
        ).incident_id

    async def scenario() -> dict[str, object]:
        await ResolutionPolicy().asave("shadow", overwrite=True)
        await ActionTargets(executors=ExecutorConfig(cleanup_roots=[spool])).asave(
            "shadow", overwrite=True
        )
        return await resolve_incident(incident_id, policy_block="shadow", targets_block="shadow")

    summary = asyncio.run(scenario())
    assert summary["decision"] == "shadow" and summary["outcome"] == "escalated"
    assert len(list(spool.iterdir())) == 2
    with session_scope(get_engine()) as session:
        [run] = session.exec(select(ActionRun)).all()
        assert get_incident(session, incident_id).status == IncidentStatus.ESCALATED
    assert run.dry_run and run.status == "dry_run"
    assert "old0.log" in run.output and "old1.log" in run.output
