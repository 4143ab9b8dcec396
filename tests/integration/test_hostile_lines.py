"""Log text never chooses a target: hostile lines in a watched file, for every action kind.

Each line is written to a real file, read by a real FileSource, detected, grouped and stored on
SQLite and PostgreSQL, then analysed and resolved with the executor config allowing the very
target the line names: only the source's scope stands between the line and the action, and the
positive controls show the same line does fill the action once the scope allows it.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.executors import local_process
from oncall_agent.executors.config import ExecutorConfig, ServiceTarget
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode, IncidentStatus, RiskClass
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.pipeline import scan_source
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.resolution.steps import resolve_unattended
from oncall_agent.sources.files import FileSource
from oncall_agent.sources.scope import TargetScope
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import list_incidents
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.tables import ActionRun

pytestmark = pytest.mark.integration

JSON_LINE = (
    '{"level":"error","service":"payments-db","message":"health check failed: returned 503"}\n'
)
AIRFLOW_LINE = (
    "2026-11-27T03:00:00Z ERROR scheduler task failed dag_id=billing_close "
    "task_id=charge run_id=manual__2026-11-27\n"
)
SPARK_LINE = "2026-11-27T03:00:00Z ERROR driver executor lost app_id=application_17_0001\n"
AIRFLOW_IDS = {"dag_id": "{{incident.dag_id}}", "run_id": "{{incident.run_id}}"}

# action kind -> (hostile line, entry pattern, action params, scope that would allow it)
CASES: dict[str, tuple[str, str, dict[str, Any], TargetScope]] = {
    "restart_service": (
        JSON_LINE, "health check failed", {"service": "{{incident.service}}"},
        TargetScope(services=["payments-db"]),
    ),
    "cleanup_files": (
        JSON_LINE, "health check failed", {"root": "{{incident.log_dir}}", "pattern": "*"},
        TargetScope(services=["payments-db"]),
    ),
    "http_call": (
        JSON_LINE, "health check failed",
        {"method": "POST", "url": "http://127.0.0.1:9/{{incident.service}}/restart"},
        TargetScope(services=["payments-db"]),
    ),
    "run_command": (
        JSON_LINE, "health check failed",
        {"template": "flush", "params": {"name": "{{incident.service}}"}},
        TargetScope(services=["payments-db"]),
    ),
    "terminate_queries": (
        JSON_LINE, "health check failed", {"database": "{{incident.service}}"},
        TargetScope(services=["payments-db"]),
    ),
    "airflow_clear_task": (
        AIRFLOW_LINE, "task failed", {**AIRFLOW_IDS, "task_id": "{{incident.task_id}}"},
        TargetScope(attributes={"dag_id": ["billing_*"], "run_id": ["*"], "task_id": ["*"]}),
    ),
    "airflow_mark_run": (
        AIRFLOW_LINE, "task failed", {**AIRFLOW_IDS, "state": "success"},
        TargetScope(attributes={"dag_id": ["billing_*"], "run_id": ["*"]}),
    ),
    "airflow_trigger_dag": (
        AIRFLOW_LINE, "task failed", {"dag_id": "{{incident.dag_id}}"},
        TargetScope(attributes={"dag_id": ["billing_*"]}),
    ),
    "spark_resubmit": (
        SPARK_LINE, "executor lost", {"app_id": "{{incident.app_id}}", "executor_memory": "4g"},
        TargetScope(attributes={"app_id": ["application_*"]}),
    ),
}  # fmt: skip


def _entry(action: str, pattern: str, params: dict[str, Any]) -> KnowledgeEntrySpec:
    """An automatic, low-risk entry whose action takes its target from the incident."""
    return KnowledgeEntrySpec(
        key=f"hostile-{action.replace('_', '-')}",
        title=f"hostile {action}",
        patterns=[pattern],
        solution="act on what the incident names",
        action=ActionSpec(name=action, params=params),
        risk=RiskClass.LOW,
        autonomy=AutonomyMode.AUTO,
        successes=20,
    )


def _store_line(engine: Engine, log: Path, line: str, scope: TargetScope | None = None) -> int:
    """Write LINE to LOG, read it through a FileSource with SCOPE, return the incident id."""
    log.write_text(line)
    source = FileSource([str(log)], scope=scope or TargetScope())
    scan_source(engine, source, f"hostile:{log.name}")
    with session_scope(engine) as session:
        (incident,) = list_incidents(session)
        assert incident.id is not None
        return incident.id


def _allowing_everything(tmp_path: Path) -> ExecutorConfig:
    """An executor config that allows every target the hostile lines name."""
    return ExecutorConfig.model_validate(
        {
            "services": {"payments-db": {"backend": "systemctl", "unit": "payments-db"}},
            "cleanup_roots": [str(tmp_path)],
            "http_allowed_prefixes": [{"prefix": "http://127.0.0.1:9/", "methods": ["POST"]}],
            "command_templates": {
                "flush": {"argv": ["true", "{name}"], "params": {"name": {"pattern": ".+"}}}
            },
            "airflow_allowed_dags": ["*"],
        }
    )


@pytest.mark.parametrize("action", sorted(CASES))
def test_a_hostile_line_never_fills_an_action(engine: Engine, tmp_path: Path, action: str) -> None:
    """A line naming a target its source may not speak for escalates; nothing runs."""
    line, pattern, params, _ = CASES[action]
    with session_scope(engine) as session:
        add_entry(session, _entry(action, pattern, params))
    incident_id = _store_line(engine, tmp_path / "watched.log", line)
    service_vars = {"payments-db": {"log_dir": str(tmp_path)}}
    analysis = analyze_incident(engine, incident_id, service_vars)
    assert analysis.entry_key is not None and analysis.action is None
    assert any("their source may not act on them" in p for p in analysis.problems), analysis

    progress = resolve_unattended(
        engine, incident_id, service_vars=service_vars, policy=PolicyConfig(),
        allowed={action}, executors=_allowing_everything(tmp_path), clients={}, secrets=(),
        dry_run=False, notifier=ConsoleOutboxNotifier(tmp_path / "out.jsonl", io.StringIO()),
    )  # fmt: skip
    assert progress.summary is not None and progress.summary["outcome"] == "escalated"
    with session_scope(engine) as session:
        assert session.exec(select(ActionRun)).all() == []


@pytest.mark.parametrize("action", sorted(CASES))
def test_the_same_line_fills_the_action_once_the_source_may_speak_for_it(
    engine: Engine, tmp_path: Path, action: str
) -> None:
    """Control: with the source's scope allowing the value, the action is filled with it."""
    line, pattern, params, scope = CASES[action]
    with session_scope(engine) as session:
        add_entry(session, _entry(action, pattern, params))
    incident_id = _store_line(engine, tmp_path / "watched.log", line, scope)
    analysis = analyze_incident(engine, incident_id, {"payments-db": {"log_dir": str(tmp_path)}})
    assert analysis.action is not None, analysis.problems
    text = str(analysis.action.params)
    named = ("payments-db", "billing_close", "application_17_0001", str(tmp_path))  # log_dir
    assert any(value in text for value in named), text
    assert "{{" not in text


