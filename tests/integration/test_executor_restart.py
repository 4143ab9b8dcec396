"""restart_service with real processes: the local pidfile backend and the CLI backends' argv."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from oncall_agent.errors import ActionRejected
from oncall_agent.executors import build_executor, load_executor_config
from oncall_agent.executors.health import check_health
from oncall_agent.executors.local_process import is_alive, read_pid, wait_group_gone
from oncall_agent.models import ActionStatus

pytestmark = pytest.mark.integration

SERVER = str(Path(__file__).with_name("executor_health_server.py"))
FAKE_CLI = """#!{python}
import json, os, sys
with open({log!r}, "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
if sys.argv[1:2] == ["inspect"] and "Running" in sys.argv[3]:
    print("true")
elif sys.argv[1:2] in (["inspect"], ["show"]):  # the running instance: new after each restart
    restarts = sum('"restart"' in line for line in open({log!r}))
    print(100 + (0 if os.path.exists({log!r} + ".same") else restarts))
"""


def _free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def services(tmp_path):
    """Config for local services (health server, stubborn one, plain sleeper); kills them after."""
    port, stubborn_port = _free_port(), _free_port()
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    config = load_executor_config(
        {
            "services": {
                "web": {
                    "backend": "local",
                    "command": [sys.executable, SERVER, str(port)],
                    "pidfile": str(tmp_path / "web.pid"),
                    "health_url": f"http://127.0.0.1:{port}/health",
                },
                "stubborn": {
                    "backend": "local",
                    "stop_grace_s": 0.2,
                    "command": [sys.executable, SERVER, str(stubborn_port), "--ignore-term"],
                    "pidfile": str(tmp_path / "stubborn.pid"),
                    "health_url": f"http://127.0.0.1:{stubborn_port}/health",
                },
                "plain": {
                    "backend": "local",
                    "command": sleeper,
                    "pidfile": str(tmp_path / "plain.pid"),
                },
            }
        }
    )
    yield config, port
    for pidfile in tmp_path.glob("*.pid"):
        pid = read_pid(pidfile)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def _restart(executor, service: str, dry_run: bool = False):
    """Plan and run a restart of SERVICE."""
    plan = executor.plan({"service": service})
    return plan, executor.run(plan, dry_run=dry_run, timeout_s=20)


def test_local_service_is_restarted_healthy_with_a_new_pid(services, tmp_path):
    """A broken service is stopped and started again: health 200, new pid, old process gone."""
    config, port = services
    executor = build_executor("restart_service", config)
    plan, first = _restart(executor, "web")
    assert first.status is ActionStatus.SUCCEEDED and executor.verify(plan, first, {}).ok
    old_pid = first.details["new_pid"]
    httpx.post(f"http://127.0.0.1:{port}/break", timeout=5)
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 500

    plan, result = _restart(executor, "web")
    assert result.status is ActionStatus.SUCCEEDED, result.output
    new_pid = result.details["new_pid"]
    assert executor.verify(plan, result, {"within_s": 15}).ok
    assert new_pid != old_pid and read_pid(tmp_path / "web.pid") == new_pid
    assert result.details["stopped_with"] == "SIGTERM" and not is_alive(old_pid)
    assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200


def test_dry_run_reports_the_pid_and_leaves_it_alone(services, tmp_path):
    """A dry run names the pid it would signal; the pidfile and the process are untouched."""
    config, _ = services
    executor = build_executor("restart_service", config)
    _, first = _restart(executor, "web")
    pid = first.details["new_pid"]
    plan, dry = _restart(executor, "web", dry_run=True)
    assert dry.status is ActionStatus.DRY_RUN and dry.details["would_signal"] == pid
    assert f"pid {pid}" in dry.output and dry.argv == plan.argv
    assert read_pid(tmp_path / "web.pid") == pid and is_alive(pid)
    assert not executor.verify(plan, dry, {}).ok


def test_process_ignoring_sigterm_is_killed_after_the_grace_period(services):
    """A service that ignores SIGTERM is SIGKILLed after stop_grace_s and replaced."""
    config, _ = services
    executor = build_executor("restart_service", config)
    plan, first = _restart(executor, "stubborn")
    assert executor.verify(plan, first, {}).ok  # serving, so it has set SIGTERM to be ignored
    old_pid = first.details["new_pid"]
    _, result = _restart(executor, "stubborn")
    assert result.details["stopped_with"] == "SIGKILL" and not is_alive(old_pid)
    assert is_alive(result.details["new_pid"])


def test_recycled_pid_of_another_program_is_never_signalled(services, tmp_path):
    """A pidfile pointing at an unrelated process does not get it killed; the service starts."""
    config, _ = services
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "web.pid").write_text(str(bystander.pid))
        executor = build_executor("restart_service", config)
        plan, result = _restart(executor, "web")
        assert result.status is ActionStatus.SUCCEEDED and result.details["old_pid"] is None
        assert "runs something else: not signalled" in result.output
        assert bystander.poll() is None
        assert executor.verify(plan, result, {}).ok
    finally:
        bystander.kill()
        bystander.wait()


def test_without_health_url_verify_checks_the_process_is_alive(services):
    """Without a health URL, verify passes while the new process lives on, fails once it died."""
    config, _ = services
    executor = build_executor("restart_service", config)
    plan, result = _restart(executor, "plain")
    assert executor.verify(plan, result, {}).ok
    os.killpg(result.details["new_pid"], signal.SIGKILL)
    assert wait_group_gone(result.details["new_pid"], 5)
    check = executor.verify(plan, result, {"within_s": 1})
    assert not check.ok and "not running" in check.detail


@pytest.fixture
def fake_clis(tmp_path, monkeypatch):
    """Real stand-in programs named systemctl, docker and kubectl that log their argv."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "cli.log"
    for name in ("systemctl", "docker", "kubectl"):
        script = bin_dir / name
        script.write_text(FAKE_CLI.format(python=sys.executable, log=str(log)))
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def _calls(log: Path) -> list[list[str]]:
    """The argv lists the fake CLIs were called with."""
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


SYSTEMCTL_ID = ["systemctl", "show", "--property=MainPID", "--value", "nginx.service"]
DOCKER_ID = ["docker", "inspect", "--format", "{{.State.Pid}} {{.State.StartedAt}}", "web-1"]
CLI_CASES = [
    (
        {"backend": "systemctl", "unit": "nginx.service"},
        ["systemctl", "restart", "nginx.service"],
        ["systemctl", "is-active", "--quiet", "nginx.service"],
        SYSTEMCTL_ID,
    ),
    (
        {"backend": "docker", "container": "web-1"},
        ["docker", "restart", "web-1"],
        ["docker", "inspect", "--format", "{{.State.Running}}", "web-1"],
        DOCKER_ID,
    ),
    (
        {"backend": "kubectl", "deployment": "api", "namespace": "prod"},
        ["kubectl", "rollout", "restart", "deployment/api", "-n", "prod"],
        ["kubectl", "rollout", "status", "deployment/api", "-n", "prod", "--timeout=15s"],
        None,
    ),
]


@pytest.mark.parametrize(("target", "restart", "status", "identity"), CLI_CASES)
def test_cli_backends_run_exactly_the_expected_argv(fake_clis, target, restart, status, identity):
    """Dry run calls nothing; a run reads the instance, restarts; verify checks a new one runs."""
    executor = build_executor(
        "restart_service", load_executor_config({"services": {"svc": target}})
    )
    plan, dry = _restart(executor, "svc", dry_run=True)
    assert dry.status is ActionStatus.DRY_RUN and Path(dry.argv[0]).name == restart[0]
    assert dry.argv[1:] == restart[1:] and _calls(fake_clis) == []
    _, result = _restart(executor, "svc")
    before = [identity] if identity else []
    assert result.status is ActionStatus.SUCCEEDED and _calls(fake_clis) == [*before, restart]
    assert executor.verify(plan, result, {}).ok
    assert _calls(fake_clis) == [*before, restart, status, *before]


@pytest.mark.parametrize(("target", "restart", "status", "identity"), CLI_CASES[:2])
def test_a_unit_that_kept_its_old_process_fails_verification(
    fake_clis, target, restart, status, identity
):
    """systemctl/docker said yes, but the same MainPID (container Pid) still runs: not verified."""
    Path(f"{fake_clis}.same").touch()  # the fake now reports the same instance throughout
    executor = build_executor(
        "restart_service", load_executor_config({"services": {"svc": target}})
    )
    plan, result = _restart(executor, "svc")
    check = executor.verify(plan, result, {})
    assert result.status is ActionStatus.SUCCEEDED
    assert not check.ok and "the same instance still runs" in check.detail


@pytest.mark.parametrize("service", ["db", "", None, 3, "web ", "WEB", {"name": "web"}])
def test_unknown_services_are_rejected(services, service):
    """Only configured service names are accepted."""
    config, _ = services
    with pytest.raises(ActionRejected, match="not configured"):
        build_executor("restart_service", config).plan({"service": service})


def test_extra_parameters_are_rejected(services):
    """A restart takes only 'service'."""
    config, _ = services
    with pytest.raises(ActionRejected, match="unknown parameter"):
        build_executor("restart_service", config).plan({"service": "web", "force": True})


def test_wrong_pidfile_with_the_old_process_still_serving_fails_verification(services, tmp_path):
    """Nothing stopped, the new process dies on the taken port, the old one answers /health:
    verification fails (it used to say "succeeded, verified")."""
    config, port = services
    old = subprocess.Popen(
        [sys.executable, SERVER, str(port)], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        health = f"http://127.0.0.1:{port}/health"
        assert check_health(health, within_s=10).ok  # the old process serves
        (tmp_path / "web.pid").write_text("999999\n")  # a pidfile that names nothing
        executor = build_executor("restart_service", config)
        plan, result = _restart(executor, "web")
        assert result.details["old_pid"] is None  # nothing was stopped
        check = executor.verify(plan, result, {"within_s": 5})
        assert not check.ok, check.detail
        assert "not from the new pid" in check.detail or "not running" in check.detail
        assert old.poll() is None  # the old process still runs: nothing was restarted
    finally:
        os.killpg(old.pid, signal.SIGKILL)
        old.wait()


def test_a_new_process_that_serves_health_passes_verification(services, tmp_path):
    """Control: with the old one stopped, a new pid that answers /health itself passes."""
    config, _ = services
    executor = build_executor("restart_service", config)
    _, first = _restart(executor, "web")
    plan, second = _restart(executor, "web")
    check = executor.verify(plan, second, {"within_s": 10})
    assert check.ok and "answers from it" in check.detail, check.detail
    assert not is_alive(first.details["new_pid"])
