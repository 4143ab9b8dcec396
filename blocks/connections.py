"""Connection blocks by client name: the flow builds each client an action needs from these.

An ActionTargets block names its connections, e.g. {"airflow": "prod-airflow"}; the resolution flow
loads the block of that type and name and calls its build_client().
"""

from __future__ import annotations

from typing import Any, Protocol

from blocks.airflow import AirflowConnection
from blocks.postgres import PostgresConnection
from blocks.spark import SparkConnection


class ConnectionBlock(Protocol):
    """A block that can build the client of one external system."""

    def build_client(self) -> Any:
        """The client, ready to use (secrets read from SecretStr fields)."""
        ...


# client name -> block class; each integration adds its own line.
CONNECTION_BLOCKS: dict[str, Any] = {
    "airflow": AirflowConnection,
    "postgres": PostgresConnection,
    "spark": SparkConnection,
}
