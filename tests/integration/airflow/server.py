"""A real Airflow 3 for the tests: installed once per machine, started once per test session.

Install: `apache-airflow==AIRFLOW_VERSION` with pip into its own virtualenv under
~/.cache/oncall-agent/airflow-<version>-py<X.Y>/ (ONCALL_AIRFLOW_CACHE moves the cache), done
under a file lock and marked complete only once `airflow version` runs, so a crashed install is
redone and two sessions never install at once. The version is pinned alone (no constraints file:
only the package index is reachable here) and matches apache-airflow-client's version.
Start: `airflow standalone` with SQLite in a fresh AIRFLOW_HOME, the API server on 127.0.0.1 at
a free port, the execution API URL pointing at it, one user `oncall` (admin) whose password the
test writes into the simple auth manager's password file. Stop: SIGTERM to the whole process
group, SIGKILL if anything is left after a grace period.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

AIRFLOW_VERSION = "3.3.2"
USERNAME = "oncall"
TEST_DAGS = ("oncall_marker", "oncall_retry", "oncall_ok")
INSTALL_TIMEOUT_S = 1200
START_TIMEOUT_S = 240
STOP_GRACE_S = 20
# What pip prints when it cannot reach the package index (as opposed to a broken install).
_NETWORK_FAILURE = re.compile(
    r"Failed to establish a new connection|Temporary failure in name resolution|"
    r"Name or service not known|Network is unreachable|Connection refused|ConnectTimeoutError|"
    r"ReadTimeoutError|Max retries exceeded|ProxyError|Could not fetch URL|"
    # The index listed no apache-airflow at all: it was not reached (it always has versions).
    r"requirement apache-airflow==\S+ \(from versions: none\)",
    re.IGNORECASE,
)


class AirflowUnavailable(Exception):
    """Airflow could not be installed because the package index could not be reached."""


def airflow_venv() -> Path:
    """Where this version of Airflow is installed for this Python."""
    root = Path(os.environ.get("ONCALL_AIRFLOW_CACHE", Path.home() / ".cache" / "oncall-agent"))
    return root / f"airflow-{AIRFLOW_VERSION}-py{sys.version_info.major}.{sys.version_info.minor}"


def ensure_airflow() -> Path:
    """The `airflow` executable, installing it first if this machine has none cached."""
    venv = airflow_venv()
    done = venv / ".installed"
    if done.exists():
        return venv / "bin" / "airflow"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be installing: wait for it
        if not done.exists():
            _install(venv)
            done.write_text(AIRFLOW_VERSION + "\n")
    return venv / "bin" / "airflow"


def _install(venv: Path) -> None:
    """Create VENV afresh and pip-install Airflow into it; raise if it cannot be done."""
    shutil.rmtree(venv, ignore_errors=True)  # a half-done install from a crashed session
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    result = subprocess.run(
        [*pip, "install", f"apache-airflow=={AIRFLOW_VERSION}"],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        shutil.rmtree(venv, ignore_errors=True)
        if _NETWORK_FAILURE.search(output):
            raise AirflowUnavailable(f"pip could not reach the package index:\n{output}")
        raise RuntimeError(f"pip install apache-airflow=={AIRFLOW_VERSION} failed:\n{output}")
    with tempfile.TemporaryDirectory() as home:  # `airflow version` writes an airflow.cfg
        check = subprocess.run(
            [str(venv / "bin" / "airflow"), "version"], capture_output=True, text=True,
            timeout=300, check=False, env=_clean_env() | {"AIRFLOW_HOME": home},
        )  # fmt: skip
    if check.returncode != 0 or AIRFLOW_VERSION not in check.stdout:
        shutil.rmtree(venv, ignore_errors=True)
        raise RuntimeError(f"the installed airflow does not run:\n{check.stderr[-3000:]}")


def _clean_env() -> dict[str, str]:
    """This process's environment without what would make Airflow use our virtualenv."""
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "AIRFLOW_HOME"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("AIRFLOW_")}


def _free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AirflowServer:
    """A running `airflow standalone` and how to reach it."""

    base_url: str
    username: str
    password: str
    home: Path
    process: subprocess.Popen[bytes]
    log_file: Path

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's output, for failure messages."""
        return self.log_file.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """Stop every process of the server (its whole process group)."""
        _signal_group(self.process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_S)
        # Children (API server, workers) may outlive the parent: the group gets SIGKILL.
        _signal_group(self.process, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=STOP_GRACE_S)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Send SIGNUM to the process group PROCESS leads, if any of it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def start_airflow(airflow: Path, home: Path, dags: Path) -> AirflowServer:
    """Start `airflow standalone` in HOME with the DAG files of DAGS; return once it serves them."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(18)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USERNAME: password}))
    dags_folder = home / "dags"
    shutil.copytree(dags, dags_folder, ignore=shutil.ignore_patterns("__pycache__"))
    env = _clean_env() | {
        "PATH": f"{airflow.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
    }
    log_file = home / "standalone.log"
    with open(log_file, "wb") as out:
        process = subprocess.Popen(
            [str(airflow), "standalone"], cwd=home, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = AirflowServer(base_url, USERNAME, password, home, process, log_file)
    try:
        _wait_until_serving(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_serving(server: AirflowServer) -> None:
    """Return once the components are healthy and the test DAGs are parsed; raise otherwise."""
    deadline = time.monotonic() + START_TIMEOUT_S
    token: str | None = None
    with httpx.Client(base_url=server.base_url, timeout=5, trust_env=False) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"airflow standalone exited:\n{server.log_tail()}")
            try:
                token = token or _login(http, server)
                if token and _healthy(http) and _dags_parsed(http, token):
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            time.sleep(0.5)
    raise RuntimeError(f"Airflow was not ready in {START_TIMEOUT_S}s:\n{server.log_tail()}")


def _login(http: httpx.Client, server: AirflowServer) -> str | None:
    """A token for the test user, or None while the API server is not ready."""
    reply = http.post(
        "/auth/token", json={"username": server.username, "password": server.password}
    )
    return reply.json()["access_token"] if reply.status_code == 201 else None


def _healthy(http: httpx.Client) -> bool:
    """Whether the scheduler, DAG processor and triggerer report healthy."""
    reply = http.get("/api/v2/monitor/health")
    if reply.status_code != 200:
        return False
    health = reply.json()
    parts = ("metadatabase", "scheduler", "dag_processor", "triggerer")
    return all((health.get(p) or {}).get("status") == "healthy" for p in parts)


def _dags_parsed(http: httpx.Client, token: str) -> bool:
    """Whether every test DAG is known to the API."""
    reply = http.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"})
    known = (
        {d["dag_id"] for d in reply.json().get("dags", [])} if reply.status_code == 200 else set()
    )
    return set(TEST_DAGS) <= known
