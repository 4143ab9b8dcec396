"""spark_resubmit's guards and argv, with a stand-in History Server and spark-submit (no JVM).

The stand-in spark-submit is a real executable that records its argv, so these tests see exactly
what would reach Spark; the History Server stand-in answers from memory.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from oncall_agent.errors import ActionRejected
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.spark import MARKER, SparkResubmitExecutor
from oncall_agent.integrations.spark_client import (
    LostExecutor,
    SparkApp,
    SparkClient,
    SparkJob,
    SparkSubmitSettings,
    StageFailure,
)
from oncall_agent.models import ActionStatus
from oncall_agent.sources.spark import SparkHistorySource

FAILED = SparkApp(
    app_id="application_1700000000000_0042", name="etl", start_ms=1, end_ms=2, completed=True
)


class History:
    """A History Server that knows FAILED, and the app a recorded submission would become."""

    def __init__(self, record: Path) -> None:
        self.record = record
        self.failed_job_ids: list[int] = []

    def completed_apps(self, min_end_ms: int) -> list[SparkApp]:
        """FAILED, plus the resubmitted application once spark-submit has run."""
        apps = [FAILED]
        if self.record.exists():
            apps.append(
                SparkApp(
                    app_id="application_1700000000000_0043",
                    name="etl",
                    start_ms=min_end_ms,
                    end_ms=min_end_ms + 5,
                    completed=True,
                )
            )
        return [a for a in apps if (a.end_ms or 0) >= min_end_ms]

    def app(self, app_id: str) -> SparkApp | None:
        """FAILED by id."""
        return FAILED if app_id == FAILED.app_id else None

    def failed_stages(self, app_id: str) -> list[StageFailure]:
        """One stage lost to an executor that ran out of memory."""
        reason = "Job aborted: ExecutorLostFailure (executor 3 exited) Reason: exited with code 52"
        return (
            [StageFailure(stage_id=4, name="save", reason=reason)]
            if app_id == FAILED.app_id
            else []
        )

    def failed_jobs(self, app_id: str) -> list[int]:
        """The configured failed jobs of the new application."""
        return self.failed_job_ids if app_id != FAILED.app_id else [0]

    def lost_executors(self, app_id: str) -> list[LostExecutor]:
        """One executor killed by YARN."""
        reason = "Container killed by YARN for exceeding physical memory limits; exit code 137"
        return [LostExecutor(executor_id="3", host="worker-7", reason=reason)]

    def spark_properties(self, app_id: str) -> dict[str, str]:
        """The marker conf the recorded spark-submit was given."""
        argv = json.loads(self.record.read_text())
        confs = [argv[i + 1] for i, a in enumerate(argv) if a == "--conf"]
        return dict(c.split("=", 1) for c in confs)


@pytest.fixture
def spark(tmp_path: Path) -> tuple[SparkResubmitExecutor, History, Path]:
    """An executor over a recording spark-submit, yarn cluster mode, at most 8g / 4g / 2g."""
    record = tmp_path / "argv.json"
    fake = tmp_path / "spark-submit"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    job = SparkJob(
        main="s3a://jobs/etl.jar",
        main_class="com.example.Etl",
        args=["--date", "2024-05-01"],
        conf={"spark.sql.shuffle.partitions": "400"},
    )
    settings = SparkSubmitSettings(
        spark_submit=str(fake),
        master="yarn",
        deploy_mode="cluster",
        max_executor_memory="8g",
        max_driver_memory="4g",
        max_memory_overhead="2g",
        jobs={"etl": job},
    )
    history = History(record)
    executor = SparkResubmitExecutor(ExecutorConfig(), SparkClient(history, settings))
    return executor, history, record


def test_the_argv_is_exactly_the_allow_listed_job_with_the_new_memory(spark) -> None:
    """The plan's argv: the configured job, the bounded memory flags, no shell anywhere."""
    executor, _, _ = spark
    plan = executor.plan(
        {"app_id": FAILED.app_id, "executor_memory": "8G", "executor_memory_overhead": "2g"}
    )
    assert plan.argv[1:] == [
        "--master",
        "yarn",
        "--deploy-mode",
        "cluster",
        "--name",
        "etl",
        "--conf",
        "spark.sql.shuffle.partitions=400",
        "--conf",
        f"spark.oncall.resubmitted_from={FAILED.app_id}",
        "--executor-memory",
        "8g",
        "--conf",
        "spark.executor.memoryOverhead=2g",
        "--class",
        "com.example.Etl",
        "s3a://jobs/etl.jar",
        "--date",
        "2024-05-01",
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"app_id": FAILED.app_id, "executor_memory": "16g"},
            "above the SparkConnection's maximum 8g",
        ),
        ({"app_id": FAILED.app_id, "driver_memory": "5g"}, "maximum 4g"),
        ({"app_id": FAILED.app_id, "executor_memory_overhead": "3g"}, "maximum 2g"),
        ({"app_id": FAILED.app_id, "executor_memory": "4g; touch /tmp/x"}, "not a memory size"),
        ({"app_id": FAILED.app_id, "executor_memory": "-4g"}, "not a memory size"),
        ({"app_id": FAILED.app_id, "executor_memory": "4g\n"}, "not a memory size"),
        ({"app_id": FAILED.app_id, "executor_memory": "1.5g"}, "not a memory size"),
        ({"app_id": FAILED.app_id, "executor_memory": 4096}, "not a memory size"),
        ({"app_id": FAILED.app_id}, "at least one of"),
        ({"app_id": "../../etc", "executor_memory": "4g"}, "is not an app id"),
        ({"app_id": "-x", "executor_memory": "4g"}, "is not an app id"),
        ({"app_id": "application_1_2", "executor_memory": "4g"}, "does not know"),
        (
            {"app_id": FAILED.app_id, "executor_memory": "4g", "main": "/bin/sh"},
            "unknown parameter",
        ),
    ],
)
def test_requests_outside_the_connection_are_refused(spark, params: dict, message: str) -> None:
    """Memory above a maximum, malformed sizes or ids, unknown apps or keys: refused, not run."""
    executor, _, record = spark
    with pytest.raises(ActionRejected, match=message):
        executor.plan(params)
    assert not record.exists()


