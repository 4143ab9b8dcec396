"""The Airflow source without Airflow: what it reports, once each, and how its cursor moves."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.engine import Engine

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.errors import SourceError, SourceUnavailable
from oncall_agent.integrations.airflow_client import AirflowLogRecord
from oncall_agent.pipeline import scan_source
from oncall_agent.sources.airflow import AirflowSource
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from tests.unit.airflow_fake import FakeAirflow, at

TIMEOUT_LOG = [
    AirflowLogRecord(event="::group::Pre Execute", timestamp=at(0), level="info"),
    AirflowLogRecord(event="Filling up the DagBag", timestamp=at(1), level="info"),
    AirflowLogRecord(event="Process timed out", timestamp=at(3), level="error"),
    AirflowLogRecord(
        event="Task failed with exception",
        timestamp=at(3),
        level="error",
        error="AirflowTaskTimeout: Timeout, PID: 543",
    ),
]
VALUE_LOG = [
    AirflowLogRecord(
        event="Task failed with exception",
        timestamp=at(3),
        level="error",
        error="ValueError: upstream table oncall.orders is empty",
    )
]


def _source(fake: FakeAirflow, **kwargs) -> AirflowSource:
    """A source over FAKE whose clock stands ten minutes after T0."""
    return AirflowSource(fake, clock=lambda: at(600), **kwargs)


def test_failed_and_retrying_tasks_become_events_the_default_patterns_classify() -> None:
    """Each failed or up-for-retry try is one event: ids, log excerpt, and an airflow alert."""
    fake = FakeAirflow()
    fake.add_ti("etl", "manual__2026-11-27T03:00:00+00:00", "load", "failed", 10, log=TIMEOUT_LOG)
    fake.add_ti("etl", "scheduled__1", "extract", "up_for_retry", 20, log=VALUE_LOG)
    fake.add_ti("etl", "scheduled__1", "publish", "success", 30)
    batch = _source(fake).read({})

    failed, retrying = batch.events
    assert failed.service == "etl" and failed.source == "airflow" and failed.level == "error"
    assert failed.message == (
        "Airflow task etl.load in run manual__2026-11-27T03:00:00+00:00, try 1: "
        "Marking task as FAILED. Task failed with exception: AirflowTaskTimeout: Timeout, PID: 543"
    )
    assert failed.attributes["run_id"] == "manual__2026-11-27T03:00:00+00:00"
    assert failed.attributes["try_number"] == "1" and failed.attributes["task_id"] == "load"
    assert "Pre Execute" not in failed.attributes["log_excerpt"]
    assert failed.attributes["log_excerpt"].endswith("AirflowTaskTimeout: Timeout, PID: 543")
    assert retrying.level == "warning" and "Marking task as UP_FOR_RETRY" in retrying.message
    detector = Detector(default_pattern_set())
    detections = [detector.detect(e) for e in batch.events]
    assert [(d.pattern, d.category) for d in detections if d] == [
        ("airflow-task-timeout", "airflow"), ("airflow-task-failed", "airflow")
    ]  # fmt: skip
    assert batch.stats.task_instances == 2


def test_a_second_read_reports_nothing_and_keeps_the_cursor() -> None:
    """What was reported is not reported again, and the cursor does not move without news."""
    fake = FakeAirflow()
    fake.add_ti("etl", "r1", "load", "failed", 10)
    source = _source(fake)
    first = source.read({})
    second = source.read(first.cursor)
    assert len(first.events) == 1 and second.events == [] and second.cursor == first.cursor
    assert second.stats.already_seen == 1


def test_a_late_committed_failure_inside_the_look_back_is_reported_once() -> None:
    """A failure that ended before the newest one seen, but shows up later, is still reported."""
    fake = FakeAirflow()
    fake.add_ti("etl", "r2", "load", "failed", 100)
    source = _source(fake, lookback_s=60)
    first = source.read({})
    fake.add_ti("etl", "r1", "load", "failed", 70)  # ended 30 s earlier, visible only now
    second = source.read(first.cursor)
    assert [e.attributes["run_id"] for e in second.events] == ["r1"]
    assert source.read(second.cursor).events == []


def test_a_task_failing_again_after_a_clear_is_a_new_try() -> None:
    """The same task failing on its next try is reported again (a new try number)."""
    fake = FakeAirflow()
    fake.add_ti("etl", "r1", "load", "failed", 10, try_number=1)
    source = _source(fake)
    first = source.read({})
    fake.tis.clear()
    fake.add_ti("etl", "r1", "load", "failed", 50, try_number=2)
    assert [e.attributes["try_number"] for e in source.read(first.cursor).events] == ["2"]


def test_more_failures_than_one_read_takes_are_read_over_several_reads() -> None:
    """A read cut short by its page limit resumes where it stopped: all reported, none twice."""
    fake = FakeAirflow()
    for i in range(7):
        fake.add_ti("etl", f"r{i}", "load", "failed", 10 + i)
    source = _source(fake, page_size=2, max_pages=1)
    cursor: dict = {}
    runs: list[str] = []
    for _ in range(10):
        batch = source.read(cursor)
        runs += [e.attributes["run_id"] for e in batch.events]
        if not batch.events and batch.cursor == cursor:
            break
        cursor = batch.cursor
    assert runs == [f"r{i}" for i in range(7)]


def test_a_failed_run_is_reported_only_when_no_task_of_it_failed() -> None:
    """A run failed by a failed task is that task's incident; a run failed otherwise is its own."""
    fake = FakeAirflow()
    fake.add_ti("etl", "r1", "load", "failed", 10)
    fake.add_run("etl", "r1", "failed", 11)
    fake.add_ti("etl", "r2", "load", "skipped", 20)
    fake.add_run("etl", "r2", "failed", 21)
    batch = _source(fake).read({})
    messages = [e.message for e in batch.events]
    assert len(messages) == 2 and messages[1].startswith("Airflow DagRun etl r2 failed")
    assert batch.stats.dag_runs == 1 and batch.stats.runs_with_failed_tasks == 1
    detection = Detector(default_pattern_set()).detect(batch.events[1])
    assert detection is not None and detection.pattern == "airflow-task-failed"


