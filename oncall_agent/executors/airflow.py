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

import json
from collections.abc import Iterable
from typing import Any

from oncall_agent.errors import ActionError, ActionRejected, ActionTimeout, SourceError
from oncall_agent.executors.airflow_params import (
    AIRFLOW_KEY,
    AIRFLOW_RUN_ID,
    airflow_id,
    check_dag_allowed,
    flag,
    one_of,
    poll_setting,
    run_conf,
    wait_for_run,
)
from oncall_agent.executors.base import (
    ActionPlan,
    check_verify_keys,
    clean_output,
    dry_run_verification,
    ensure_same_plan,
    reject_unknown_keys,
)
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.integrations.airflow_client import (
    TASK_FINISHED_STATES,
    AirflowClient,
    AirflowTaskInstance,
)
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult
from oncall_agent.settings import get_settings

VERIFY_KEYS = ("within_s", "interval_s")
# How long verification waits for a cleared or triggered run to finish. It runs inside the
# action's target lock (timeout_s + 120 s): for longer runs raise the action's timeout_s and
# its verify "within_s" together.
RUN_WITHIN_S = 120.0
MARK_WITHIN_S = 30.0
INTERVAL_S = 2.0


class _AirflowExecutor:
    """What the Airflow executors share: the client, the DAG allow-list, output hygiene."""

    name = "airflow"

    def __init__(
        self,
        config: ExecutorConfig,
        client: AirflowClient,
        *,
        secrets: Iterable[str] = (),
        output_limit: int | None = None,
    ) -> None:
        """Act through CLIENT on the DAGs CONFIG allows; redact SECRETS from output."""
        self.config = config
        self.client = client
        self.secrets = tuple(secrets)
        self.output_limit = output_limit or get_settings().action_output_limit

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


def _names(tis: list[AirflowTaskInstance]) -> list[str]:
    """Task instances as 'task[map] (state)'."""
    return [f"{ti.label.split('.', 1)[1]} ({ti.state})" for ti in tis]


class AirflowClearTaskExecutor(_AirflowExecutor):
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
        names = _names(cleared)
        if dry_run:
            return self._result(
                ActionStatus.DRY_RUN, f"Airflow's dry run: would clear {len(names)} task "
                f"instance(s) of run {p['run_id']}: {', '.join(names)}",
                dry_run=True, would_clear=names,
            )  # fmt: skip
        if not cleared:
            return self._result(ActionStatus.FAILED, "Airflow cleared nothing", cleared=[])
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


class AirflowMarkRunExecutor(_AirflowExecutor):
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
        open_tis = _names([ti for ti in tis if ti.state not in TASK_FINISHED_STATES])
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


class AirflowTriggerDagExecutor(_AirflowExecutor):
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
