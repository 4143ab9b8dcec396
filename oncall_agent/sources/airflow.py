"""Failed Airflow work as log events: failed and up-for-retry task instances, failed DAG runs.

Each read asks the Airflow API for task instances (and runs) that ended since the cursor, minus a
look-back window: a failure whose row was committed late, after a newer one was already seen,
still falls inside the window. The cursor remembers what it has reported inside that window, so
the overlap never reports anything twice. The caller saves the cursor only after storing the
events (at-least-once). Reported, one event each:
- a task instance in state failed or up_for_retry (key: dag, run, task, map index, try, state),
  with the tail of that try's log fetched through the API; a task instance Airflow already
  retried before a read saw it is reported by the state its retry ends in;
- a failed run none of whose task instances failed (run timeout, marked failed): a run failed
  by a failed task is that task's incident already, so it does not open a second one.
Messages are worded so the default alert patterns classify them (category "airflow").
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from oncall_agent.errors import SourceError
from oncall_agent.integrations.airflow_client import (
    AirflowClient,
    AirflowDagRun,
    AirflowTaskInstance,
)
from oncall_agent.models import LogEvent
from oncall_agent.sources.airflow_logs import airflow_log_excerpt
from oncall_agent.sources.airflow_window import SeenWindow

SOURCE = "airflow"
TASK_STATES = ("failed", "up_for_retry")
RUN_STATES = ("failed",)


@dataclass
class AirflowReadStats:
    """What one read did, for the run's report."""

    task_instances: int = 0  # new failed / up-for-retry task instances reported
    dag_runs: int = 0  # failed runs reported on their own
    runs_with_failed_tasks: int = 0  # failed runs left to their failed task's incident
    already_seen: int = 0  # returned again inside the look-back window, not reported again
    logs_unavailable: int = 0  # reported without a log excerpt (the API could not give it)
    truncated: int = 0  # 1 if more matched than one read takes: the next read goes on


@dataclass
class AirflowBatch:
    """Events read, the cursor to save once they are stored, and what happened."""

    events: list[LogEvent]
    cursor: dict[str, Any]
    stats: AirflowReadStats = field(default_factory=AirflowReadStats)


