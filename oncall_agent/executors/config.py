"""What executors may touch: services, cleanup roots, URL prefixes, command templates.

This is the value a Prefect block holds later; every allow-list lives here and nowhere else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from oncall_agent.errors import ConfigError

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Names handed to systemctl / docker / kubectl: no option-looking or shell-looking values.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._:-]{0,252}")
MAX_PARAM_LENGTH = 4096


class ParamRule(BaseModel):
    """What one template parameter may be: one of CHOICES, or a full match of PATTERN.

    Patterns are compiled with re.ASCII so `\\w` and `\\d` never accept unicode lookalikes.
    """

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    choices: list[str] | None = None
    pattern: str | None = None
    max_length: int = Field(default=256, ge=1, le=MAX_PARAM_LENGTH)

    @model_validator(mode="after")
    def _one_rule(self) -> ParamRule:
        """Exactly one of choices / pattern, and a pattern that compiles."""
        if (self.choices is None) == (self.pattern is None):
            raise ValueError("give exactly one of 'choices' or 'pattern'")
        if self.choices is not None and not self.choices:
            raise ValueError("'choices' must not be empty")
        if self.pattern is not None:
            try:
                re.compile(self.pattern, re.ASCII)
            except re.error as exc:
                raise ValueError(f"'pattern' {self.pattern!r} does not compile: {exc}") from exc
        return self


class CommandTemplate(BaseModel):
    """An allow-listed command: ARGV with whole-element `{param}` placeholders and their rules."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    argv: list[str]
    params: dict[str, ParamRule] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None

    @model_validator(mode="after")
    def _placeholders_match_rules(self) -> CommandTemplate:
        """Placeholders are whole argv elements, never the executable, and each has a rule."""
        if not self.argv or not self.argv[0]:
            raise ValueError("'argv' must name an executable first")
        if "{" in self.argv[0] or "}" in self.argv[0]:
            raise ValueError("the executable (argv[0]) cannot be a placeholder")
        used = set()
        for element in self.argv[1:]:
            match = PLACEHOLDER.fullmatch(element)
            if match:
                used.add(match.group(1))
            elif "{" in element or "}" in element:
                raise ValueError(
                    f"argv element {element!r}: a placeholder must be a whole element like "
                    "'{name}' (no text around it)"
                )
        if used != set(self.params):
            raise ValueError(
                f"placeholders {sorted(used)} and parameter rules {sorted(self.params)} "
                "must name the same parameters"
            )
        return self


class ServiceTarget(BaseModel):
    """An allow-listed service and how to restart it."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    backend: Literal["local", "systemctl", "docker", "kubectl"]
    unit: str | None = None
    container: str | None = None
    deployment: str | None = None
    namespace: str = "default"
    command: list[str] | None = None
    cwd: Path | None = None
    pidfile: Path | None = None
    env: dict[str, str] = Field(default_factory=dict)
    log_file: Path | None = None
    health_url: str | None = None
    stop_grace_s: float = Field(default=10.0, gt=0)

    @field_validator("unit", "container", "deployment", "namespace")
    @classmethod
    def _safe_name(cls, value: str | None) -> str | None:
        """Names passed to a CLI must look like names, not options or shell."""
        if value is not None and not SAFE_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a plain name (letters, digits, @ . _ : -)")
        return value

    @model_validator(mode="after")
    def _backend_fields(self) -> ServiceTarget:
        """Each backend gets the fields it needs."""
        needed = {
            "systemctl": ["unit"],
            "docker": ["container"],
            "kubectl": ["deployment"],
            "local": ["command", "pidfile"],
        }[self.backend]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"backend {self.backend!r} needs {', '.join(missing)}")
        if self.backend == "local" and self.log_file is None:
            assert self.pidfile is not None
            self.log_file = self.pidfile.with_suffix(".log")
        return self


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
READ_ONLY_METHODS = ["GET", "HEAD"]


class HttpPrefix(BaseModel):
    """A URL prefix http_call may reach and the methods it may use there (default: read-only)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    prefix: str
    methods: list[str] = Field(default_factory=lambda: list(READ_ONLY_METHODS), min_length=1)

    @field_validator("prefix")
    @classmethod
    def _prefix_is_url(cls, prefix: str) -> str:
        """The prefix is an http(s) URL with a host."""
        if not re.fullmatch(r"https?://[^/@\s?#;%]+(/[^\s?#;%]*)?", prefix):
            raise ValueError(f"URL prefix {prefix!r} must look like http(s)://host[:port]/path")
        return prefix

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, methods: list[str]) -> list[str]:
        """Methods are upper-cased and each one of HTTP_METHODS."""
        upper = [m.upper() for m in methods]
        unknown = sorted(set(upper) - set(HTTP_METHODS))
        if unknown:
            raise ValueError(f"methods {unknown} are not among {list(HTTP_METHODS)}")
        return upper


class ExecutorConfig(BaseModel):
    """Everything the executors may act on; anything not listed here is refused."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    services: dict[str, ServiceTarget] = Field(default_factory=dict)
    cleanup_roots: list[Path] = Field(default_factory=list)
    cleanup_max_files: int = Field(default=1000, ge=1)
    cleanup_max_bytes: int = Field(default=10 * 1024**3, ge=1)
    # A plain string allows GET and HEAD only; {"prefix": ..., "methods": [...]} allows more.
    http_allowed_prefixes: list[HttpPrefix] = Field(default_factory=list)
    command_templates: dict[str, CommandTemplate] = Field(default_factory=dict)
    # Globs of the DAGs the Airflow actions may touch; empty: none (deny by default).
    airflow_allowed_dags: list[str] = Field(default_factory=list)

    @field_validator("cleanup_roots")
    @classmethod
    def _roots_are_narrow(cls, roots: list[Path]) -> list[Path]:
        """Cleanup roots are absolute and never the filesystem root."""
        for root in roots:
            if not root.is_absolute() or root.resolve() == Path("/") or ".." in root.parts:
                raise ValueError(f"cleanup root {str(root)!r} must be an absolute path below '/'")
        return roots

    @field_validator("http_allowed_prefixes", mode="before")
    @classmethod
    def _plain_prefixes(cls, prefixes: Any) -> Any:
        """A plain string is a read-only prefix (GET, HEAD)."""
        if isinstance(prefixes, list):
            return [{"prefix": p} if isinstance(p, str) else p for p in prefixes]
        return prefixes


def load_executor_config(data: dict[str, Any]) -> ExecutorConfig:
    """Validate DATA into an ExecutorConfig; errors become ConfigError naming each field."""
    try:
        return ExecutorConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"executor config is invalid: {problems}") from exc