def test_an_application_that_is_not_an_allowed_job_is_refused(spark) -> None:
    """A known application whose name is not among the connection's jobs cannot be resubmitted."""
    executor, _, _ = spark
    executor.client.submit.jobs.clear()
    with pytest.raises(ActionRejected, match="is not one of the SparkConnection's jobs"):
        executor.plan({"app_id": FAILED.app_id, "executor_memory": "4g"})


def test_local_master_gives_the_executor_memory_to_the_driver(spark) -> None:
    """With a local master the executors share the driver's heap: --driver-memory gets it."""
    executor, _, _ = spark
    executor.client.submit.master = "local[2]"
    plan = executor.plan({"app_id": FAILED.app_id, "executor_memory": "4g"})
    assert "--driver-memory" in plan.argv and "--executor-memory" not in plan.argv
    with pytest.raises(ActionRejected, match="maximum 4g"):
        executor.plan({"app_id": FAILED.app_id, "executor_memory": "6g"})  # above the driver's


def test_a_run_submits_the_plan_and_verification_finds_the_new_application(spark) -> None:
    """spark-submit gets the planned argv plus a marker; verify finds that app, no failed job."""
    executor, history, record = spark
    plan = executor.plan({"app_id": FAILED.app_id, "executor_memory": "4g"})
    dry = executor.run(plan, dry_run=True, timeout_s=30)
    dry_submitted = record.exists()
    result = executor.run(plan, dry_run=False, timeout_s=30)
    submitted = json.loads(record.read_text())
    verification = executor.verify(plan, result, {"within_s": 5})
    history.failed_job_ids = [1]
    failed_again = executor.verify(plan, result, {"within_s": 5})
    assert dry.status is ActionStatus.DRY_RUN and not dry_submitted
    assert result.status is ActionStatus.SUCCEEDED
    assert submitted == ["--conf", f"{MARKER}={result.details['marker']}", *plan.argv[1:]]
    assert verification.ok and "application_1700000000000_0043" in verification.detail
    assert not failed_again.ok and "failed job(s) [1]" in failed_again.detail


def test_the_history_source_reports_failed_stages_and_lost_executors_once(spark) -> None:
    """A failed application gives a stage event and an executor event with its app_id, once."""
    _, history, _ = spark
    source = SparkHistorySource(history, look_back_s=60, clock=lambda: 0.0)
    first = source.read({})
    again = source.read(first.cursor)
    messages = [e.message for e in first.events]
    assert all(e.attributes["app_id"] == FAILED.app_id for e in first.events)
    assert "exit code 52: java.lang.OutOfMemoryError in the executor" in messages[0]
    assert "Lost executor 3 on worker-7" in messages[1] and "exit code 137" in messages[1]
    assert again.events == [] and again.cursor == first.cursor