def test_only_the_dags_matching_the_globs_are_reported() -> None:
    """dag_ids globs limit what is reported."""
    fake = FakeAirflow()
    fake.add_ti("sales_daily", "r1", "load", "failed", 10)
    fake.add_ti("hr_weekly", "r1", "load", "failed", 11)
    batch = _source(fake, dag_ids=["sales_*"]).read({})
    assert [e.service for e in batch.events] == ["sales_daily"]


def test_a_failure_whose_log_cannot_be_read_is_still_reported() -> None:
    """The log is a bonus: without it the event is reported and says why the excerpt is missing."""
    fake = FakeAirflow()
    fake.add_ti("etl", "r1", "load", "failed", 10)
    fake.log_error = SourceError("log server gone")
    batch = _source(fake).read({})
    [event] = batch.events
    assert event.attributes["log_excerpt"] == "(log not available: log server gone)"
    assert event.message.endswith("Marking task as FAILED.") and batch.stats.logs_unavailable == 1


def test_an_unreachable_airflow_fails_the_read_without_moving_anything() -> None:
    """An Airflow that does not answer raises; there is no batch, so no cursor to save."""

    class Down(FakeAirflow):
        def list_task_instances(self, **kwargs):
            raise SourceUnavailable("Airflow at http://airflow.test did not answer")

    with pytest.raises(SourceUnavailable):
        _source(Down()).read({})


def test_an_unreadable_cursor_names_the_part_to_reset() -> None:
    """A corrupted stored cursor is refused with a message saying how to start again."""
    with pytest.raises(SourceError, match="'task_instances' part is not readable"):
        _source(FakeAirflow()).read({"task_instances": {"since": "yesterday"}})


def test_the_first_read_looks_back_only_the_initial_window() -> None:
    """Failures older than the initial window are not reported on the very first read."""
    fake = FakeAirflow()
    fake.add_ti("etl", "old", "load", "failed", -4000)
    fake.add_ti("etl", "new", "load", "failed", 10)
    batch = _source(fake, initial_window_s=3600, lookback_s=0).read({})
    assert [e.attributes["run_id"] for e in batch.events] == ["new"]
    assert datetime.fromisoformat(batch.cursor["task_instances"]["since"]) == at(10)


def test_repeated_failures_of_a_task_are_one_incident_with_the_newest_ids(
    sqlite_engine: Engine,
) -> None:
    """A task failing the same way in the next run adds to its incident, whose ids become the
    latest run's (the one an action should clear)."""
    fake = FakeAirflow()
    source = _source(fake)
    fake.add_ti("etl", "scheduled__2026-11-26T03:00:00+00:00", "load", "failed", 10, log=VALUE_LOG)
    first = scan_source(sqlite_engine, source, "airflow-source:test")  # type: ignore[arg-type]
    fake.add_ti("etl", "scheduled__2026-11-27T03:00:00+00:00", "load", "failed", 20, log=VALUE_LOG)
    second = scan_source(sqlite_engine, source, "airflow-source:test")  # type: ignore[arg-type]
    assert [c.kind for c in first.changes + second.changes] == ["opened", "updated"]
    with session_scope(sqlite_engine) as session:
        incident = get_incident(session, first.changes[0].incident_id)
        assert incident.occurrences == 2 and incident.category == "airflow"
        assert incident.attributes is not None
        assert incident.attributes["run_id"] == "scheduled__2026-11-27T03:00:00+00:00"
