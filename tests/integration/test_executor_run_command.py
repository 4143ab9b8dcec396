"""run_command against real processes: success, failure, timeout, output hygiene, dry run."""

from __future__ import annotations

import sys

import pytest

from oncall_agent.errors import ActionRejected, VerificationError
from oncall_agent.executors import build_executor, load_executor_config
from oncall_agent.executors.local_process import is_alive
from oncall_agent.models import ActionStatus

pytestmark = pytest.mark.integration

PY = [sys.executable, "-I", "-S", "-c"]
# The child starts a grandchild that records its pid, then both sleep: a timeout must kill both.
SLEEPER = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
    "open(sys.argv[1], 'w').write(str(child.pid)); print('started', flush=True)\n"
    "time.sleep(60)\n"
)
CHATTY = (
    "import sys\n"
    "print('password=' + sys.argv[1]); print('x' * 50000); print('the token is', sys.argv[1])\n"
)


def _config(tmp_path):
    """Templates for the tests: echo, exit with a code, sleep past a timeout, print a lot."""
    return load_executor_config(
        {
            "command_templates": {
                "echo": {"argv": ["echo", "{word}"], "params": {"word": {"pattern": "[a-z]+"}}},
                "exit": {
                    "argv": [*PY, "import sys; sys.exit(int(sys.argv[1]))", "{code}"],
                    "params": {"code": {"choices": ["0", "3"]}},
                },
                "sleep": {"argv": [*PY, SLEEPER, str(tmp_path / "grandchild.pid")]},
                "chatty": {
                    "argv": [*PY, CHATTY, "{secret}"],
                    "params": {"secret": {"pattern": r"\w+"}},
                },
                "env": {
                    "argv": [*PY, "import os; print(sorted(os.environ))"],
                    "env": {"EXTRA": "1"},
                },
                "touch": {"argv": ["touch", str(tmp_path / "ran")]},
            }
        }
    )


@pytest.fixture
def executor(tmp_path):
    """A run_command executor with a small output limit and one known secret."""
    return build_executor(
        "run_command", _config(tmp_path), secrets=["S3CRETVALUE"], output_limit=2000
    )


def test_command_runs_and_its_output_is_captured(executor):
    """A successful command is SUCCEEDED, its argv is reported and its output captured."""
    plan = executor.plan({"template": "echo", "params": {"word": "hello"}})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert result.status is ActionStatus.SUCCEEDED
    assert result.argv == plan.argv and plan.argv[1:] == ["hello"]
    assert result.output.strip() == "hello"
    assert executor.verify(plan, result, {"exit_code": 0}).ok


def test_non_zero_exit_fails_and_verify_can_expect_it(executor):
    """A command exiting 3 is FAILED; verify with exit_code 3 confirms, with 0 does not."""
    plan = executor.plan({"template": "exit", "params": {"code": "3"}})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert result.status is ActionStatus.FAILED
    assert result.details["exit_code"] == 3
    assert executor.verify(plan, result, {"exit_code": 3}).ok
    assert not executor.verify(plan, result, {"exit_code": 0}).ok
    assert not executor.verify(plan, result, {}).ok


def test_timeout_fails_clearly_and_kills_the_whole_process_group(executor, tmp_path):
    """Past its timeout the command and its children are killed; the result is FAILED, timed_out."""
    plan = executor.plan({"template": "sleep", "params": {}})
    result = executor.run(plan, dry_run=False, timeout_s=1.0)
    assert result.status is ActionStatus.FAILED
    assert result.details["timed_out"] is True and result.details["exit_code"] is None
    assert "timed out after 1s" in result.output and "started" in result.output
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    assert not is_alive(grandchild)  # a zombie awaiting its reaper counts as gone


def test_output_is_redacted_and_truncated(executor):
    """Secrets (given and credential-shaped) never reach the result; long output is cut."""
    plan = executor.plan({"template": "chatty", "params": {"secret": "S3CRETVALUE"}})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert result.status is ActionStatus.SUCCEEDED
    assert "S3CRETVALUE" not in result.output
    assert "password=[REDACTED]" in result.output
    assert "the token is [REDACTED]" in result.output
    assert len(result.output) <= 2000 and "characters cut]" in result.output


def test_agent_environment_is_not_passed_to_commands(executor, monkeypatch):
    """A secret in the agent's environment is not visible to the command; template env is."""
    monkeypatch.setenv("ONCALL_DB_PASSWORD_FOR_TEST", "x")
    plan = executor.plan({"template": "env", "params": {}})
    output = executor.run(plan, dry_run=False, timeout_s=10).output
    assert "ONCALL_DB_PASSWORD_FOR_TEST" not in output
    assert "'EXTRA'" in output and "'PATH'" in output


def test_dry_run_reports_the_argv_and_runs_nothing(executor, tmp_path):
    """A dry run returns DRY_RUN with the argv; the command's side effect does not happen."""
    plan = executor.plan({"template": "touch", "params": {}})
    result = executor.run(plan, dry_run=True, timeout_s=10)
    assert result.status is ActionStatus.DRY_RUN and result.dry_run
    assert result.argv == plan.argv and str(tmp_path / "ran") in result.output
    assert not (tmp_path / "ran").exists()
    assert not executor.verify(plan, result, {}).ok


def test_a_tampered_plan_is_refused_before_running(executor, tmp_path):
    """A plan whose argv no longer matches its parameters is rejected and nothing runs."""
    plan = executor.plan({"template": "echo", "params": {"word": "hello"}})
    tampered = plan.model_copy(update={"argv": ["touch", str(tmp_path / "ran")]})
    with pytest.raises(ActionRejected, match="does not match its parameters"):
        executor.run(tampered, dry_run=False, timeout_s=10)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"template": "rm", "params": {}}, "template 'rm' is not configured"),
        ({"template": "echo", "params": {"word": "Hello"}}, "does not match its pattern"),
        ({"template": "echo", "params": "word=x"}, "must be a mapping"),
        ({"template": "echo", "params": {}, "shell": True}, "unknown parameter"),
    ],
)
def test_invalid_requests_are_rejected_with_a_clear_message(executor, params, message):
    """Unknown templates, disallowed values and unexpected keys are rejected at plan time."""
    with pytest.raises(ActionRejected, match=message):
        executor.plan(params)


def test_unknown_verify_setting_is_an_error(executor):
    """A typo in the verify settings is reported instead of silently passing."""
    plan = executor.plan({"template": "echo", "params": {"word": "hi"}})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    with pytest.raises(VerificationError, match="exit_cod"):
        executor.verify(plan, result, {"exit_cod": 0})
