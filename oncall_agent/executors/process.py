"""The one subprocess runner of all executors: argv only (no shell), timeout, bounded output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from oncall_agent.errors import ActionError
from oncall_agent.executors.base import clean_output
from oncall_agent.executors.local_process import wait_group_gone

# Only these variables of the agent's own environment reach a command, so the agent's secrets
# (database passwords, API keys) are not handed to every command it runs.
PASSED_ENV = (
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR",
    "KUBECONFIG", "DOCKER_HOST", "DOCKER_CONFIG", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
)  # fmt: skip
# Output is spooled to a file, so a chatty command cannot exhaust memory; of a huge output only
# this many bytes of its head and of its tail are read back.
READ_BACK_BYTES = 256 * 1024
KILL_WAIT_S = 5.0


@dataclass(frozen=True)
class CommandOutcome:
    """How one command ended: exit code (None if killed on timeout) and its cleaned output."""

    exit_code: int | None
    output: str
    timed_out: bool
    duration_s: float


def command_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a command gets: a few of the agent's variables plus EXTRA."""
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(extra or {})
    return env


def run_argv(
    argv: list[str],
    *,
    timeout_s: float,
    output_limit: int,
    secrets: Iterable[str] = (),
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> CommandOutcome:
    """Run ARGV (never through a shell) for at most TIMEOUT_S; its process group dies on timeout."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as spool:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=spool,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(env) if env is not None else command_env(),
                start_new_session=True,  # its own process group, so a timeout kills children too
                close_fds=True,
            )
        except OSError as exc:
            raise ActionError(f"could not start {argv[0]!r}: {exc.strerror or exc}") from exc
        timed_out = _wait_or_kill(proc, timeout_s)
        text = _read_back(spool)
    if timed_out:
        text += f"\n[timed out after {timeout_s:g}s; the command and its children were killed]"
    return CommandOutcome(
        exit_code=None if timed_out else proc.returncode,
        output=clean_output(text, secrets, output_limit),
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
    )


def _wait_or_kill(proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Wait for PROC; on timeout kill its whole process group. True if it timed out."""
    try:
        proc.wait(timeout=timeout_s)
        return False
    except subprocess.TimeoutExpired:
        # It may end between the timeout and the kill; it may hang in the kernel after it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=KILL_WAIT_S)
        # SIGKILL is delivered asynchronously: return only once the children are dead too.
        wait_group_gone(proc.pid, KILL_WAIT_S)
        return True


def _read_back(spool: IO[bytes]) -> str:
    """The spooled output as text; for a huge output, only its head and tail with a note."""
    size = spool.seek(0, os.SEEK_END)
    spool.seek(0)
    if size <= 2 * READ_BACK_BYTES:
        return spool.read().decode("utf-8", errors="replace")
    head = spool.read(READ_BACK_BYTES)
    spool.seek(size - READ_BACK_BYTES)
    tail = spool.read()
    skipped = size - 2 * READ_BACK_BYTES
    return (
        head.decode("utf-8", errors="replace")
        + f"\n... [{skipped} bytes of output not read] ...\n"
        + tail.decode("utf-8", errors="replace")
    )
