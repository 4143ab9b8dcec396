"""DAGs the Airflow integration tests run (parsed by the real Airflow the tests start).

- oncall_marker: `wait_for_marker` hangs until its 2 s execution_timeout (AirflowTaskTimeout)
  unless the file named by the run's conf["marker"] exists: the "cause" a person removes.
- oncall_retry: `always_fails` raises, and waits an hour before its one retry: it stays
  up_for_retry for as long as a test needs.
- oncall_ok: one task that succeeds at once.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

START = datetime(2024, 1, 1)


@dag(dag_id="oncall_marker", schedule=None, start_date=START, catchup=False)
def oncall_marker() -> None:
    """Fails (timeout) until the marker file of the run exists."""

    @task(execution_timeout=timedelta(seconds=2), retries=0)
    def wait_for_marker() -> str:
        marker = get_current_context()["dag_run"].conf.get("marker", "")
        if marker and os.path.exists(marker):
            return "marker found"
        time.sleep(60)  # the upstream file never came: hang until execution_timeout fires
        return "unreachable"

    @task
    def publish() -> str:
        return "published"

    wait_for_marker() >> publish()


@dag(dag_id="oncall_retry", schedule=None, start_date=START, catchup=False)
def oncall_retry() -> None:
    """Fails its first try and waits an hour before retrying."""

    @task(retries=1, retry_delay=timedelta(hours=1))
    def always_fails() -> None:
        raise ValueError("upstream table oncall.orders is empty")

    always_fails()


@dag(dag_id="oncall_ok", schedule=None, start_date=START, catchup=False)
def oncall_ok() -> None:
    """Succeeds at once."""

    @task
    def succeed() -> str:
        return "ok"

    succeed()


oncall_marker()
oncall_retry()
oncall_ok()
