"""The block that allow-lists what the agent may touch, and holds the secrets actions need."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from oncall_agent.executors.config import ExecutorConfig


class ActionTargets(Block):
    """Allow-listed services, cleanup roots, URLs and command templates, plus per-service values."""

    _block_type_name = "Oncall Action Targets"
    _block_type_slug = "oncall-action-targets"
    _description = "What the on-call agent's actions may touch (everything else is refused)."

    executors: ExecutorConfig = Field(default_factory=ExecutorConfig)
    service_vars: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per-service values actions may use, e.g. {'api': {'log_dir': '/var/log/api'}}",
    )
    connections: dict[str, str] = Field(
        default_factory=dict,
        description="Connection blocks actions may use, by client: {'airflow': 'prod-airflow'}",
    )
    secrets: list[SecretStr] = Field(
        default_factory=list, description="Values redacted from every action output"
    )

    def secret_values(self) -> tuple[str, ...]:
        """The plaintext secrets, for redaction only (never logged)."""
        return tuple(s.get_secret_value() for s in self.secrets)
