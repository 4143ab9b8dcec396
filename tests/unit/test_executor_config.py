"""Executor configuration, the registry, the argv guard, and URL allow-listing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from oncall_agent.errors import ActionRejected, ConfigError
from oncall_agent.executors import (
    Executor,
    build_executor,
    configured_actions,
    load_executor_config,
)
from oncall_agent.executors.argv import check_param_value, render_argv, resolve_executable
from oncall_agent.executors.config import CommandTemplate, ParamRule, ServiceTarget
from oncall_agent.executors.urls import check_url_allowed


def test_placeholder_must_be_a_whole_argv_element():
    """'--name={name}' is refused: a value glued to other text could change its meaning."""
    with pytest.raises(ValidationError, match="whole element"):
        CommandTemplate(argv=["echo", "--name={name}"], params={"name": ParamRule(pattern="x")})


def test_executable_cannot_be_a_placeholder():
    """Parameters can never choose which program runs."""
    with pytest.raises(ValidationError, match="executable"):
        CommandTemplate(argv=["{prog}"], params={"prog": ParamRule(choices=["ls"])})


def test_placeholders_and_rules_must_agree():
    """A placeholder without a rule, or a rule without a placeholder, is a config error."""
    with pytest.raises(ValidationError, match="same parameters"):
        CommandTemplate(argv=["echo", "{a}"], params={})
    with pytest.raises(ValidationError, match="same parameters"):
        CommandTemplate(argv=["echo"], params={"a": ParamRule(choices=["x"])})


def test_param_rule_needs_exactly_one_valid_rule():
    """A rule has choices or a compiling pattern, not both and not neither."""
    with pytest.raises(ValidationError, match="exactly one"):
        ParamRule()
    with pytest.raises(ValidationError, match="exactly one"):
        ParamRule(choices=["a"], pattern="a")
    with pytest.raises(ValidationError, match="does not compile"):
        ParamRule(pattern="(unclosed")


def test_load_executor_config_names_the_bad_field():
    """An invalid config raises ConfigError whose message names the field path."""
    with pytest.raises(ConfigError, match=r"services\.web"):
        load_executor_config({"services": {"web": {"backend": "systemctl"}}})


def test_misspelt_config_keys_are_errors():
    """A key the config does not know (a typo) is reported instead of silently ignored."""
    with pytest.raises(ConfigError, match="cleanup_root"):
        load_executor_config({"cleanup_root": ["/var/log/app"]})
    with pytest.raises(ConfigError, match="health_ur"):
        load_executor_config(
            {"services": {"w": {"backend": "docker", "container": "w", "health_ur": "x"}}}
        )


def test_service_names_must_be_plain_names():
    """A unit name that looks like an option or shell is refused at configuration time."""
    with pytest.raises(ValidationError, match="plain name"):
        ServiceTarget(backend="systemctl", unit="--force; reboot")


def test_local_service_defaults_its_log_file_next_to_the_pidfile(tmp_path):
    """A local service without log_file logs beside its pidfile."""
    target = ServiceTarget(backend="local", command=["x"], pidfile=tmp_path / "web.pid")
    assert target.log_file == tmp_path / "web.log"


@pytest.mark.parametrize("root", ["/", "relative/dir", "/var/../"])
def test_cleanup_roots_must_be_narrow_absolute_paths(root):
    """The filesystem root, relative paths and '..' are refused as cleanup roots."""
    with pytest.raises(ConfigError, match="cleanup_roots"):
        load_executor_config({"cleanup_roots": [root]})


@pytest.mark.parametrize("prefix", ["ftp://host/", "127.0.0.1:80/", "http://u:p@host/"])
def test_http_prefixes_must_be_http_urls(prefix):
    """Only http(s) URLs with a host and no credentials are accepted as prefixes."""
    with pytest.raises(ConfigError, match="http_allowed_prefixes"):
        load_executor_config({"http_allowed_prefixes": [prefix]})


def test_build_executor_refuses_an_unknown_action():
    """An action name the registry does not know is rejected with the list of known ones."""
    with pytest.raises(ActionRejected, match=r"unknown action 'rm_rf'.*restart_service"):
        build_executor("rm_rf", load_executor_config({}))


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ("run_command", "command_templates"),
        ("http_call", "http_allowed_prefixes"),
        ("cleanup_files", "cleanup_roots"),
        ("restart_service", "services"),
    ],
)
def test_build_executor_refuses_an_unconfigured_action(action, field):
    """An action whose allow-list is empty is rejected, naming the field to fill."""
    with pytest.raises(ActionRejected, match=f"not configured.*{field}"):
        build_executor(action, load_executor_config({}))


def test_configured_actions_lists_only_actions_with_an_allow_list():
    """Only actions whose allow-list has entries are offered to the policy."""
    config = load_executor_config({"http_allowed_prefixes": ["http://h/"], "cleanup_roots": ["/x"]})
    assert configured_actions(config) == {"http_call", "cleanup_files"}
    assert configured_actions(load_executor_config({})) == set()


def test_build_executor_returns_an_executor_for_a_configured_action():
    """A configured action yields an object following the Executor protocol."""
    executor = build_executor(
        "http_call", load_executor_config({"http_allowed_prefixes": ["http://h/"]})
    )
    assert isinstance(executor, Executor)
    assert executor.name == "http_call"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("-rf", "starts with '-'"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("", "empty"),
        ("a" * 300, "longer than 256"),
        (True, "string or an integer"),
        (["a"], "string or an integer"),
        ("\uff57\uff45\uff42", "does not match"),  # fullwidth "web",
    ],
)
def test_argv_guard_refuses_dangerous_values(value, why):
    """The built-in guard refuses options, control characters, empties, odd types, lookalikes."""
    with pytest.raises(ActionRejected, match=why):
        check_param_value("name", value, ParamRule(pattern=r"\w+|-rf|a.b"), what="t")


def test_argv_guard_accepts_an_allowed_value_and_integers():
    """An allowed value comes back as exactly the string that goes into argv."""
    assert check_param_value("n", "web-1", ParamRule(pattern=r"[a-z0-9-]+"), what="t") == "web-1"
    assert check_param_value("n", 20, ParamRule(pattern=r"\d+"), what="t") == "20"


def test_render_argv_requires_exactly_the_template_parameters():
    """Missing or unexpected parameters are both refused."""
    template = CommandTemplate(argv=["echo", "{a}"], params={"a": ParamRule(choices=["x"])})
    with pytest.raises(ActionRejected, match="missing"):
        render_argv(template, {}, what="t")
    with pytest.raises(ActionRejected, match="unexpected"):
        render_argv(template, {"a": "x", "b": "y"}, what="t")


def test_render_argv_resolves_the_executable():
    """A bare executable name becomes an absolute path found on PATH."""
    template = CommandTemplate(argv=["echo", "{a}"], params={"a": ParamRule(choices=["x"])})
    argv = render_argv(template, {"a": "x"}, what="t")
    assert Path(argv[0]).is_absolute() and argv[1:] == ["x"]


def test_resolve_executable_refuses_missing_or_relative_programs():
    """A program not on PATH, or a relative path, is rejected at plan time."""
    with pytest.raises(ActionRejected, match="not found on PATH"):
        resolve_executable("no-such-program-xyz", what="t")
    with pytest.raises(ActionRejected, match="absolute path or a bare name"):
        resolve_executable("bin/echo", what="t")
    assert resolve_executable(sys.executable, what="t") == sys.executable


ALLOWED = ["http://127.0.0.1:8080/api/", "https://svc.internal/health"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api/restart",
        "http://127.0.0.1:8080/api/x?y=1",
        "https://svc.internal/health",
        "https://svc.internal:443/health/deep",
    ],
)
def test_url_under_an_allowed_prefix_is_accepted(url):
    """URLs with the same scheme, host, port and a path under the prefix pass."""
    assert check_url_allowed(url, ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8081/api/restart",
        "http://127.0.0.1:8080/admin",
        "http://127.0.0.1:8080/api",
        "https://127.0.0.1:8080/api/x",
        "https://svc.internal/healthz",
        "https://svc.internal.evil.com/health",
        "https://svc.internal@evil.com/health",
        "https://user:pw@svc.internal/health",
        "http://127.0.0.1:8080/api/%2e%2e/admin",
        "http://127.0.0.1:8080/api/..%2fadmin",
        "http://127.0.0.1:8080/api/ x",
        "file:///etc/passwd",
        "",
        None,
    ],
)
def test_url_outside_the_allowed_prefixes_is_rejected(url):
    """Look-alike hosts, other ports, credentials, escapes and other schemes are refused."""
    with pytest.raises(ActionRejected):
        check_url_allowed(url, ALLOWED)
