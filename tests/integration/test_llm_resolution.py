"""The model inside an unattended resolution: bounded choices, approval gate, marked summaries."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.executors.config import ExecutorConfig, ServiceTarget
from oncall_agent.llm.advisor import Advisor
from oncall_agent.models import Decision, IncidentStatus
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.steps import Progress, resolve_unattended
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.tables import ActionRun
from tests.integration.model_server import Reply, answer, constant_reply, model_server
from tests.integration.test_llm_explain import MODEL, advisor_for, open_incident

ROOT = Path(__file__).resolve().parents[2]
# The agent's top match is db-connection-pool-exhausted (auto); health-check-failing is offered too.
BOTH = "ERROR health check failed: HikariPool-1 - Connection is not available, too many connections"
DISK = "write failed: [Errno 28] No space left on device"


def resolve(
    engine: Engine,
    incident: int,
    tmp_path: Path,
    advisor: Advisor | None,
    executors: ExecutorConfig,
    allowed: set[str],
    service_vars: dict[str, dict[str, str]] | None = None,
    dry_run: bool = False,
    policy: PolicyConfig | None = None,
) -> Progress:
    """One unattended resolution (default policy), notifications to an outbox file."""
    return resolve_unattended(
        engine,
        incident,
        service_vars=service_vars or {},
        policy=policy or PolicyConfig(),
        allowed=allowed,
        executors=executors,
        clients={},
        secrets=(),
        dry_run=dry_run,
        notifier=ConsoleOutboxNotifier(tmp_path / "outbox.jsonl", stream=io.StringIO()),
        advisor=advisor,
    )


@pytest.fixture
def api_service(tmp_path: Path) -> ExecutorConfig:
    """restart_service allow-listed for the service 'api' only (a harmless local command)."""
    target = ServiceTarget(
        backend="local", command=[sys.executable, "-c", "pass"], pidfile=tmp_path / "api.pid"
    )
    return ExecutorConfig(services={"api": target})


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """A log folder with three old files and a new one."""
    folder = tmp_path / "logs"
    folder.mkdir()
    old = time.time() - 3 * 86400
    for i in range(3):
        (folder / f"old.{i}.log").write_text("x")
        os.utime(folder / f"old.{i}.log", (old, old))
    (folder / "new.log").write_text("y")
    return folder


def action_runs(engine: Engine) -> list[ActionRun]:
    """Every action run stored."""
    with session_scope(engine) as session:
        return list(session.exec(select(ActionRun)).all())


def test_a_models_other_choice_always_asks_a_person(
    engine: Engine, tmp_path: Path, api_service: ExecutorConfig
) -> None:
    """The model picks another offered auto entry: nothing runs, a person is asked."""
    trusting = PolicyConfig(auto_threshold=0.5)  # both entries would run unattended
    incident = open_incident(engine, BOTH)
    without = resolve(
        engine, incident, tmp_path, None, api_service, {"restart_service"}, None, True, trusting
    )
    assert without.summary is not None and without.summary["decision"] == Decision.EXECUTE.value

    again = open_incident(engine, BOTH + " (2)")
    with model_server(constant_reply(answer("health-check-failing"))) as server:
        advisor = advisor_for(server.base_url)
        progress = resolve(
            engine, again, tmp_path, advisor, api_service, {"restart_service"}, policy=trusting
        )
    assert progress.assessment is not None and progress.summary is None
    assessment = progress.assessment
    assert assessment.decision.decision is Decision.ASK_APPROVAL
    assert assessment.analysis.entry_key == "health-check-failing"
    assert assessment.analysis.chosen_by_model
    assert any("chosen by a model" in r for r in assessment.decision.reasons)
    with session_scope(engine) as session:
        row = get_incident(session, again)
        assert row.status == IncidentStatus.AWAITING_APPROVAL
        assert (row.analysis or {})["llm"]["summary"].startswith("The pool of database")
    assert [r.incident_id for r in action_runs(engine)] == [incident]  # only the dry run above


def test_the_agents_own_auto_choice_runs_with_the_models_summary(
    sqlite_engine: Engine, tmp_path: Path, log_dir: Path
) -> None:
    """The model agrees with the agent on an auto entry: the cleanup runs and is verified."""
    incident = open_incident(sqlite_engine, DISK, category="disk")
    cleanup = ExecutorConfig(cleanup_roots=[log_dir])
    with model_server(constant_reply(answer("disk-full", {"pattern": "*.log*"}))) as server:
        progress = resolve(
            sqlite_engine, incident, tmp_path, advisor_for(server.base_url), cleanup,
            {"cleanup_files"}, {"api": {"log_dir": str(log_dir)}},
        )  # fmt: skip
    assert progress.summary is not None and progress.summary["outcome"] == "resolved"
    assert sorted(p.name for p in log_dir.iterdir()) == ["new.log"]
    with session_scope(sqlite_engine) as session:
        kept = (get_incident(session, incident).analysis or {})["llm"]
    assert kept["source"] == "llm" and kept["model"] == MODEL and kept["refused"] == []


@pytest.mark.parametrize(
    ("parameters", "decision", "refused"),
    [
        ({"pattern": "../../*"}, Decision.EXECUTE, "fail the action's validation"),
        ({"root": "/etc"}, Decision.EXECUTE, "may not change the target"),
        ({"older_than_s": 172800}, Decision.ASK_APPROVAL, None),
    ],
    ids=["refused-by-the-executor", "target", "accepted-change"],
)
def test_model_parameters_pass_the_executors_own_validation(
    sqlite_engine: Engine,
    tmp_path: Path,
    log_dir: Path,
    parameters: dict[str, Any],
    decision: Decision,
    refused: str | None,
) -> None:
    """Refused parameters leave the agent's own action; an accepted change needs a person."""
    incident = open_incident(sqlite_engine, DISK, category="disk")
    cleanup = ExecutorConfig(cleanup_roots=[log_dir])
    with model_server(constant_reply(answer("disk-full", parameters))) as server:
        progress = resolve(
            sqlite_engine, incident, tmp_path, advisor_for(server.base_url), cleanup,
            {"cleanup_files"}, {"api": {"log_dir": str(log_dir)}}, dry_run=True,
        )  # fmt: skip
    with session_scope(sqlite_engine) as session:
        row = get_incident(session, incident)
        kept = (row.analysis or {})["llm"]
        assert row.decision == decision.value
    if refused is None:
        assert kept["refused"] == [] and progress.assessment is not None
        assert progress.assessment.analysis.action is not None
        assert progress.assessment.analysis.action.params["older_than_s"] == 172800
    else:
        assert any(refused in r for r in kept["refused"]), kept["refused"]
        [run] = action_runs(sqlite_engine)
        assert run.parameters["pattern"] == "*.log*" and run.target.endswith(str(log_dir))


