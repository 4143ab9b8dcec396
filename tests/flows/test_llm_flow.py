"""The resolution flow with an LLMConfig block: the model's summary is kept, the action bounded."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from blocks.actions import ActionTargets
from blocks.llm import LLMConfig
from blocks.policy import ResolutionPolicy
from flows.resolution import resolve_incident
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.schema import upgrade
from tests.integration.model_server import answer, constant_reply, model_server
from tests.integration.test_llm_explain import open_incident

DISK = "write failed: [Errno 28] No space left on device"
CANARY = "CANARYflowSecret77"  # a plain word: only the configured secret list can mask it


def test_the_flow_keeps_the_models_summary_and_runs_the_agents_own_action(
    data_dir: Path, tmp_path: Path
) -> None:
    """With llm_block named, the model is asked once (by name, no secret) and the cleanup runs."""
    logs = tmp_path / "logs"
    logs.mkdir()
    old = time.time() - 3 * 86400
    for i in range(2):
        (logs / f"old{i}.log").write_text("x")
        os.utime(logs / f"old{i}.log", (old, old))
    upgrade(get_engine())
    lines = [DISK, f"{DISK} while mounting with {CANARY}"]
    incident_id = open_incident(get_engine(), DISK, samples=lines, category="disk")
    summary_text = "The api's log volume is full of rotated logs."
    reply = answer("disk-full", {"pattern": "../*"}, summary=summary_text)

    with model_server(constant_reply(reply)) as server:

        async def scenario() -> dict[str, object]:
            await ResolutionPolicy().asave("llm", overwrite=True)
            await ActionTargets(
                executors=ExecutorConfig(cleanup_roots=[logs]),
                service_vars={"api": {"log_dir": str(logs)}},
                secrets=[CANARY],
            ).asave("llm", overwrite=True)
            await LLMConfig(base_url=server.base_url, model="flow-model", timeout_s=5).asave(
                "llm", overwrite=True
            )
            return await resolve_incident(
                incident_id, policy_block="llm", targets_block="llm", llm_block="llm"
            )

        summary = asyncio.run(scenario())
    assert summary["outcome"] == "resolved" and list(logs.iterdir()) == []
    assert [got.body["model"] for got in server.received] == ["flow-model"]
    assert (
        CANARY not in server.received[0].raw.decode()
        and "mounting with" in server.received[0].raw.decode()
    )
    with session_scope(get_engine()) as session:
        kept = (get_incident(session, incident_id).analysis or {})["llm"]
    assert kept["summary"] == summary_text and kept["source"] == "llm"
    assert any("fail the action's validation" in r for r in kept["refused"])
