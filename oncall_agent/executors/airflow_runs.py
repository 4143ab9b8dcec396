"""Airflow actions on whole runs: mark a run success or failed, trigger a new run of a DAG."""

from __future__ import annotations

import json
from typing import Any

from oncall_agent.errors import ActionRejected, ActionTimeout, SourceError
from oncall_agent.executors.airflow_base import (
    MARK_WITHIN_S,
    RUN_WITHIN_S,
    VERIFY_KEYS,
    AirflowExecutorBase,
    task_names,
)
from oncall_agent.executors.airflow_params import AIRFLOW_RUN_ID, airflow_id, one_of, run_conf
from oncall_agent.executors.base import (
    ActionPlan,
    check_verify_keys,
    dry_run_verification,
    ensure_same_plan,
    reject_unknown_keys,
)
from oncall_agent.integrations.airflow_client import TASK_FINISHED_STATES
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult


class AirflowMarkRunExecutor(AirflowExecutorBase):
    """Marks a DAG run success or failed."""

    name = "airflow_mark_run"
    STATES = ("success", "failed")

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The state change of an existing run not already in that state."""
        reject_unknown_keys(self.name, params, ["dag_id", "run_id", "state"])
        dag_id = self._dag_id(params)
        run_id = airflow_id(self.name, params, "run_id", AIRFLOW_RUN_ID)
        state = one_of(self.name, params, "state", self.STATES)
        try:
            run = self.client.get_dag_run(dag_id, run_id)
        except SourceError as exc:
            raise self._looked_up(f"read run {run_id}", exc) from exc
        if run is None:
            raise ActionRejected(f"{self.name}: DAG {dag_id!r} has no run {run_id!r}")
        if run.state == state:
            raise ActionRejected(f"{self.name}: run {run_id} of {dag_id} is already {state}")
        return ActionPlan(
            action=self.name,
            target=f"{dag_id}@{run_id}",
            params={"dag_id": dag_id, "run_id": run_id, "state": state},
            description=f"mark run {run_id} of {dag_id} {state} (it is {run.state})",
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Set the run's state (dry run: read the run and name the tasks Airflow would set)."""
        ensure_same_plan(plan, fresh := self.plan(plan.params))
        p = fresh.params
        if dry_run:
            return self._preview(fresh)
        try:
            run = self.client.set_dag_run_state(p["dag_id"], p["run_id"], p["state"],
                                                timeout_s=timeout_s)  # fmt: skip
        except ActionTimeout as exc:
            return self._unknown(exc)
        ok = run.state == p["state"]
        return self._result(
            ActionStatus.SUCCEEDED if ok else ActionStatus.FAILED,
            f"run {p['run_id']} of {p['dag_id']} is now {run.state}",
            dag_id=p["dag_id"], run_id=p["run_id"], state=run.state,
        )  # fmt: skip

    def _preview(self, plan: ActionPlan) -> ActionResult:
        """What marking would change: the run, and its task instances not finished yet."""
        p = plan.params
        try:
            tis = self.client.list_run_task_instances(p["dag_id"], p["run_id"])
        except SourceError as exc:
            raise self._looked_up(f"read the tasks of run {p['run_id']}", exc) from exc
        open_tis = task_names([ti for ti in tis if ti.state not in TASK_FINISHED_STATES])
        return self._result(
            ActionStatus.DRY_RUN,
            f"would {plan.description}; Airflow also sets its unfinished task instances: "
            f"{', '.join(open_tis) or 'none'} (the API has no dry run for this: only read)",
            dry_run=True, unfinished=open_tis,
        )  # fmt: skip

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """The run reads back in the state it was marked."""
        check_verify_keys(self.name, verify, VERIFY_KEYS)
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        p = plan.params
        return self._verify_run(verify, p["dag_id"], p["run_id"], p["state"], MARK_WITHIN_S)


class AirflowTriggerDagExecutor(AirflowExecutorBase):
    """Starts a new run of an unpaused DAG, with an optional conf."""

    name = "airflow_trigger_dag"

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """A new run of a DAG that exists and is not paused (a paused one would never run)."""
        reject_unknown_keys(self.name, params, ["dag_id", "conf"])
        dag_id = self._dag_id(params)
        conf = run_conf(self.name, params)
        try:
            dag = self.client.get_dag(dag_id)
        except SourceError as exc:
            raise self._looked_up(f"read DAG {dag_id}", exc) from exc
        if dag is None:
            raise ActionRejected(f"{self.name}: Airflow has no DAG {dag_id!r}")
        if dag.is_paused:
            raise ActionRejected(f"{self.name}: DAG {dag_id} is paused; unpause it first")
        shown = json.dumps(conf, sort_keys=True)[:200]
        return ActionPlan(
            action=self.name,
            target=dag_id,
            params={"dag_id": dag_id, "conf": conf},
            description=f"trigger a new run of {dag_id} with conf {shown}",
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Trigger the run (dry run: the DAG was found unpaused; nothing is started)."""
        ensure_same_plan(plan, fresh := self.plan(plan.params))
        p = fresh.params
        if dry_run:
            return self._result(
                ActionStatus.DRY_RUN, f"would {fresh.description} (the DAG exists and is not "
                "paused; the API has no dry run for triggering)", dry_run=True,
            )  # fmt: skip
        try:
            run = self.client.trigger_dag_run(
                p["dag_id"], conf=p["conf"], note="triggered by oncall-agent", timeout_s=timeout_s
            )
        except ActionTimeout as exc:
            return self._unknown(exc)
        return self._result(
            ActionStatus.SUCCEEDED, f"triggered run {run.run_id} of {p['dag_id']} ({run.state})",
            dag_id=p["dag_id"], run_id=run.run_id,
        )  # fmt: skip

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """The triggered run ends in success (polled until it finishes or within_s passes)."""
        check_verify_keys(self.name, verify, VERIFY_KEYS)
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        run_id = result.details.get("run_id")
        if not isinstance(run_id, str):
            return VerificationResult(ok=False, detail="no run was triggered, nothing to verify")
        return self._verify_run(verify, plan.params["dag_id"], run_id, "success", RUN_WITHIN_S)
