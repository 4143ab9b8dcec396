"""What the Airflow executors share: the client, the DAG allow-list, results, run verification."""

from __future__ import annotations

from typing import Any

from oncall_agent.errors import ActionError, ActionTimeout, SourceError
from oncall_agent.executors.airflow_params import (
    AIRFLOW_KEY,
    airflow_id,
    check_dag_allowed,
    poll_setting,
    wait_for_run,
)
from oncall_agent.executors.base import clean_output
from oncall_agent.executors.common import ClientExecutor
from oncall_agent.integrations.airflow_client import AirflowClient, AirflowTaskInstance
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult

VERIFY_KEYS = ("within_s", "interval_s")
# How long verification waits for a cleared or triggered run to finish. It runs inside the
# action's target lock (timeout_s + 120 s): for longer runs raise the action's timeout_s and
# its verify "within_s" together.
RUN_WITHIN_S = 120.0
MARK_WITHIN_S = 30.0
INTERVAL_S = 2.0


class AirflowExecutorBase(ClientExecutor[AirflowClient]):
    """What the Airflow executors share: the client, the DAG allow-list, output hygiene."""

    name = "airflow"

    def _dag_id(self, params: dict[str, Any]) -> str:
        """The validated, allow-listed dag_id of PARAMS."""
        dag_id = airflow_id(self.name, params, "dag_id", AIRFLOW_KEY)
        check_dag_allowed(self.name, dag_id, self.config.airflow_allowed_dags)
        return dag_id

    def _looked_up(self, what: str, exc: SourceError) -> ActionError:
        """The error for a lookup the plan needed that Airflow did not answer."""
        return ActionError(f"{self.name}: could not {what} to plan the action: {exc}")

    def _result(
        self, status: ActionStatus, text: str, *, dry_run: bool = False, **details: Any
    ) -> ActionResult:
        """A result whose output is redacted and truncated."""
        output = clean_output(text, self.secrets, self.output_limit)
        return ActionResult(status=status, output=output, dry_run=dry_run, details=details)

    def _unknown(self, exc: ActionTimeout) -> ActionResult:
        """The result of a change request that got no answer: it may have been done."""
        return self._result(ActionStatus.UNKNOWN, str(exc), timed_out=True)

    def _verify_run(
        self, verify: dict[str, Any], dag_id: str, run_id: str, wanted: str, within_s: float
    ) -> VerificationResult:
        """Poll the run until it is WANTED, finished otherwise, or time is up."""
        return wait_for_run(
            self.client, dag_id, run_id, wanted=wanted,
            within_s=poll_setting(self.name, verify, "within_s", within_s),
            interval_s=poll_setting(self.name, verify, "interval_s", INTERVAL_S),
        )  # fmt: skip


def task_names(tis: list[AirflowTaskInstance]) -> list[str]:
    """Task instances as 'task[map] (state)'."""
    return [f"{ti.label.split('.', 1)[1]} ({ti.state})" for ti in tis]
