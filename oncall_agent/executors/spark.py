"""`spark_resubmit`: run a failed application's allow-listed job again with more memory.

Parameters: `app_id` (required: the failed application), and at least one of `executor_memory`,
`driver_memory`, `executor_memory_overhead` (Spark memory strings such as 4g, each at most the
SparkConnection's maximum). The application's name, read from the History Server, must be one
of the connection's jobs: that job's main file, class, arguments and conf are what runs, as an
argv (never a shell). With a local master the executors live in the driver's JVM, so the
memory asked for executors is given to the driver (bounded by both maxima).

Verification finds the new application in the History Server by a marker conf set at submit
time, waits for it to complete, and succeeds if none of its jobs failed.

In client deploy mode spark-submit lives as long as the application, so the action's timeout_s
must cover the job's run time (a timeout kills the submission, and the job with it). For long
jobs use cluster mode with the cluster manager's "do not wait" setting in the job's conf (e.g.
spark.yarn.submit.waitAppCompletion=false) and a verify within_s long enough for the job.
"""

from __future__ import annotations

import re
import shlex
import time
import uuid
from typing import Any

from oncall_agent.errors import ActionError, ActionRejected, OncallError, VerificationError
from oncall_agent.executors.base import (
    ActionPlan,
    argv_dry_run,
    check_verify_keys,
    dry_run_verification,
    ensure_same_plan,
    reject_unknown_keys,
    verify_number,
)
from oncall_agent.executors.common import ClientExecutor
from oncall_agent.executors.process import command_env, run_argv
from oncall_agent.integrations.spark_client import SparkApp, SparkClient, memory_mib
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult

_APP_ID_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", re.ASCII)
_MEMORY_PARAMS = ("executor_memory", "driver_memory", "executor_memory_overhead")
MARKER = "spark.oncall.submission"
ORIGIN = "spark.oncall.resubmitted_from"
DEFAULT_VERIFY_WITHIN_S = 120.0
POLL_S = 1.0


