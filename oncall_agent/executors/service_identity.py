"""Which process instance a CLI-managed service is, so a restart can prove a new one runs.

`systemctl restart` exiting 0 and `is-active` answering yes would both hold if the unit never
restarted; comparing its MainPID (docker: the container's Pid and start time) before and after
proves a different process is now running. kubectl's `rollout status` already waits for new pods.
"""

from __future__ import annotations

from oncall_agent.executors.argv import resolve_executable
from oncall_agent.executors.config import ServiceTarget
from oncall_agent.executors.process import run_argv

IDENTITY_TIMEOUT_S = 10.0


def identity_argv(target: ServiceTarget) -> list[str] | None:
    """The command printing the running instance of TARGET, or None if none is needed."""
    if target.backend == "systemctl":
        return ["systemctl", "show", "--property=MainPID", "--value", str(target.unit)]
    if target.backend == "docker":
        fmt = "{{.State.Pid}} {{.State.StartedAt}}"
        return ["docker", "inspect", "--format", fmt, str(target.container)]
    return None


def read_identity(target: ServiceTarget, output_limit: int) -> str | None:
    """TARGET's running instance ("" if none runs), or None when the backend needs no check."""
    argv = identity_argv(target)
    if argv is None:
        return None
    argv[0] = resolve_executable(argv[0], what=f"identity of {target.backend} service")
    outcome = run_argv(argv, timeout_s=IDENTITY_TIMEOUT_S, output_limit=output_limit)
    text = outcome.output.strip() if outcome.exit_code == 0 else ""
    return "" if text in ("", "0") or text.startswith("0 ") else text


def new_instance_problem(before: str | None, after: str | None) -> str | None:
    """Why the instance AFTER the restart is not a new one (None: it is, or no check applies)."""
    if after is None:
        return None
    if not after:
        return "no process of the service runs after the restart"
    if after == before:
        return f"the same instance still runs ({after}): the restart did not replace it"
    return None
