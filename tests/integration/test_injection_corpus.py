"""Injection corpus: hostile values in every action parameter never reach a shell or widen a target.

Each payload is either rejected, or lands as exactly one argv element equal to the input (checked
by the real program's output); a canary file that any executed payload would create never appears.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oncall_agent.errors import ActionRejected
from oncall_agent.executors import build_executor, load_executor_config
from oncall_agent.executors.config import HttpPrefix
from oncall_agent.executors.urls import check_url_allowed
from oncall_agent.models import ActionStatus

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BASE_PAYLOADS = [
    "; touch {c}", "$(touch {c})", "`touch {c}`", "| touch {c}", "&& touch {c}", "|| touch {c}",
    "& touch {c} &", "\ntouch {c}", "\r\ntouch {c}", "> {c}", ">> {c}", "< /etc/passwd",
    "$(<{c})", "${{IFS}}touch${{IFS}}{c}", "' ; touch {c} '", '" ; touch {c} "', "\\; touch {c}",
    "-o{c}", "--output={c}", "-", "--", "-rf /", "--help", "*", "?", "[a-z]*", "{{a,b}}", "~",
    "~root", "..", "../../etc/passwd", "/", "\x00touch {c}", "a\x00b", "\ttouch {c}", " ", "",
    "\u037etouch {c}", "\uff1btouch {c}", "\uff04(touch {c})", "\uff5ctouch {c}", "\u2010rf",
    "\u2212rf", "\uff0drf", "\u202etouch {c}", "\u200btouch {c}", "\uff54\uff4f\uff55\uff43\uff48",
    "%0atouch {c}", "%3Btouch {c}", "$PATH", "$HOME/{c}", "%s%s%s%n", "{{0}}", "{{value}}",
    "\\x00", "\x1b[31mred", "\u2028touch {c}", "\x7ftouch", "web; reboot", "web && rm -rf /",
    "web\nrm -rf /", "web`id`", "web$(id)", "web|id", "web#", "!!", "a" * 4096, "a" * 5000,
    "a" * 100_000, ";" * 4000, "$(" * 1000, "web",
]  # fmt: skip
WRAPPERS = ["{p}", "ok{p}", "{p}ok", "ok {p}"]


@pytest.fixture
def canary(tmp_path):
    """Where a payload that reached a shell would create a file."""
    return tmp_path / "canary"


@pytest.fixture
def payloads(canary):
    """At least 200 distinct hostile values, each naming the canary."""
    values = {w.format(p=p.format(c=canary)) for p in BASE_PAYLOADS for w in WRAPPERS}
    assert len(values) >= 200
    return sorted(values)


def _printf_config():
    """Templates printing each argument followed by NUL, so argv boundaries are visible."""
    any_text = {"pattern": ".*", "max_length": 4096}
    return load_executor_config(
        {
            "command_templates": {
                "open": {"argv": ["printf", "%s\\0", "{value}"], "params": {"value": any_text}},
                "strict": {"argv": ["printf", "%s\\0", "{name}"],
                           "params": {"name": {"pattern": r"[a-z0-9-]{1,32}"}}},
                "choice": {"argv": ["printf", "%s\\0", "{mode}"],
                           "params": {"mode": {"choices": ["fast", "slow"]}}},
                "two": {"argv": ["printf", "%s\\0", "{a}", "{b}"],
                        "params": {"a": any_text, "b": {"pattern": r"\w+"}}},
            }
        }
    )  # fmt: skip


CASES = [
    ("open", "value", {}),
    ("strict", "name", {}),
    ("choice", "mode", {}),
    ("two", "a", {"b": "fixed"}),
    ("two", "b", {"a": "fixed"}),
]


def test_run_command_payloads_are_rejected_or_land_as_one_exact_argv_element(payloads, canary):
    """Each payload in each parameter is refused or reaches the program as one exact argument."""
    executor = build_executor("run_command", _printf_config(), output_limit=50_000)
    landed = rejected = 0
    for template, name, others in CASES:
        for payload in payloads:
            params = {**others, name: payload}
            try:
                plan = executor.plan({"template": template, "params": params})
            except ActionRejected:
                rejected += 1
                continue
            result = executor.run(plan, dry_run=False, timeout_s=10)
            expected_args = [
                params[key] for key in ("value", "name", "mode", "a", "b") if key in params
            ]
            assert plan.argv[2:] == expected_args
            assert result.status is ActionStatus.SUCCEEDED
            assert result.output == "".join(f"{arg}\0" for arg in expected_args), payload
            landed += 1
    assert not canary.exists()
    assert landed > 100 and rejected > 100  # both paths were really exercised


def test_restart_service_payloads_are_all_rejected(payloads, canary, tmp_path):
    """No payload names a configured service, so none plans or runs anything."""
    config = load_executor_config(
        {
            "services": {
                "web": {"backend": "local", "command": ["true"], "pidfile": str(tmp_path / "p")}
            }
        }
    )
    executor = build_executor("restart_service", config)
    for payload in payloads:
        if payload == "web":
            continue
        with pytest.raises(ActionRejected):
            executor.plan({"service": payload})
    assert not canary.exists() and not (tmp_path / "p").exists()


def test_cleanup_payloads_never_widen_the_selection(payloads, canary, tmp_path):
    """Payloads as root or pattern are refused or select only files inside the allowed root."""
    root = tmp_path / "logs"
    root.mkdir()
    (root / "app.log").write_text("x")
    (tmp_path / "keep.txt").write_text("keep")
    executor = build_executor("cleanup_files", load_executor_config({"cleanup_roots": [str(root)]}))
    for payload in payloads:
        for params in (
            {"root": f"{root}/{payload}"},
            {"root": payload},
            {"root": str(root), "pattern": payload},
        ):
            try:
                plan = executor.plan(params)
            except ActionRejected:
                continue
            assert all(Path(path).parent == root for path in plan.files)
            executor.run(plan, dry_run=True, timeout_s=5)
    assert (root / "app.log").exists() and (tmp_path / "keep.txt").exists()
    assert not canary.exists()


def test_http_call_payloads_never_leave_the_allowed_prefix(payloads):
    """Payloads appended to an allowed URL are refused or stay under the prefix."""
    prefix = "http://127.0.0.1:9/api/"
    executor = build_executor(
        "http_call",
        load_executor_config({"http_allowed_prefixes": [{"prefix": prefix, "methods": ["POST"]}]}),
    )
    for payload in payloads:
        for url in (prefix + payload, payload):
            try:
                plan = executor.plan({"method": "POST", "url": url})
            except ActionRejected:
                continue
            allowed = [HttpPrefix(prefix=prefix, methods=["POST"])]
            assert check_url_allowed(plan.target, allowed, "POST") == plan.target


def test_no_shell_is_ever_used_in_the_code():
    """No module of the agent runs a shell: no shell=True, os.system, os.popen or getoutput."""
    shell_use = re.compile(
        r"shell\s*=\s*True|os\.system\(|os\.popen\(|getstatusoutput\(|getoutput\("
    )
    offenders = []
    for folder in ("oncall_agent", "flows", "tasks", "blocks", "deployments"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if shell_use.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert (REPO / "oncall_agent" / "executors" / "process.py").exists()  # the scan saw our code
    assert offenders == []
