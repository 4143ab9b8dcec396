"""A local process managed through a pidfile: read, check, stop (TERM then KILL) and start detached.

A pid from a pidfile is signalled only if the process's command line matches the configured
command: pids are recycled, and the pidfile may outlive its process by days.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

POLL_S = 0.05
KILL_WAIT_S = 5.0


def read_pid(pidfile: Path) -> int | None:
    """The pid written in PIDFILE, or None if it is missing, garbled, or not a safe pid (> 1)."""
    try:
        text = pidfile.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    # 0, 1 and negative numbers would signal process groups or init: never accept them.
    if not text.isdigit() or int(text) <= 1 or int(text) == os.getpid():
        return None
    return int(text)


def write_pid(pidfile: Path, pid: int) -> None:
    """Write PID to PIDFILE atomically (a reader never sees a half-written file)."""
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    temporary = pidfile.with_name(pidfile.name + ".tmp")
    temporary.write_text(f"{pid}\n", encoding="ascii")
    os.replace(temporary, pidfile)


def is_alive(pid: int) -> bool:
    """Whether PID is a running process (a zombie counts as gone; our own zombies are reaped)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaps it if it is our child and has exited
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(errors="replace")
    except FileNotFoundError:
        return False
    except OSError:
        return _signal_zero(pid)  # no /proc here: fall back to a null signal
    state = stat_line.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is still in process group PGID."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat_file in proc.glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text(errors="replace").rsplit(")", 1)[-1].split()
        except OSError:
            continue  # it exited while we looked
        if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def wait_group_gone(pgid: int, timeout_s: float) -> bool:
    """Wait up to TIMEOUT_S for every process of group PGID to die; whether they all did."""
    deadline = time.monotonic() + timeout_s
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


def _signal_zero(pid: int) -> bool:
    """Whether a null signal reaches PID."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def command_line(pid: int) -> list[str] | None:
    """The argv of PID as the kernel reports it, or None if it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0")[:-1]] or None


def matches_command(pid: int, argv: list[str], configured: list[str]) -> bool:
    """Whether PID runs ARGV (as started) or CONFIGURED (as written, or via an interpreter)."""
    actual = command_line(pid)
    if actual is None:
        return False
    if actual in (argv, configured):
        return True
    same_args = actual[1:] == configured[1:]
    if same_args and os.path.basename(actual[0]) == os.path.basename(configured[0]):
        return True
    # A script with a shebang shows up as "interpreter [flag] script args".
    return len(actual) - len(argv) in (1, 2) and actual[-len(argv) :] == argv


def stop_process(pid: int, grace_s: float) -> str | None:
    """SIGTERM PID (its group if it leads one), SIGKILL after GRACE_S; the signal that ended it.

    None means it (or a process of its group) was still alive after SIGKILL.
    """
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, KILL_WAIT_S)):
        whole_group = _send(pid, sig)
        deadline = time.monotonic() + wait_s
        while is_alive(pid) or (whole_group and group_alive(pid)):
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        else:
            return sig.name
    return None


def _send(pid: int, sig: signal.Signals) -> bool:
    """Send SIG to PID's group if PID leads its own group (not ours), else to PID; True if group."""
    try:
        if os.getpgid(pid) == pid and pid != os.getpgrp():
            os.killpg(pid, sig)
            return True
        os.kill(pid, sig)
    except ProcessLookupError:
        pass  # already gone
    return False


def listens_on(pid: int, port: int) -> bool | None:
    """Whether PID's process group holds a socket listening on TCP PORT (None: cannot tell).

    The health endpoint answering proves nothing if another process (the old one a wrong
    pidfile left running) is the one answering: this ties the listening socket to the new pid.
    """
    inodes = _listening_inodes(port)
    if inodes is None:
        return None
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text(errors="replace").rsplit(")", 1)[-1].split()
            if int(proc.name) != pid and fields[2] != str(pid):
                continue
            links = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except (OSError, IndexError):
            continue  # it exited while we looked, or is not ours to read
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return True
    return False


def _listening_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on TCP PORT (IPv4 and IPv6), or None without /proc/net."""
    found: set[str] = set()
    readable = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            parts = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; inode is column 9.
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                found.add(parts[9])
    return found if readable else None


def start_detached(
    argv: list[str], *, cwd: Path | None, env: Mapping[str, str], log_file: Path
) -> int:
    """Start ARGV in a new session with output appended to LOG_FILE; its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the agent's process group and terminal
            close_fds=True,
        )
    # Reap it whenever it exits, so a long-lived agent does not collect zombies.
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc.pid
