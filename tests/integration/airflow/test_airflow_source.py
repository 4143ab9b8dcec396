"""The Airflow source and the mark-run action against a real Airflow 3."""

from __future__ import annotations

import pytest

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.integrations.airflow_rest import AirflowRestClient
from oncall_agent.models import ActionStatus
from oncall_agent.sources.airflow import AirflowSource
from tests.integration.airflow.helpers import run_reaches, task_reaches, trigger

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(1500)]
DAG = "oncall_retry"


def test_retry_then_a_run_marked_failed_are_each_reported_once(
    airflow_api: AirflowRestClient,
) -> None:
    """A task awaiting its retry is reported with its error; marking the run failed (dry run
    first) reports the run on the next read; a read after that reports nothing."""
    run_id = trigger(airflow_api, DAG)
    task_reaches(airflow_api, DAG, run_id, "always_fails", "up_for_retry")
    source = AirflowSource(airflow_api, dag_ids=[DAG])

    first = source.read({})
    [event] = [e for e in first.events if e.attributes["run_id"] == run_id]
    assert event.service == DAG and event.level == "warning"
    assert "Marking task as UP_FOR_RETRY" in event.message
    assert "ValueError: upstream table oncall.orders is empty" in event.message
    assert event.attributes["try_number"] == "1" and event.attributes["task_id"] == "always_fails"
    detection = Detector(default_pattern_set()).detect(event)
    assert detection is not None and detection.category == "airflow"

    executor = build_executor(
        "airflow_mark_run",
        ExecutorConfig(airflow_allowed_dags=["oncall_*"]),
        clients={"airflow": airflow_api},
    )
    plan = executor.plan({"dag_id": DAG, "run_id": run_id, "state": "failed"})
    preview = executor.run(plan, dry_run=True, timeout_s=30)
    assert (
        preview.status is ActionStatus.DRY_RUN and "always_fails (up_for_retry)" in preview.output
    )
    assert run_reaches(airflow_api, DAG, run_id, "running") == "running"
    result = executor.run(plan, dry_run=False, timeout_s=30)
    assert result.status is ActionStatus.SUCCEEDED, result.output
    assert executor.verify(plan, result, {"within_s": 30}).ok

    second = source.read(first.cursor)
    assert [(e.attributes["run_id"], "DagRun" in e.message) for e in second.events] == [
        (run_id, True)
    ]
    assert Detector(default_pattern_set()).detect(second.events[0]) is not None
    third = source.read(second.cursor)
    assert third.events == [] and third.cursor == second.cursor
