"""An in-memory Airflow with the agent's AirflowClient interface, for tests without a server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from oncall_agent.integrations.airflow_client import (
    AirflowDag,
    AirflowDagRun,
    AirflowLogRecord,
    AirflowTaskInstance,
)

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus SECONDS."""
    return T0 + timedelta(seconds=seconds)


class FakeAirflow:
    """Task instances, runs, DAGs and logs held in lists; every call is recorded in `calls`."""

    base_url = "http://airflow.test"

    def __init__(self) -> None:
        """An Airflow with nothing in it."""
        self.tis: list[AirflowTaskInstance] = []
        self.runs: list[AirflowDagRun] = []
        self.dags: dict[str, AirflowDag] = {}
        self.logs: dict[tuple[str, str, str, int], list[AirflowLogRecord]] = {}
        self.calls: list[str] = []
        self.log_error: Exception | None = None
        self.write_error: Exception | None = None

    # -- setting the scene ---------------------------------------------------------------

    def add_ti(self, dag_id: str, run_id: str, task_id: str, state: str | None, ended: float,
               try_number: int = 1, log: list[AirflowLogRecord] | None = None) -> None:  # fmt: skip
        """A task instance that ended ENDED seconds after T0, with its log."""
        self.tis.append(AirflowTaskInstance(
            dag_id=dag_id, run_id=run_id, task_id=task_id, state=state,
            try_number=try_number, end_date=at(ended),
        ))  # fmt: skip
        self.logs[(dag_id, run_id, task_id, try_number)] = log or []

    def add_run(self, dag_id: str, run_id: str, state: str, ended: float | None = None) -> None:
        """A run that ended ENDED seconds after T0 (None: not ended)."""
        end = at(ended) if ended is not None else None
        self.runs.append(AirflowDagRun(dag_id=dag_id, run_id=run_id, state=state, end_date=end))

    def set_ti_state(self, dag_id: str, run_id: str, task_id: str, state: str | None) -> None:
        """Change the state of every instance of the task in the run."""
        self.tis = [
            t.model_copy(update={"state": state})
            if (t.dag_id, t.run_id, t.task_id) == (dag_id, run_id, task_id) else t
            for t in self.tis
        ]  # fmt: skip

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        """Change the state of the run."""
        self.runs = [
            r.model_copy(update={"state": state}) if (r.dag_id, r.run_id) == (dag_id, run_id) else r
            for r in self.runs
        ]

    # -- the interface -------------------------------------------------------------------

    def list_task_instances(
        self, *, states: Sequence[str], ended_since: datetime, limit: int, offset: int
    ) -> list[AirflowTaskInstance]:
        """Like the API: in STATES, ended since, ordered by end date, one page."""
        self.calls.append("list_task_instances")
        found = [
            t for t in self.tis if t.state in states and t.end_date and t.end_date >= ended_since
        ]
        return sorted(found, key=lambda t: t.end_date or T0)[offset : offset + limit]

    def list_dag_runs(
        self, *, states: Sequence[str], ended_since: datetime, limit: int, offset: int
    ) -> list[AirflowDagRun]:
        """Like the API: in STATES, ended since, ordered by end date, one page."""
        self.calls.append("list_dag_runs")
        found = [
            r for r in self.runs if r.state in states and r.end_date and r.end_date >= ended_since
        ]
        return sorted(found, key=lambda r: r.end_date or T0)[offset : offset + limit]

    def list_run_task_instances(
        self, dag_id: str, run_id: str, *, task_id: str | None = None
    ) -> list[AirflowTaskInstance]:
        """The task instances of one run (of one task)."""
        self.calls.append("list_run_task_instances")
        return [
            t for t in self.tis
            if (t.dag_id, t.run_id) == (dag_id, run_id) and task_id in (None, t.task_id)
        ]  # fmt: skip

    def get_dag(self, dag_id: str) -> AirflowDag | None:
        """The DAG or None."""
        self.calls.append("get_dag")
        return self.dags.get(dag_id)

    def get_dag_run(self, dag_id: str, run_id: str) -> AirflowDagRun | None:
        """The run or None."""
        self.calls.append("get_dag_run")
        return next((r for r in self.runs if (r.dag_id, r.run_id) == (dag_id, run_id)), None)

    def task_log(self, ti: AirflowTaskInstance, *, try_number: int) -> list[AirflowLogRecord]:
        """The log of one try (or the configured error)."""
        self.calls.append("task_log")
        if self.log_error is not None:
            raise self.log_error
        return self.logs.get((ti.dag_id, ti.run_id, ti.task_id, try_number), [])

    def clear_task_instances(
        self, dag_id: str, run_id: str, task_ids: Sequence[str], *, include_downstream: bool,
        dry_run: bool, timeout_s: float | None = None,
    ) -> list[AirflowTaskInstance]:  # fmt: skip
        """Failed instances of TASK_IDS (and upstream_failed ones if downstream); reset them."""
        self.calls.append(f"clear(dry_run={dry_run})")
        if self.write_error is not None:
            raise self.write_error
        states = {"failed", "upstream_failed"} if include_downstream else {"failed"}
        chosen = [
            t for t in self.list_run_task_instances(dag_id, run_id)
            if t.state in states and (t.task_id in task_ids or include_downstream)
        ]  # fmt: skip
        if not dry_run:
            for ti in chosen:
                self.set_ti_state(dag_id, run_id, ti.task_id, None)
            self.set_run_state(dag_id, run_id, "queued")
        return chosen

    def set_dag_run_state(
        self, dag_id: str, run_id: str, state: str, *, timeout_s: float | None = None
    ) -> AirflowDagRun:
        """Mark the run."""
        self.calls.append(f"set_dag_run_state({state})")
        if self.write_error is not None:
            raise self.write_error
        self.set_run_state(dag_id, run_id, state)
        run = self.get_dag_run(dag_id, run_id)
        assert run is not None
        return run

    def trigger_dag_run(
        self, dag_id: str, *, conf: dict[str, Any], note: str | None = None,
        timeout_s: float | None = None,
    ) -> AirflowDagRun:  # fmt: skip
        """A new queued run."""
        self.calls.append("trigger_dag_run")
        if self.write_error is not None:
            raise self.write_error
        run = AirflowDagRun(dag_id=dag_id, run_id=f"manual__{len(self.runs)}", state="queued",
                            conf=conf)  # fmt: skip
        self.runs.append(run)
        return run
