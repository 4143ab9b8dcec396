"""Against a real Spark: an application that runs out of memory is detected and resubmitted.

pyspark's bundled Spark in local mode writes event logs that a real History Server (started by
the fixture) serves; the agent reads the failure from both the History Server and the driver
log, refuses the knowledge base's 8g (above the connection's maximum), and resubmits with 1g,
which succeeds; verification finds the new application in the History Server.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine

from blocks.spark import SparkConnection
from oncall_agent.errors import ActionRejected
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.integrations.spark_client import SparkJob
from oncall_agent.integrations.spark_rest import HistoryServerClient
from oncall_agent.models import ActionStatus
from oncall_agent.pipeline import scan_source
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.sources.files import FileSource
from oncall_agent.sources.spark import SparkDriverLogSource, SparkHistorySource
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import list_incidents
from oncall_agent.store.knowledge import seed_defaults
from tests.integration.spark.conftest import SparkRuntime
from tests.integration.spark.spark_setup import JOB, event_log_conf, spark_env, submit

pytestmark = [pytest.mark.integration, pytest.mark.slow]
APP = "nightly-aggregation"
LISTED_WITHIN_S = 60.0


def _connection(runtime: SparkRuntime) -> SparkConnection:
    """The block a user would save: local master, at most 1g, the job allow-listed."""
    job = SparkJob(main=str(JOB), args=["160"], conf=event_log_conf(runtime.event_dir))
    return SparkConnection(
        history_server_url=runtime.history_url, master="local[1]", max_executor_memory="1g",
        max_driver_memory="1g", jobs={APP: job}, env=spark_env(),
    )  # fmt: skip


def _wait_for_failure(source: SparkHistorySource) -> list:
    """The source's events once the History Server lists the failed application."""
    deadline = time.monotonic() + LISTED_WITHIN_S
    while time.monotonic() < deadline:
        events = source.read({}).events
        if events:
            return events
        time.sleep(1)
    raise AssertionError("the History Server never listed the failed application")


@pytest.mark.timeout(480)  # two Spark applications on a loaded 2-core machine, at worst
def test_an_out_of_memory_application_is_detected_and_resubmitted_with_more_memory(
    spark_runtime: SparkRuntime, sqlite_engine: Engine
) -> None:
    """512m fails with OutOfMemoryError; the agent sees it, refuses 8g, resubmits 1g: success."""
    driver_log = spark_runtime.work_dir / "driver.log"
    exit_code = submit(spark_runtime.home, APP, "512m", spark_runtime.event_dir, driver_log)
    history = SparkHistorySource(HistoryServerClient(spark_runtime.history_url))
    events = _wait_for_failure(history)
    failed_id = events[0].attributes["app_id"]
    log_events = SparkDriverLogSource(FileSource([str(driver_log)])).read({}).events
    oom_lines = [e for e in log_events if "OutOfMemoryError" in e.message]

    with session_scope(sqlite_engine) as session:
        seed_defaults(session)
    scan_source(sqlite_engine, history, "spark-history")  # type: ignore[arg-type]
    with session_scope(sqlite_engine) as session:
        incident_id = list_incidents(session)[0].id
    analysis = analyze_incident(sqlite_engine, incident_id)
    clients = {"spark": _connection(spark_runtime).build_client()}
    executor = build_executor("spark_resubmit", ExecutorConfig(), clients=clients)
    with pytest.raises(ActionRejected, match="above the SparkConnection's maximum 1g"):
        executor.plan(analysis.action.params)
    params = {"app_id": failed_id, "executor_memory": "1g"}  # as a person adjusted it
    analysis.action = analysis.action.model_copy(
        update={"params": params, "timeout_s": 150, "verify": {"within_s": 60}}
    )
    outcome = execute_action(sqlite_engine, analysis, executor)

    assert exit_code != 0
    assert "OutOfMemoryError" in events[0].message and events[0].service == APP
    assert oom_lines and all(e.attributes.get("app_id") == failed_id for e in oom_lines)
    assert analysis.entry_key == "spark-executor-oom"
    assert outcome.status is ActionStatus.SUCCEEDED, outcome.output[-2000:]
    assert outcome.verified is True, outcome.verification
    assert "new application" in outcome.verification and failed_id not in outcome.verification