def _utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class AirflowSource:
    """Reads failed Airflow work from the REST API, from a persisted cursor."""

    def __init__(
        self,
        client: AirflowClient,
        *,
        dag_ids: Sequence[str] = (),
        lookback_s: float = 300.0,
        initial_window_s: float = 3600.0,
        log_lines: int = 20,
        log_chars: int = 2000,
        page_size: int = 100,
        max_pages: int = 20,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """Report failures of the DAGs matching DAG_IDS (globs; empty: every DAG)."""
        self.client = client
        self.dag_ids = tuple(dag_ids)
        self.lookback = timedelta(seconds=lookback_s)
        self.initial_window = timedelta(seconds=initial_window_s)
        self.log_lines, self.log_chars = log_lines, log_chars
        self.page_size, self.max_pages = page_size, max_pages
        self.clock = clock

    def read(self, cursor: dict[str, Any], selector: Any = None) -> AirflowBatch:
        """Failures that ended since CURSOR and were not reported yet, oldest first.

        SELECTOR (the file source's line pre-filter) is accepted and unused: every event here
        is a failure already, and there are few of them.
        """
        start = self.clock() - self.initial_window
        tasks = SeenWindow.load(cursor.get("task_instances"), start, what="task_instances")
        runs = SeenWindow.load(cursor.get("dag_runs"), start, what="dag_runs")
        batch = AirflowBatch(events=[], cursor={})
        batch.events += self._read_task_instances(tasks, batch.stats)
        batch.events += self._read_runs(runs, batch.stats)
        batch.events.sort(key=lambda e: e.timestamp or start)
        batch.cursor = {"version": 1, "task_instances": tasks.dump(), "dag_runs": runs.dump()}
        return batch

    def _read_task_instances(self, window: SeenWindow, stats: AirflowReadStats) -> list[LogEvent]:
        """Events for the task instances that failed (or await a retry) since WINDOW."""
        since = window.query_from(self.lookback)
        found, truncated = self._pages(self.client.list_task_instances, TASK_STATES, since)
        items = sorted((t for t in found if t.end_date and t.end_date >= since), key=_ended)
        events = []
        for ti in items:
            if window.saw(_key(ti)):
                stats.already_seen += 1
            elif self._wanted(ti.dag_id):
                events.append(self._task_event(ti, stats))
                stats.task_instances += 1
        window.advance([(_key(ti), _ended(ti)) for ti in items], self.lookback, truncated)
        stats.truncated |= int(truncated)
        return events

    def _read_runs(self, window: SeenWindow, stats: AirflowReadStats) -> list[LogEvent]:
        """Events for the runs that failed since WINDOW without a failed task instance."""
        since = window.query_from(self.lookback)
        found, truncated = self._pages(self.client.list_dag_runs, RUN_STATES, since)
        runs = sorted((r for r in found if r.end_date and r.end_date >= since), key=_ended)
        events = []
        for run in runs:
            if window.saw(_run_key(run)):
                stats.already_seen += 1
            elif self._wanted(run.dag_id):
                if self._has_failed_task(run):
                    stats.runs_with_failed_tasks += 1
                else:
                    events.append(_run_event(run))
                    stats.dag_runs += 1
        window.advance([(_run_key(r), _ended(r)) for r in runs], self.lookback, truncated)
        stats.truncated |= int(truncated)
        return events

    def _pages(
        self, list_page: Callable[..., list[Any]], states: Sequence[str], since: datetime
    ) -> tuple[list[Any], bool]:
        """Every item of LIST_PAGE ended since SINCE, up to max_pages; True if cut short."""
        items: list[Any] = []
        for page in range(self.max_pages):
            chunk = list_page(
                states=states, ended_since=since, limit=self.page_size,
                offset=page * self.page_size,
            )  # fmt: skip
            items += chunk
            if len(chunk) < self.page_size:
                return items, False
        return items, True

    def _wanted(self, dag_id: str) -> bool:
        """Whether DAG_ID is one this source reports."""
        return not self.dag_ids or any(fnmatch.fnmatchcase(dag_id, p) for p in self.dag_ids)

    def _has_failed_task(self, run: AirflowDagRun) -> bool:
        """Whether a task instance of RUN failed (its own event reports the failure)."""
        tis = self.client.list_run_task_instances(run.dag_id, run.run_id)
        return any(ti.state == "failed" for ti in tis)

    def _task_event(self, ti: AirflowTaskInstance, stats: AirflowReadStats) -> LogEvent:
        """The event for one failed (or up-for-retry) try, with the tail of its log."""
        try:
            records = self.client.task_log(ti, try_number=ti.try_number)
        except SourceError as exc:
            stats.logs_unavailable += 1
            summary, excerpt = "", f"(log not available: {exc})"
        else:
            summary, excerpt = airflow_log_excerpt(records, self.log_lines, self.log_chars)
        state = (ti.state or "failed").upper()
        message = (
            f"Airflow task {ti.label} in run {ti.run_id}, try {ti.try_number}: "
            f"Marking task as {state}."
        )
        attributes = {
            "dag_id": ti.dag_id,
            "task_id": ti.task_id,
            "run_id": ti.run_id,
            "try_number": str(ti.try_number),
            "state": ti.state or "failed",
            "log_excerpt": excerpt,
        }
        if ti.map_index >= 0:
            attributes["map_index"] = str(ti.map_index)
        # Ids from Airflow's API are targets (the executors' DAG allow-list still applies);
        # the log excerpt is text, and a DAG is not a service an action may restart.
        ids = ("dag_id", "task_id", "run_id", "map_index")
        return LogEvent(
            source=SOURCE,
            message=f"{message} {summary}" if summary else message,
            service=ti.dag_id,
            timestamp=ti.end_date,
            level="warning" if ti.state == "up_for_retry" else "error",
            attributes=attributes,
            targets={k: v for k, v in attributes.items() if k in ids},
        )


def _run_event(run: AirflowDagRun) -> LogEvent:
    """The event for a run that failed with no failed task instance of its own."""
    return LogEvent(
        source=SOURCE,
        message=(
            f"Airflow DagRun {run.dag_id} {run.run_id} failed; none of its task instances "
            "failed (a run timeout, or the run was marked failed)"
        ),
        service=run.dag_id,
        timestamp=run.end_date,
        level="error",
        attributes={"dag_id": run.dag_id, "run_id": run.run_id, "state": run.state},
        targets={"dag_id": run.dag_id, "run_id": run.run_id},
    )


def _key(ti: AirflowTaskInstance) -> str:
    """What identifies one report of a task instance: its try and the state it was in."""
    return f"{ti.dag_id}|{ti.run_id}|{ti.task_id}|{ti.map_index}|{ti.try_number}|{ti.state}"


def _run_key(run: AirflowDagRun) -> str:
    """What identifies one report of a run."""
    return f"{run.dag_id}|{run.run_id}|{run.state}"


def _ended(item: AirflowTaskInstance | AirflowDagRun) -> datetime:
    """When ITEM ended (listed items always have an end date)."""
    assert item.end_date is not None
    return item.end_date