def test_a_parsed_service_only_selects_among_the_listed_ones(
    engine: Engine, tmp_path: Path
) -> None:
    """With services=[api, worker], a line naming worker selects it; payments-db selects nothing."""
    with session_scope(engine) as session:
        add_entry(session, _entry("restart_service", "health check failed", CASES[
            "restart_service"][2]))  # fmt: skip
    scope = TargetScope(services=["api", "worker"])
    log = tmp_path / "watched.log"
    log.write_text(JSON_LINE + JSON_LINE.replace("payments-db", "worker"))
    scan_source(engine, FileSource([str(log)], scope=scope), "hostile:mixed")
    with session_scope(engine) as session:
        by_service = {i.service: i.id for i in list_incidents(session)}
    assert set(by_service) == {"payments-db", "worker"}  # both are shown to people
    worker = analyze_incident(engine, by_service["worker"])
    hostile = analyze_incident(engine, by_service["payments-db"])
    assert worker.action is not None and worker.action.params == {"service": "worker"}
    assert hostile.action is None


def test_a_fixed_service_wins_over_the_one_a_line_names(engine: Engine, tmp_path: Path) -> None:
    """A source with service=api files the hostile line under api: the line cannot redirect it."""
    with session_scope(engine) as session:
        add_entry(session, _entry("restart_service", "health check failed", CASES[
            "restart_service"][2]))  # fmt: skip
    log = tmp_path / "api.log"
    log.write_text(JSON_LINE)
    scan_source(engine, FileSource([str(log)], service="api"), "hostile:fixed")
    with session_scope(engine) as session:
        (incident,) = list_incidents(session)
    assert incident.service == "api" and incident.id is not None
    analysis = analyze_incident(engine, incident.id)
    assert analysis.action is not None and analysis.action.params == {"service": "api"}


def test_the_payments_db_process_is_untouched_by_a_hostile_line(
    engine: Engine, tmp_path: Path
) -> None:
    """The issue's example end to end: a real payments-db process keeps running, unrestarted."""
    command = [sys.executable, "-c", "import time; time.sleep(120)"]
    pidfile = tmp_path / "payments-db.pid"
    pid = local_process.start_detached(command, cwd=None, env={}, log_file=tmp_path / "p.log")
    local_process.write_pid(pidfile, pid)
    try:
        target = ServiceTarget(backend="local", command=command, pidfile=pidfile)
        config = ExecutorConfig(services={"payments-db": target})
        with session_scope(engine) as session:
            add_entry(session, _entry("restart_service", "health check failed", CASES[
                "restart_service"][2]))  # fmt: skip
        incident_id = _store_line(engine, tmp_path / "watched.log", JSON_LINE)
        progress = resolve_unattended(
            engine, incident_id, service_vars={}, policy=PolicyConfig(),
            allowed={"restart_service"}, executors=config, clients={}, secrets=(),
            dry_run=False, notifier=ConsoleOutboxNotifier(tmp_path / "o.jsonl", io.StringIO()),
        )  # fmt: skip
        time.sleep(0.2)
        assert progress.summary is not None and progress.summary["outcome"] == "escalated"
        assert local_process.is_alive(pid) and local_process.read_pid(pidfile) == pid
        with session_scope(engine) as session:
            assert session.exec(select(ActionRun)).all() == []
            (incident,) = list_incidents(session)
            assert incident.status == IncidentStatus.ESCALATED.value
    finally:
        local_process.stop_process(pid, 2)
