"""A whole agent setup as one YAML file: read it, fill in secrets from the environment, and name
every problem by its place in the file (`targets.default.executors.services.api.backend`).

The file has one section per kind of configuration; each maps a block name (or `kind/name` for
sources, channels and connections) to that block's fields:

    sources:   {file/default: {paths: [/var/log/app/*.log], service: app}}
    policy:    {default: {policy: {auto_threshold: 0.8}}}
    targets:   {default: {executors: {services: {app: {backend: systemctl, unit: app}}}}}
    channels:  {email/oncall-team: {smtp_host: mail.internal, password: "${SMTP_PASSWORD}"}}
    routing:   {default: {routes: [...]}}

Secrets never need to sit in the file: any string may be `${ENV_VAR}`, read at apply time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oncall_agent.errors import ConfigError

SECTIONS = ("sources", "policy", "targets", "channels", "routing", "connections", "llm")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class BlockSpec:
    """One block the file asks for: its section, its name as written, and its fields."""

    section: str
    name: str
    fields: dict[str, Any]

    @property
    def where(self) -> str:
        """The block's place in the file, for messages."""
        return f"{self.section}.{self.name}"


def read_config(path: Path) -> list[BlockSpec]:
    """Every block PATH describes, secrets filled in from the environment (ConfigError if not)."""
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{path}:{at} is not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from exc
    if document is None:
        raise ConfigError(f"{path} is empty; see the README's configuration example")
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections {SECTIONS}")
    return [
        spec for section, blocks in document.items() for spec in _section(path, section, blocks)
    ]


def _section(path: Path, section: object, blocks: object) -> list[BlockSpec]:
    """The blocks of one section, checked for shape."""
    if section not in SECTIONS:
        raise ConfigError(f"{path}: unknown section {section!r}; expected one of {SECTIONS}")
    if not isinstance(blocks, dict):
        raise ConfigError(f"{path}: {section} must map block names to their fields")
    specs = []
    for name, fields in blocks.items():
        where = f"{section}.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{path}: {section} has a block with no name")
        if fields is None:
            fields = {}
        if not isinstance(fields, dict):
            raise ConfigError(f"{path}: {where} must be a mapping of fields")
        specs.append(BlockSpec(str(section), name, _fill_env(fields, f"{path}: {where}")))
    return specs


def _fill_env(value: Any, where: str) -> Any:
    """VALUE with every `${VAR}` replaced by the environment's value (ConfigError if unset)."""
    if isinstance(value, dict):
        return {k: _fill_env(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_env(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: _env(m.group(1), where), value)
    return value


def _env(name: str, where: str) -> str:
    """The environment variable NAME, or a ConfigError naming the field that needs it."""
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(f"{where} needs the environment variable {name}, which is not set")
    return value


def describe_validation(where: str, errors: list[dict[str, Any]]) -> str:
    """Pydantic errors as `where.field.path: message` lines."""
    lines = []
    for error in errors:
        loc = ".".join(str(part) for part in error.get("loc", ()))
        lines.append(f"{where}{'.' + loc if loc else ''}: {error.get('msg', 'invalid')}")
    return "\n".join(lines)


def secret_placeholder(where: str) -> str:
    """The `${VAR}` an export writes instead of a secret (`channels.email/team.password` ->
    `${ONCALL_CHANNELS_EMAIL_TEAM_PASSWORD}`)."""
    return "${ONCALL_" + re.sub(r"[^A-Za-z0-9]+", "_", where).strip("_").upper() + "}"
