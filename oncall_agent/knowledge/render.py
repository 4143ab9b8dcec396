"""Filling an action's {{incident.X}} placeholders with incident fields (plain substitution)."""

from __future__ import annotations

import re
from typing import Any

from oncall_agent.errors import ConfigError
from oncall_agent.models import ActionSpec

# The one placeholder syntax: {{ incident.FIELD }}; other {{ }} contents are refused.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
INCIDENT_REF = re.compile(r"^incident\.([a-z_][a-z0-9_]*)$")


def _fill(text: str, fields: dict[str, str], action: str) -> str:
    """Replace every placeholder in TEXT in one pass (values are never expanded again)."""

    def replace(match: re.Match[str]) -> str:
        ref = match.group(1)
        name = INCIDENT_REF.match(ref)
        if name is None:
            raise ConfigError(
                f"action {action!r}: placeholder {match.group(0)!r} is not allowed; "
                "only {{incident.FIELD}} placeholders are filled in"
            )
        value = fields.get(name.group(1))
        if value is None:
            known = ", ".join(sorted(fields)) or "none"
            raise ConfigError(
                f"action {action!r}: the incident has no field {name.group(1)!r} for "
                f"{match.group(0)} (fields available: {known})"
            )
        if not str(value).strip():
            # An empty value widens an action (an empty path, an empty service): refuse it.
            raise ConfigError(
                f"action {action!r}: incident field {name.group(1)!r} is empty, "
                f"so {match.group(0)} cannot be filled in"
            )
        return str(value)

    return PLACEHOLDER.sub(replace, text)


def _walk(value: Any, fields: dict[str, str], action: str) -> Any:
    """Fill placeholders in every string nested in VALUE."""
    if isinstance(value, str):
        return _fill(value, fields, action)
    if isinstance(value, dict):
        return {k: _walk(v, fields, action) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fields, action) for v in value]
    return value


def render_action(spec: ActionSpec, incident_fields: dict[str, str]) -> ActionSpec:
    """A copy of SPEC with {{incident.X}} replaced by INCIDENT_FIELDS[X]; unknown ones raise."""
    return spec.model_copy(
        update={
            "params": _walk(spec.params, incident_fields, spec.name),
            "verify": _walk(spec.verify, incident_fields, spec.name),
        },
        deep=True,
    )
