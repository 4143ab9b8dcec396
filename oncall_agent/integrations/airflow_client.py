"""Airflow behind a small interface: the few REST calls the agent's source and actions make.

The real adapter (`airflow_rest.AirflowRestClient`, over apache-airflow-client and Airflow 3's
/api/v2) is imported only by the block that builds it; tests may pass any object with these
methods. Errors raised by an implementation, by kind of call:

    reads  (list_*, get_*, task_log)     -> SourceUnavailable (down, timeout, 5xx) or SourceError
    writes (clear, set state, trigger)   -> ActionError (the request failed or was refused)
    login refused, token invalid, 403    -> ConfigError (fix the AirflowConnection block)

A lookup of one thing that does not exist returns None rather than raising.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

# States in which a run or task instance has stopped changing on its own.
RUN_FINISHED_STATES = frozenset({"success", "failed"})
TASK_FINISHED_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


class _Lenient(BaseModel):
    """Models read from Airflow's JSON: unknown fields are ignored (servers add fields)."""

    # Built from the API's JSON (aliases such as dag_run_id) or by name in code and tests.
    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True)


class AirflowTaskInstance(_Lenient):
    """One try of one task in one DAG run, as the API reports it."""

    dag_id: str
    run_id: str = Field(validation_alias="dag_run_id")
    task_id: str
    map_index: int = -1
    try_number: int = 0
    state: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None

    @property
    def label(self) -> str:
        """dag.task, with [map index] for a mapped task: how people name a task instance."""
        index = f"[{self.map_index}]" if self.map_index >= 0 else ""
        return f"{self.dag_id}.{self.task_id}{index}"


class AirflowDagRun(_Lenient):
    """One run of a DAG."""

    dag_id: str
    run_id: str = Field(validation_alias="dag_run_id")
    state: str
    start_date: datetime | None = None
    end_date: datetime | None = None
    conf: dict[str, Any] | None = None


class AirflowDag(_Lenient):
    """A DAG the scheduler knows."""

    dag_id: str
    is_paused: bool = False


class AirflowLogRecord(_Lenient):
    """One record of a task log: its text and, for a failure, the exception it carried."""

    event: str
    timestamp: datetime | None = None
    level: str | None = None
    error: str | None = None  # "ExcType: message" of the last exception attached, if any


class AirflowClient(Protocol):
    """The Airflow calls the agent makes (all with the connection's timeout)."""

    base_url: str

    def list_task_instances(
        self, *, states: Sequence[str], ended_since: datetime, limit: int, offset: int
    ) -> list[AirflowTaskInstance]:
        """Task instances of any DAG in STATES that ended at or after ENDED_SINCE, oldest first."""
        ...

    def list_dag_runs(
        self, *, states: Sequence[str], ended_since: datetime, limit: int, offset: int
    ) -> list[AirflowDagRun]:
        """Runs of every DAG in STATES that ended at or after ENDED_SINCE, oldest first."""
        ...

    def list_run_task_instances(
        self, dag_id: str, run_id: str, *, task_id: str | None = None
    ) -> list[AirflowTaskInstance]:
        """The task instances of one run (of one task only, with TASK_ID; all map indexes)."""
        ...

    def get_dag(self, dag_id: str) -> AirflowDag | None:
        """The DAG, or None if Airflow does not know it."""
        ...

    def get_dag_run(self, dag_id: str, run_id: str) -> AirflowDagRun | None:
        """The run, or None if it does not exist."""
        ...

    def task_log(self, ti: AirflowTaskInstance, *, try_number: int) -> list[AirflowLogRecord]:
        """The log records of one try of TI, oldest first."""
        ...

    def clear_task_instances(
        self,
        dag_id: str,
        run_id: str,
        task_ids: Sequence[str],
        *,
        include_downstream: bool,
        dry_run: bool,
        timeout_s: float | None = None,
    ) -> list[AirflowTaskInstance]:
        """Clear the failed instances of TASK_IDS in the run; those cleared (or, dry, to be)."""
        ...

    def set_dag_run_state(
        self, dag_id: str, run_id: str, state: str, *, timeout_s: float | None = None
    ) -> AirflowDagRun:
        """Mark the run STATE (success or failed); the run as it is afterwards."""
        ...

    def trigger_dag_run(
        self, dag_id: str, *, conf: dict[str, Any], note: str | None = None,
        timeout_s: float | None = None,
    ) -> AirflowDagRun:  # fmt: skip
        """Start a new run of the DAG with CONF; the run created."""
        ...
