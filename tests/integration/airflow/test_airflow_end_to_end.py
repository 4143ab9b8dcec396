"""End to end against a real Airflow 3: a task fails; the agent detects, asks, clears, verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from blocks.airflow import AirflowConnection, AirflowFailureSource
from oncall_agent.approval_judge import judge_answer
from oncall_agent.approvals import ApprovalAnswer, request_approval
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor, configured_actions
from oncall_agent.integrations.airflow_rest import AirflowRestClient
from oncall_agent.models import ActionStatus, Decision, IncidentStatus
from oncall_agent.pipeline import scan_source
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.resolution.decision import decide_incident
from oncall_agent.resolution.recording import record_action_outcome
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.knowledge import seed_defaults
from oncall_agent.store.tables import ActionRun
from tests.integration.airflow.helpers import run_reaches, task_reaches, trigger
from tests.integration.airflow.server import AirflowServer

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(1500)]
DAG = "oncall_marker"


def _connection(server: AirflowServer) -> AirflowConnection:
    """The connection block a user would save for this Airflow."""
    return AirflowConnection(
        base_url=server.base_url, username=server.username, password=server.password, timeout=30
    )


def test_failed_task_is_detected_then_cleared_after_approval_and_its_run_succeeds(
    engine: Engine, airflow_server: AirflowServer, airflow_api: AirflowRestClient, tmp_path: Path
) -> None:
    """A task timing out for a missing file opens one incident; once the file exists, the
    approved clear (dry run first) reruns it and verification sees the run succeed."""
    marker = tmp_path / "orders.ready"
    run_id = trigger(airflow_api, DAG, {"marker": str(marker)})
    run_reaches(airflow_api, DAG, run_id, "failed")
    with session_scope(engine) as session:
        seed_defaults(session)
    connection = _connection(airflow_server)
    source = AirflowFailureSource(connection=connection, dag_ids=[DAG]).build()

    report = scan_source(engine, source, "airflow-source:test")  # type: ignore[arg-type]
    assert [c.kind for c in report.changes] == ["opened"]
    incident_id = report.changes[0].incident_id
    with session_scope(engine) as session:
        incident = get_incident(session, incident_id)
        assert (incident.service, incident.category, incident.source) == (DAG, "airflow", "airflow")
        assert incident.attributes is not None
        ids = {k: incident.attributes[k] for k in ("dag_id", "task_id", "run_id", "try_number")}
        assert ids == {"dag_id": DAG, "task_id": "wait_for_marker", "run_id": run_id,
                       "try_number": "1"}  # fmt: skip
        assert "AirflowTaskTimeout" in incident.attributes["log_excerpt"]
        assert "AirflowTaskTimeout" in (incident.samples or [""])[0]
    again = scan_source(engine, source, "airflow-source:test")  # type: ignore[arg-type]
    assert again.changes == []  # nothing new

    analysis = analyze_incident(engine, incident_id)
    assert analysis.entry_key == "airflow-task-timeout" and analysis.action is not None
    assert analysis.action.name == "airflow_clear_task"
    assert analysis.action.params == {"dag_id": DAG, "task_id": "wait_for_marker", "run_id": run_id}
    client = connection.build_client()
    config = ExecutorConfig(airflow_allowed_dags=["oncall_*"])
    policy = PolicyConfig(trust_local_approver=True)  # this test is about Airflow, not codes
    allowed = configured_actions(config, {"airflow": client})
    decision = decide_incident(engine, analysis, policy, allowed)
    assert decision.decision is Decision.ASK_APPROVAL, decision.reasons
    executor = build_executor(analysis.action.name, config, clients={"airflow": client})

    preview = execute_action(engine, analysis, executor, dry_run=True)
    assert preview.status is ActionStatus.DRY_RUN
    assert (
        "wait_for_marker (failed)" in preview.output
        and "publish (upstream_failed)" in preview.output
    )
    task_reaches(
        airflow_api, DAG, run_id, "wait_for_marker", "failed"
    )  # the dry run changed nothing
    narrow = executor.plan(analysis.action.params | {"include_downstream": False})
    only = executor.run(narrow, dry_run=True, timeout_s=30)
    assert only.details["would_clear"] == ["wait_for_marker (failed)"]

    approval = request_approval(engine, analysis, policy)
    assert approval.id is not None
    marker.write_text("orders landed\n")  # the person approving first removes the cause
    verdict = judge_answer(
        engine, approval.id, ApprovalAnswer(decision="approve", approver="oncall-engineer"), policy
    )
    assert verdict.approved, verdict.reasons
    outcome = execute_action(
        engine, analysis, executor, triggered_by=verdict.approver, approval_id=approval.id
    )
    assert outcome.status is ActionStatus.SUCCEEDED and outcome.verified, outcome.verification
    assert "success" in outcome.verification
    assert record_action_outcome(engine, analysis, outcome)

    assert run_reaches(airflow_api, DAG, run_id, "success", "failed") == "success"
    with session_scope(engine) as session:
        assert get_incident(session, incident_id).status == IncidentStatus.RESOLVED
        runs = session.exec(select(ActionRun).where(ActionRun.dry_run == False)).all()  # noqa: E712
        assert [(r.action, r.status, r.verified) for r in runs] == [
            ("airflow_clear_task", "succeeded", True)
        ]
