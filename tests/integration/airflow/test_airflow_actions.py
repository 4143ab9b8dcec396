"""The Airflow actions and the connection block against a real Airflow 3."""

from __future__ import annotations

import pytest

from blocks.airflow import AirflowConnection
from oncall_agent.errors import ActionRejected, ConfigError
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.integrations.airflow_rest import AirflowRestClient
from oncall_agent.models import ActionStatus
from tests.integration.airflow.helpers import run_reaches, trigger
from tests.integration.airflow.server import AirflowServer

pytestmark = [pytest.mark.airflow, pytest.mark.integration, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def succeeded_run(airflow_api: AirflowRestClient) -> str:
    """A run of oncall_ok that has succeeded."""
    run_id = trigger(airflow_api, "oncall_ok")
    run_reaches(airflow_api, "oncall_ok", run_id, "success")
    return run_id


def _executor(name: str, client: AirflowRestClient):
    """The registry's executor NAME acting through CLIENT on the test DAGs only."""
    config = ExecutorConfig(airflow_allowed_dags=["oncall_*"])
    return build_executor(name, config, clients={"airflow": client})


def test_trigger_starts_a_run_with_its_conf_and_verifies_it_succeeded(
    airflow_api: AirflowRestClient,
) -> None:
    """Triggering oncall_ok starts a run carrying the conf; verification sees it succeed."""
    executor = _executor("airflow_trigger_dag", airflow_api)
    plan = executor.plan({"dag_id": "oncall_ok", "conf": {"reason": "incident 42"}})
    assert executor.run(plan, dry_run=True, timeout_s=30).status is ActionStatus.DRY_RUN
    result = executor.run(plan, dry_run=False, timeout_s=30)
    assert result.status is ActionStatus.SUCCEEDED
    run = airflow_api.get_dag_run("oncall_ok", result.details["run_id"])
    assert run is not None and run.conf == {"reason": "incident 42"}
    verification = executor.verify(plan, result, {"within_s": 120, "interval_s": 0.5})
    assert verification.ok and verification.data["state"] == "success"


def test_clear_refuses_a_task_that_did_not_fail(
    airflow_api: AirflowRestClient, succeeded_run: str
) -> None:
    """Only failed task instances are cleared: a succeeded one is refused before any change."""
    executor = _executor("airflow_clear_task", airflow_api)
    params = {"dag_id": "oncall_ok", "task_id": "succeed", "run_id": succeeded_run}
    with pytest.raises(ActionRejected, match=r"only failed .* \['success'\]"):
        executor.plan(params)
    with pytest.raises(ActionRejected, match="has no task 'nope'"):
        executor.plan(params | {"task_id": "nope"})


def test_mark_refuses_a_run_already_in_that_state(
    airflow_api: AirflowRestClient, succeeded_run: str
) -> None:
    """Marking a succeeded run success is refused; an unknown run is refused too."""
    executor = _executor("airflow_mark_run", airflow_api)
    with pytest.raises(ActionRejected, match="already success"):
        executor.plan({"dag_id": "oncall_ok", "run_id": succeeded_run, "state": "success"})
    with pytest.raises(ActionRejected, match="has no run"):
        executor.plan({"dag_id": "oncall_ok", "run_id": "manual__nope", "state": "failed"})


def test_trigger_refuses_a_dag_airflow_does_not_know(airflow_api: AirflowRestClient) -> None:
    """A DAG id that passes the allow-list but does not exist is refused by the plan."""
    with pytest.raises(ActionRejected, match="Airflow has no DAG 'oncall_missing'"):
        _executor("airflow_trigger_dag", airflow_api).plan({"dag_id": "oncall_missing"})


def test_wrong_password_is_a_configuration_error(airflow_server: AirflowServer) -> None:
    """A connection block with a wrong password fails with a message naming the block."""
    connection = AirflowConnection(
        base_url=airflow_server.base_url, username=airflow_server.username, password="wrong"
    )
    with pytest.raises(ConfigError, match="AirflowConnection block") as caught:
        connection.build_client().get_dag("oncall_ok")
    assert "wrong" not in str(caught.value)


def test_a_token_alone_authenticates(
    airflow_server: AirflowServer, airflow_api: AirflowRestClient
) -> None:
    """A connection holding only a token (no username) reads from the API."""
    airflow_api.get_dag("oncall_ok")  # makes sure the shared client has logged in
    token = airflow_api._config.access_token
    assert token
    connection = AirflowConnection(base_url=airflow_server.base_url, token=token)
    dag = connection.build_client().get_dag("oncall_ok")
    assert dag is not None and not dag.is_paused
