"""Airflow actions through its REST API: clear a failed task, mark a run, trigger a DAG.

Each plans from the live state (a task that is no longer failed is not cleared; a run already
in the asked state is left alone), re-plans just before acting, and verifies by polling the run
until it succeeds, fails, or the verification gives up waiting. Dry runs: clearing uses the
API's own `dry_run` (Airflow lists what it would clear); marking a run and triggering a DAG have
no dry run in the API, so theirs only read (the run and its unfinished tasks; the DAG) and say
what would change. A request that got no answer in time may have been carried out: its result
is UNKNOWN (never re-run without a person), not FAILED.
"""

from __future__ import annotations

from typing import Any

from oncall_agent.errors import ActionRejected, ActionTimeout, SourceError
from oncall_agent.executors.airflow_base import (
    RUN_WITHIN_S,
    VERIFY_KEYS,
    AirflowExecutorBase,
    task_names,
)
from oncall_agent.executors.airflow_params import AIRFLOW_KEY, AIRFLOW_RUN_ID, airflow_id, flag
from oncall_agent.executors.airflow_runs import AirflowMarkRunExecutor, AirflowTriggerDagExecutor
from oncall_agent.executors.base import (
    ActionPlan,
    check_verify_keys,
    dry_run_verification,
    ensure_same_plan,
    reject_unknown_keys,
)
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult

__all__ = ["AirflowClearTaskExecutor", "AirflowMarkRunExecutor", "AirflowTriggerDagExecutor"]


class AirflowClearTaskExecutor(AirflowExecutorBase):
    """Clears a failed task instance so the scheduler runs it again."""

    name = "airflow_clear_task"

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The clear of a task whose instance in the run is failed; ActionRejected otherwise."""
        allowed = ["dag_id", "task_id", "run_id", "include_downstream"]
        reject_unknown_keys(self.name, params, allowed)
        dag_id = self._dag_id(params)
        task_id = airflow_id(self.name, params, "task_id", AIRFLOW_KEY)
        run_id = airflow_id(self.name, params, "run_id", AIRFLOW_RUN_ID)
        # Downstream tasks left upstream_failed never ran because of this failure; unless they
        # are cleared too the run cannot succeed. Only failed ones are cleared either way.
        downstream = flag(self.name, params, "include_downstream", True)
        try:
            tis = self.client.list_run_task_instances(dag_id, run_id, task_id=task_id)
        except SourceError as exc:
            raise self._looked_up(f"read task {task_id} of run {run_id}", exc) from exc
        if not tis:
            raise ActionRejected(f"{self.name}: run {run_id} of {dag_id} has no task {task_id!r}")
        failed = [ti for ti in tis if ti.state == "failed"]
        if not failed:
            raise ActionRejected(
                f"{self.name}: only failed task instances are cleared; {dag_id}.{task_id} "
                f"in run {run_id} is {sorted({str(ti.state) for ti in tis})}"
            )
        tries = ", ".join(f"try {ti.try_number}" for ti in failed)
        return ActionPlan(
            action=self.name,
            target=f"{dag_id}.{task_id}@{run_id}",
            params={"dag_id": dag_id, "task_id": task_id, "run_id": run_id,
                    "include_downstream": downstream},
            description=(
                f"clear failed task {dag_id}.{task_id} ({tries}) in run {run_id}"
                f"{' with its failed or upstream-failed downstream tasks' if downstream else ''}, "
                "so the scheduler runs it again"
            ),
        )  # fmt: skip

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Clear (dry run: Airflow's own dry_run lists what it would clear)."""
        ensure_same_plan(plan, fresh := self.plan(plan.params))
        p = fresh.params
        try:
            cleared = self.client.clear_task_instances(
                p["dag_id"], p["run_id"], [p["task_id"]],
                include_downstream=p["include_downstream"], dry_run=dry_run, timeout_s=timeout_s,
            )  # fmt: skip
        except ActionTimeout as exc:
            return self._unknown(exc)
        names = task_names(cleared)
        if dry_run:
            return self._result(
                ActionStatus.DRY_RUN, f"Airflow's dry run: would clear {len(names)} task "
                f"instance(s) of run {p['run_id']}: {', '.join(names)}",
                dry_run=True, would_clear=names,
            )  # fmt: skip
        if not cleared:
            return self._result(ActionStatus.NO_EFFECT, "Airflow cleared nothing", cleared=[])
        return self._result(
            ActionStatus.SUCCEEDED,
            f"cleared {', '.join(names)} in run {p['run_id']} of {p['dag_id']}; it runs again",
            dag_id=p["dag_id"],
            run_id=p["run_id"],
            cleared=names,
        )

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """The cleared run ends in success (polled until it finishes or within_s passes)."""
        check_verify_keys(self.name, verify, VERIFY_KEYS)
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        p = plan.params
        return self._verify_run(verify, p["dag_id"], p["run_id"], "success", RUN_WITHIN_S)
