"""Filling {{incident.X}} placeholders in an action's parameters."""

from __future__ import annotations

import pytest

from oncall_agent.errors import ConfigError
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.render import render_action
from oncall_agent.models import ActionSpec


def test_placeholders_are_filled_everywhere() -> None:
    """Placeholders in params, nested lists and verify are replaced; other values are kept."""
    spec = ActionSpec(
        name="run_command",
        params={"template": "logs", "params": {"unit": "{{incident.service}}.service"},
                "args": ["--since", "{{ incident.window }}"], "limit": 5},
        verify={"url": "http://{{incident.service}}/healthz"},
    )  # fmt: skip
    rendered = render_action(spec, {"service": "orders", "window": "1h"})
    assert rendered.params == {
        "template": "logs", "params": {"unit": "orders.service"},
        "args": ["--since", "1h"], "limit": 5,
    }  # fmt: skip
    assert rendered.verify == {"url": "http://orders/healthz"}
    assert spec.params["params"] == {"unit": "{{incident.service}}.service"}  # original untouched


def test_default_entry_renders_with_incident_service() -> None:
    """The connection-pool entry restarts the incident's own service."""
    pool = next(e for e in DEFAULT_ENTRIES if e.key == "db-connection-pool-exhausted")
    assert pool.action is not None
    assert render_action(pool.action, {"service": "orders-api"}).params == {"service": "orders-api"}


def test_missing_field_is_a_config_error_naming_it() -> None:
    """A placeholder for a field the incident lacks names the field and the ones available."""
    spec = ActionSpec(name="cleanup_files", params={"root": "{{incident.log_dir}}"})
    with pytest.raises(ConfigError, match=r"no field 'log_dir'.*available: service"):
        render_action(spec, {"service": "x"})


def test_non_incident_placeholder_is_refused() -> None:
    """Only incident fields may be referenced; anything else is a ConfigError."""
    spec = ActionSpec(name="http_call", params={"url": "{{config.secret}}"})
    with pytest.raises(ConfigError, match=r"'\{\{config.secret\}\}' is not allowed"):
        render_action(spec, {"secret": "x"})


def test_empty_value_is_refused() -> None:
    """An empty incident value is refused because it would widen the action."""
    spec = ActionSpec(name="cleanup_files", params={"root": "{{incident.log_dir}}"})
    with pytest.raises(ConfigError, match=r"'log_dir' is empty"):
        render_action(spec, {"log_dir": " "})


def test_values_are_not_expanded_again() -> None:
    """A value that itself looks like a placeholder or code is inserted literally, once."""
    spec = ActionSpec(name="restart_service", params={"service": "{{incident.service}}"})
    rendered = render_action(spec, {"service": "{{incident.other}} $(rm -rf /)", "other": "x"})
    assert rendered.params["service"] == "{{incident.other}} $(rm -rf /)"
