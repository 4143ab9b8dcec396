"""Steps the Airflow tests share: start a run, wait for Airflow to get somewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from oncall_agent.integrations.airflow_client import AirflowClient, AirflowTaskInstance

T = TypeVar("T")
WAIT_S = 120.0


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float = WAIT_S) -> T:
    """PROBE's first non-None answer, polled every half second; fails after TIMEOUT_S."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = probe()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"Airflow did not get there in {timeout_s:g}s: {what}")
        time.sleep(0.5)


def trigger(client: AirflowClient, dag_id: str, conf: dict[str, Any] | None = None) -> str:
    """Start a run of DAG_ID and return its run id."""
    return client.trigger_dag_run(dag_id, conf=conf or {}).run_id


def run_reaches(client: AirflowClient, dag_id: str, run_id: str, *states: str) -> str:
    """Wait until the run is in one of STATES; return that state."""

    def probe() -> str | None:
        run = client.get_dag_run(dag_id, run_id)
        return run.state if run is not None and run.state in states else None

    return wait_for(f"run {run_id} of {dag_id} in {states}", probe)


def task_reaches(
    client: AirflowClient, dag_id: str, run_id: str, task_id: str, state: str
) -> AirflowTaskInstance:
    """Wait until the task's instance in the run is in STATE; return it."""

    def probe() -> AirflowTaskInstance | None:
        tis = client.list_run_task_instances(dag_id, run_id, task_id=task_id)
        return next((ti for ti in tis if ti.state == state), None)

    return wait_for(f"{dag_id}.{task_id} in run {run_id} {state}", probe)