def test_a_broken_model_leaves_the_decision_as_without_one(
    sqlite_engine: Engine, tmp_path: Path, api_service: ExecutorConfig
) -> None:
    """HTTP 500s: the fallback is recorded and the agent decides exactly as it would alone."""
    incident = open_incident(sqlite_engine, BOTH)
    with model_server(lambda _g, _n: Reply(status=500, raw_body=b"{}")) as server:
        progress = resolve(
            sqlite_engine, incident, tmp_path, advisor_for(server.base_url), api_service,
            {"restart_service"}, dry_run=True,
        )  # fmt: skip
    assert progress.summary is not None and progress.summary["decision"] == "execute"
    with session_scope(sqlite_engine) as session:
        kept = (get_incident(session, incident).analysis or {})["llm"]
    assert kept["source"] == "fallback" and "HTTP 500" in kept["refused"][0]


def test_escalations_show_the_summary_marked_as_written_by_a_model(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """An escalation's body carries the model's summary, marked with the model's name."""
    incident = open_incident(sqlite_engine, BOTH)
    summary = "Connections leak from the checkout handler."
    reply = answer("db-connection-pool-exhausted", summary=summary)
    with model_server(constant_reply(reply)) as server:
        progress = resolve(
            sqlite_engine, incident, tmp_path, advisor_for(server.base_url), ExecutorConfig(), set()
        )
    assert progress.summary is not None and progress.summary["outcome"] == "escalated"
    [sent] = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert f"written by a model ({MODEL})" in sent["body"] and summary in sent["body"]


@pytest.mark.slow
def test_without_a_model_the_resolution_never_imports_openai() -> None:
    """No advisor, no cost: the resolution steps load without the openai client."""
    code = "import sys, oncall_agent.resolution.steps\nprint('openai' in sys.modules)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
        check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "False"
