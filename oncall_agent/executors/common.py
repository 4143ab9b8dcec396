"""What every executor's constructor shares: its config, the secrets to redact, the output cap."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.settings import get_settings

ClientT = TypeVar("ClientT")


class ConfiguredExecutor:
    """An executor acting on what CONFIG allow-lists; output is redacted and capped."""

    def __init__(
        self,
        config: ExecutorConfig,
        *,
        secrets: Iterable[str] = (),
        output_limit: int | None = None,
    ) -> None:
        """Keep CONFIG, the SECRETS to redact from output, and the output cap."""
        self.config = config
        self.secrets = tuple(secrets)
        self.output_limit = output_limit or get_settings().action_output_limit


class ClientExecutor(ConfiguredExecutor, Generic[ClientT]):
    """An executor acting through a client built from a connection block."""

    def __init__(
        self,
        config: ExecutorConfig,
        client: ClientT,
        *,
        secrets: Iterable[str] = (),
        output_limit: int | None = None,
    ) -> None:
        """Act through CLIENT, within CONFIG."""
        super().__init__(config, secrets=secrets, output_limit=output_limit)
        self.client = client