class SparkResubmitExecutor(ClientExecutor[SparkClient]):
    """Resubmits an allow-listed Spark job with adjusted, bounded memory."""

    name = "spark_resubmit"

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The exact spark-submit argv; ActionRejected if anything is out of bounds."""
        reject_unknown_keys(self.name, params, ["app_id", *_MEMORY_PARAMS])
        app_id = params.get("app_id")
        if not isinstance(app_id, str) or not _matches(app_id):
            raise ActionRejected(f"spark_resubmit: app_id {str(app_id)[:100]!r} is not an app id")
        memory = {k: self._memory(k, params[k]) for k in _MEMORY_PARAMS if k in params}
        if not memory:
            raise ActionRejected(f"spark_resubmit: give at least one of {list(_MEMORY_PARAMS)}")
        app = self._application(app_id)
        argv = self._argv(app, memory)
        return ActionPlan(
            action=self.name,
            target=app.name,
            params={"app_id": app_id, **memory},
            argv=argv,
            description=f"resubmit {app.name} (failed as {app_id}) with "
            f"{', '.join(f'{k}={v}' for k, v in memory.items())}: {shlex.join(argv)}",
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Run spark-submit (dry run: show the argv); FAILED on a non-zero exit or timeout."""
        ensure_same_plan(plan, self.plan(plan.params))
        assert plan.argv is not None
        if dry_run:
            return argv_dry_run(plan)
        marker = uuid.uuid4().hex
        argv = [*plan.argv[:1], "--conf", f"{MARKER}={marker}", *plan.argv[1:]]
        submitted_ms = int(time.time() * 1000)
        outcome = run_argv(
            argv, timeout_s=timeout_s, output_limit=self.output_limit, secrets=self.secrets,
            env=command_env(self.client.submit.env),
        )  # fmt: skip
        ok = outcome.exit_code == 0
        return ActionResult(
            status=ActionStatus.SUCCEEDED if ok else ActionStatus.FAILED,
            output=outcome.output,
            argv=argv,
            details={
                "exit_code": outcome.exit_code, "timed_out": outcome.timed_out,
                "marker": marker, "submitted_ms": submitted_ms, "job": plan.target,
            },
        )  # fmt: skip

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """The new application completed with no failed job, within verify["within_s"]."""
        check_verify_keys(self.name, verify, ["within_s"])
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        within_s = verify_number(self.name, verify, "within_s", DEFAULT_VERIFY_WITHIN_S)
        deadline = time.monotonic() + within_s
        try:
            app = self._find_new(result, deadline)
            if app is None:
                return VerificationResult(
                    ok=False,
                    detail=f"the resubmitted {plan.target} did not appear as a completed "
                    f"application in the History Server within {within_s:g}s",
                )
            failed = self.client.history.failed_jobs(app.app_id)
        except OncallError as exc:
            raise VerificationError(
                f"spark_resubmit: cannot read the History Server: {exc}"
            ) from exc
        state = f"failed job(s) {failed}" if failed else "no failed job"
        return VerificationResult(
            ok=not failed, detail=f"new application {app.app_id} ({app.name}) completed: {state}",
            data={"app_id": app.app_id, "failed_jobs": failed},
        )  # fmt: skip

    def _find_new(self, result: ActionResult, deadline: float) -> SparkApp | None:
        """The completed application submitted with the result's marker, polled until DEADLINE."""
        history, checked = self.client.history, set()
        since = int(result.details["submitted_ms"])
        while True:
            for app in history.completed_apps(since):
                if app.name != result.details["job"] or app.app_id in checked:
                    continue
                checked.add(app.app_id)
                if history.spark_properties(app.app_id).get(MARKER) == result.details["marker"]:
                    return app
            if time.monotonic() + POLL_S > deadline:
                return None
            time.sleep(POLL_S)

    def _memory(self, key: str, value: Any) -> str:
        """VALUE if it is a memory string within its maximum; ActionRejected otherwise."""
        mib = memory_mib(value) if isinstance(value, str) else None
        if mib is None:
            raise ActionRejected(
                f"spark_resubmit: {key} {str(value)[:40]!r} is not a memory size like 4g or 512m"
            )
        settings = self.client.submit
        limits = {
            "executor_memory": [settings.max_executor_memory],
            "driver_memory": [settings.max_driver_memory],
            "executor_memory_overhead": [settings.max_memory_overhead],
        }[key]
        if key == "executor_memory" and settings.runs_in_driver:
            limits.append(settings.max_driver_memory)  # it becomes the driver's heap
        for limit in limits:
            if mib > (memory_mib(limit) or 0):
                raise ActionRejected(
                    f"spark_resubmit: {key} {value} is above the SparkConnection's maximum "
                    f"{limit}; nothing was submitted"
                )
        return str(value).lower()

    def _application(self, app_id: str) -> SparkApp:
        """The failed application from the History Server; its name must be an allowed job."""
        try:
            app = self.client.history.app(app_id)
        except OncallError as exc:
            raise ActionError(f"spark_resubmit: cannot read the History Server: {exc}") from exc
        if app is None:
            raise ActionRejected(f"spark_resubmit: the History Server does not know {app_id!r}")
        if app.name not in self.client.submit.jobs:
            raise ActionRejected(
                f"spark_resubmit: application {app.name!r} is not one of the SparkConnection's "
                f"jobs {sorted(self.client.submit.jobs)}; add it there to allow resubmitting it"
            )
        return app

    def _argv(self, app: SparkApp, memory: dict[str, str]) -> list[str]:
        """spark-submit's argv for APP's job with MEMORY."""
        settings, job = self.client.submit, self.client.submit.jobs[app.name]
        argv = [settings.spark_submit, "--master", settings.master,
                "--deploy-mode", settings.deploy_mode, "--name", app.name]  # fmt: skip
        for key, value in sorted(job.conf.items()):
            argv += ["--conf", f"{key}={value}"]
        argv += ["--conf", f"{ORIGIN}={app.app_id}"]
        driver = _larger(memory.get("driver_memory"), memory.get("executor_memory"))
        if settings.runs_in_driver and driver:
            argv += ["--driver-memory", driver]
        else:
            if "executor_memory" in memory:
                argv += ["--executor-memory", memory["executor_memory"]]
            if "driver_memory" in memory:
                argv += ["--driver-memory", memory["driver_memory"]]
        if "executor_memory_overhead" in memory:
            argv += [
                "--conf",
                f"spark.executor.memoryOverhead={memory['executor_memory_overhead']}",
            ]
        if job.main_class:
            argv += ["--class", job.main_class]
        return [*argv, job.main, *job.args]


def _matches(app_id: str) -> bool:
    """Whether APP_ID has the shape of a Spark application id."""
    return _APP_ID_SHAPE.fullmatch(app_id) is not None and ".." not in app_id


def _larger(a: str | None, b: str | None) -> str | None:
    """The larger of two memory strings (either may be None)."""
    sizes = [m for m in (a, b) if m]
    return max(sizes, key=lambda m: memory_mib(m) or 0) if sizes else None
