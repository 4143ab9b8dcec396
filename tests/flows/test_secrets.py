"""A canary secret held in blocks never shows up in what the agent writes or sends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from prefect.client.orchestration import get_client
from pydantic import SecretStr
from sqlalchemy import MetaData, select

from blocks.actions import ActionTargets
from blocks.notifications import NotificationRouting, WebhookChannel
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource
from flows.detection import detect_incidents
from oncall_agent.executors.config import CommandTemplate, ExecutorConfig, ParamRule
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode, RiskClass
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.schema import upgrade
from tests.integration.notify_receivers import Receiver

CANARY = "canary-5e3cr3t-7f1d9a"
# Secrets inside a log line (letters-only values too): masked before anything keeps them.
LINE_SECRETS = ("sk_live_abcdef", "hunterlettersonly", "lineuserpw")


def _dump_store() -> str:
    """Every row of every table, as text."""
    engine = get_engine()
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(str(row) for t in meta.sorted_tables for row in conn.execute(select(t)))


async def _prefect_records() -> str:
    """Flow run parameters, logs and artifacts the Prefect API holds, as text."""
    async with get_client() as client:
        runs = await client.read_flow_runs()
        logs = await client.read_logs()
        artifacts = await client.read_artifacts()
    parts = [json.dumps(r.parameters, default=str) for r in runs]
    parts += [log.message for log in logs] + [str(a.data) for a in artifacts]
    return "\n".join(parts)


def test_canary_secret_never_leaks(data_dir: Path, tmp_path: Path) -> None:
    """Block secrets and secrets inside log lines reach no row, message, outbox, run or artifact."""
    secret_file = tmp_path / "service.conf"
    secret_file.write_text(f"{CANARY}\n")  # no key=value shape: only the secret list can catch it
    log = tmp_path / "app.log"
    log.write_text(
        "2026-11-27T03:00:00Z ERROR api cache token mismatch for shard 4\n"
        "2026-11-27T03:00:01Z ERROR api ledger checksum mismatch for batch 77 "
        "api_key=sk_live_abcdef password: hunterlettersonly "
        "via postgresql://ledger:lineuserpw@db:5432/ledger\n"
    )
    upgrade(get_engine())
    with session_scope(get_engine()) as session:
        add_entry(
            session,
            KnowledgeEntrySpec(
                key="token-mismatch",
                title="Cache token mismatch",
                patterns=[r"cache token mismatch"],
                services=["api"],
                categories=["error"],
                solution="Show the service's config",
                action=ActionSpec(
                    name="run_command",
                    params={"template": "show-config", "params": {"path": str(secret_file)}},
                ),
                risk=RiskClass.LOW,
                autonomy=AutonomyMode.AUTO,
            ),
        )
    receiver = Receiver().start()
    try:

        async def scenario() -> list[dict[str, Any]]:
            await LogFileSource(paths=[str(log)], service="api").asave("canary", overwrite=True)
            await ResolutionPolicy().asave("canary", overwrite=True)
            template = CommandTemplate(
                argv=["cat", "{path}"], params={"path": ParamRule(pattern=r"/[\w./-]+")}
            )
            await ActionTargets(
                executors=ExecutorConfig(command_templates={"show-config": template}),
                secrets=[SecretStr(CANARY)],
            ).asave("canary", overwrite=True)
            await WebhookChannel(url=SecretStr(receiver.url(f"/hook/{CANARY}"))).asave(
                "canary", overwrite=True
            )
            await NotificationRouting(default_channels=["webhook/canary"], group_wait_s=0).asave(
                "canary", overwrite=True
            )
            return await detect_incidents(
                sources=["canary"],
                policy_block="canary",
                targets_block="canary",
                notifications_block="canary",
            )

        summaries = asyncio.run(scenario())
        prefect_text = asyncio.run(_prefect_records())
    finally:
        receiver.stop()

    outcomes = sorted(str(s["outcome"]) for s in summaries)
    assert outcomes == ["escalated", "resolved"], summaries
    store_text = _dump_store()
    assert "[REDACTED]" in store_text  # the action output was kept, redacted
    assert receiver.posts, "the escalation never reached the webhook"
    sent = "\n".join(p.path + p.body.decode() for p in receiver.posts)
    assert all(p.path == f"/hook/{CANARY}" for p in receiver.posts)  # it did use the secret URL
    outbox = (data_dir / "outbox.jsonl").read_text() if (data_dir / "outbox.jsonl").exists() else ""
    sent = sent.replace(f"/hook/{CANARY}", "/hook/")  # the URL itself is where the secret belongs
    for where, text in {
        "store": store_text,
        "webhook": sent,
        "outbox": outbox,
        "prefect": prefect_text,
    }.items():
        assert CANARY not in text, f"the canary leaked into the {where}"
        for secret in LINE_SECRETS:
            assert secret not in text, f"the log line's secret {secret!r} leaked into the {where}"
