"""`restart_service`: restart an allow-listed service (systemctl, docker, kubectl, local pidfile).

The CLI backends run as argv through the same runner as `run_command`. The `local` backend stops
the pidfile's process (only if its command line is the configured one) and starts the command
detached. A dry run of any backend only reports the argv, and the pid it would signal.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

import httpx

from oncall_agent.errors import ActionError, ActionRejected
from oncall_agent.executors import local_process as local
from oncall_agent.executors.argv import resolve_executable
from oncall_agent.executors.base import (
    ActionPlan,
    argv_dry_run,
    check_verify_keys,
    clean_output,
    dry_run_verification,
    ensure_same_plan,
    reject_unknown_keys,
    verify_number,
)
from oncall_agent.executors.common import ConfiguredExecutor
from oncall_agent.executors.config import ServiceTarget
from oncall_agent.executors.health import check_health
from oncall_agent.executors.process import command_env, run_argv
from oncall_agent.executors.service_identity import new_instance_problem, read_identity
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult

DEFAULT_VERIFY_WITHIN_S = 15.0
LOCAL_SETTLE_S = 1.0


def restart_argv(target: ServiceTarget) -> list[str]:
    """The CLI command that restarts TARGET (executable not yet resolved)."""
    if target.backend == "systemctl":
        return ["systemctl", "restart", str(target.unit)]
    if target.backend == "docker":
        return ["docker", "restart", str(target.container)]
    if target.backend == "kubectl":
        deployment = f"deployment/{target.deployment}"
        return ["kubectl", "rollout", "restart", deployment, "-n", target.namespace]
    assert target.command is not None
    return list(target.command)


def status_argv(target: ServiceTarget, within_s: float) -> list[str]:
    """The CLI command whose success means TARGET is up again (for backends without health_url)."""
    if target.backend == "systemctl":
        return ["systemctl", "is-active", "--quiet", str(target.unit)]
    if target.backend == "docker":
        return ["docker", "inspect", "--format", "{{.State.Running}}", str(target.container)]
    deployment = f"deployment/{target.deployment}"
    return ["kubectl", "rollout", "status", deployment, "-n", target.namespace,
            f"--timeout={max(1, int(within_s))}s"]  # fmt: skip


class RestartServiceExecutor(ConfiguredExecutor):
    """Restarts one of the configured services."""

    name = "restart_service"

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The exact restart of {service}; ActionRejected unless it is a configured service."""
        reject_unknown_keys(self.name, params, ["service"])
        service = params.get("service")
        target = self.config.services.get(service) if isinstance(service, str) else None
        if target is None:
            raise ActionRejected(
                f"restart_service: service {str(service)[:200]!r} is not configured; "
                f"known services: {sorted(self.config.services)}"
            )
        argv = restart_argv(target)
        argv[0] = resolve_executable(argv[0], what=f"restart_service {service!r}")
        how = "stop its pidfile process, then start" if target.backend == "local" else "run"
        return ActionPlan(
            action=self.name,
            target=service,
            params={"service": service},
            argv=argv,
            description=f"restart {service} ({target.backend}): {how} {shlex.join(argv)}",
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Restart the service (dry run: report the argv and the pid it would signal)."""
        ensure_same_plan(plan, self.plan(plan.params))
        assert plan.argv is not None
        target = self.config.services[plan.target]
        if target.backend == "local":
            return self._run_local(plan.argv, target, dry_run, timeout_s)
        if dry_run:
            return argv_dry_run(plan)
        before = read_identity(target, self.output_limit)
        outcome = run_argv(
            plan.argv, timeout_s=timeout_s, output_limit=self.output_limit, secrets=self.secrets
        )
        return ActionResult(
            status=ActionStatus.SUCCEEDED if outcome.exit_code == 0 else ActionStatus.FAILED,
            output=outcome.output,
            argv=plan.argv,
            details={"exit_code": outcome.exit_code, "timed_out": outcome.timed_out,
                     "instance_before": before},
        )  # fmt: skip

    def _run_local(
        self, argv: list[str], target: ServiceTarget, dry_run: bool, timeout_s: float
    ) -> ActionResult:
        """Stop the pidfile's process if it is ours, start the command, record the new pid."""
        assert target.pidfile is not None and target.log_file is not None
        assert target.command is not None
        pid = local.read_pid(target.pidfile)
        ours = pid is not None and local.is_alive(pid)
        ours = ours and pid is not None and local.matches_command(pid, argv, target.command)
        note = _pid_note(pid, ours, target)
        if dry_run:
            return ActionResult(
                status=ActionStatus.DRY_RUN,
                output=self._clean(f"{note}\nwould start: {shlex.join(argv)}"),
                argv=argv,
                dry_run=True,
                details={"pid": pid, "would_signal": pid if ours else None},
            )
        stopped_with = None
        if ours and pid is not None:
            stopped_with = local.stop_process(pid, min(target.stop_grace_s, timeout_s))
            if stopped_with is None:
                return ActionResult(
                    status=ActionStatus.FAILED, argv=argv,
                    output=self._clean(f"pid {pid} survived SIGTERM and SIGKILL; not restarted"),
                    details={"old_pid": pid},
                )  # fmt: skip
        try:
            new_pid = local.start_detached(
                argv, cwd=target.cwd, env=command_env(target.env), log_file=target.log_file
            )
        except OSError as exc:
            message = f"{note}\nstopped with {stopped_with}; could not start {argv[0]}: {exc}"
            if stopped_with is None:
                raise ActionError(message) from exc  # nothing happened at all
            return ActionResult(status=ActionStatus.FAILED, argv=argv, output=self._clean(message))
        local.write_pid(target.pidfile, new_pid)
        return ActionResult(
            status=ActionStatus.SUCCEEDED,
            argv=argv,
            output=self._clean(f"{note}\nstopped with {stopped_with}; started pid {new_pid}"),
            details={
                "old_pid": pid if ours else None,
                "new_pid": new_pid,
                "stopped_with": stopped_with,
            },
        )

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """health_url answers 200 within verify["within_s"] (15 s); else the service is up."""
        check_verify_keys(self.name, verify, ["within_s"])
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        within_s = verify_number(self.name, verify, "within_s", DEFAULT_VERIFY_WITHIN_S)
        target = self.config.services[plan.target]
        if target.backend == "local":
            return _verify_local(result, plan.argv or [], target, within_s)
        if target.health_url:
            return check_health(target.health_url, expect_status=200, within_s=within_s)
        argv = status_argv(target, within_s)
        argv[0] = resolve_executable(argv[0], what=f"restart_service verify {plan.target!r}")
        outcome = run_argv(argv, timeout_s=within_s + 5, output_limit=self.output_limit)
        up = outcome.exit_code == 0 and (target.backend != "docker" or "true" in outcome.output)
        detail = f"{shlex.join(argv)}: exit {outcome.exit_code}, {outcome.output.strip()}"
        after = read_identity(target, self.output_limit) if up else None
        problem = new_instance_problem(result.details.get("instance_before"), after)
        return VerificationResult(
            ok=up and problem is None, detail=f"{detail}; {problem}" if problem else detail,
            data={"exit_code": outcome.exit_code, "instance_after": after},
        )  # fmt: skip

    def _clean(self, text: str) -> str:
        """Output made safe to store."""
        return clean_output(text, self.secrets, self.output_limit)


def _pid_note(pid: int | None, ours: bool, target: ServiceTarget) -> str:
    """A sentence on what the pidfile holds and whether that process will be signalled."""
    if pid is None:
        return f"no usable pid in {target.pidfile}: nothing to stop"
    if ours:
        grace = f"{target.stop_grace_s:g}s"
        return f"pid {pid} from {target.pidfile} runs the service: SIGTERM, SIGKILL after {grace}"
    return f"pid {pid} from {target.pidfile} is gone or runs something else: not signalled"


def _verify_local(
    result: ActionResult, argv: list[str], target: ServiceTarget, within_s: float
) -> VerificationResult:
    """The old process is gone, a new, different one lives, and health answers from it.

    Each check can fail: a wrong pidfile leaves the old process serving /health while the new
    one dies on a taken port, which a plain health check would call a success.
    """
    old, new = result.details.get("old_pid"), result.details.get("new_pid")
    if isinstance(old, int) and local.is_alive(old):
        return VerificationResult(ok=False, detail=f"the old pid {old} is still running")
    if not isinstance(new, int) or new == old:
        return VerificationResult(ok=False, detail=f"no new process was started (pid {new})")
    if target.health_url:
        health = check_health(target.health_url, expect_status=200, within_s=within_s)
        if not health.ok:
            return health
        port = httpx.URL(target.health_url).port or 80
        if local.listens_on(new, port) is False:
            return VerificationResult(
                ok=False,
                detail=f"{health.detail}, but not from the new pid {new}: another process "
                f"listens on port {port} (a wrong pidfile left the old one running?)",
                data={**health.data, "pid": new},
            )
    # A service that crashes on start dies within moments: watch it for a little while.
    alive = _local_alive(result, argv, target, min(LOCAL_SETTLE_S, within_s))
    if alive.ok and target.health_url:
        return VerificationResult(
            ok=True, detail=f"{alive.detail}; {target.health_url} answers from it",
            data={**alive.data, "old_pid": old},
        )  # fmt: skip
    return alive


def _local_alive(
    result: ActionResult, argv: list[str], target: ServiceTarget, settle_s: float
) -> VerificationResult:
    """Whether the started process stays alive, running the command, for SETTLE_S seconds."""
    assert target.command is not None
    pid = result.details.get("new_pid")
    deadline = time.monotonic() + settle_s
    while True:
        alive = isinstance(pid, int) and local.is_alive(pid)
        alive = alive and isinstance(pid, int) and local.matches_command(pid, argv, target.command)
        if not alive or time.monotonic() >= deadline:
            break
        time.sleep(local.POLL_S)
    state = f"alive after {settle_s:g}s" if alive else "not running"
    return VerificationResult(ok=bool(alive), detail=f"pid {pid} is {state}", data={"pid": pid})
