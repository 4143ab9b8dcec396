"""Airflow blocks: the connection (URL and credentials) and the source of failed Airflow work.

The connection is named in an ActionTargets block's `connections` ({"airflow": "<block name>"})
so the Airflow actions can act through it, and nested in a source block so detection can read
failures through it. Secrets (password, token) are SecretStr fields.
"""

from __future__ import annotations

import re

from prefect.blocks.core import Block
from pydantic import ConfigDict, Field, HttpUrl, SecretStr, field_validator, model_validator

from oncall_agent.integrations.airflow_client import AirflowClient
from oncall_agent.sources.airflow import AirflowSource

_BASE_URL = re.compile(r"https?://[^/@\s?#]+(/[^\s?#]*)?")
_DOCS = HttpUrl("https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html")


def _example(name: str, variable: str) -> str:
    """The code example Prefect shows for block class NAME."""
    return (
        f"```python\nfrom blocks.airflow import {name}\n\n"
        f'{variable} = {name}.load("BLOCK_NAME")\n```'
    )


class AirflowConnection(Block):
    """An Airflow 3 API server and how to log in to it (a token, or a username and password)."""

    model_config = ConfigDict(hide_input_in_errors=True)  # never echo a password back

    _block_type_name = "Oncall Airflow Connection"
    _block_type_slug = "oncall-airflow-connection"
    _description = "The Airflow API server the on-call agent reads failures from and acts on."
    _documentation_url = _DOCS
    _code_example = _example("AirflowConnection", "connection")

    base_url: str = Field(
        ..., description="Root URL of the Airflow API server, e.g. https://airflow.example.org."
    )
    username: str | None = Field(
        default=None, description="User to log in as (POST /auth/token); empty with a token."
    )
    password: SecretStr | None = Field(default=None, description="That user's password.")
    token: SecretStr | None = Field(
        default=None, description="A ready API token (JWT), used instead of logging in."
    )
    verify_tls: bool = Field(default=True, description="Check the server's TLS certificate.")
    timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds before one API call gives up."
    )

    @field_validator("base_url")
    @classmethod
    def _plain_url(cls, value: str) -> str:
        """An http(s) URL with a host and no credentials, query or fragment."""
        if not _BASE_URL.fullmatch(value):
            raise ValueError("must look like http(s)://host[:port][/path], without user:password@")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _credentials(self) -> AirflowConnection:
        """A token, or both a username and a password."""
        if self.token is None and not (self.username and self.password):
            raise ValueError("give a token, or both a username and a password")
        return self

    def build_client(self) -> AirflowClient:
        """The Airflow client this connection describes (it logs in on first use)."""
        # Imported here: apache-airflow-client takes about a second to import, and every flow
        # imports this module through the connection registry.
        from oncall_agent.integrations.airflow_rest import AirflowRestClient

        return AirflowRestClient(
            self.base_url,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            token=self.token.get_secret_value() if self.token else None,
            verify_tls=self.verify_tls,
            timeout_s=self.timeout,
        )

    def secret_values(self) -> list[str]:
        """The plaintext secrets of this block, for redaction only (never logged)."""
        return [s.get_secret_value() for s in (self.password, self.token) if s is not None]


class AirflowFailureSource(Block):
    """Failed and up-for-retry task instances and failed runs of an Airflow, as incidents."""

    _block_type_name = "Oncall Airflow Source"
    _block_type_slug = "oncall-airflow-source"
    _description = "Airflow task and DAG run failures the on-call agent turns into incidents."
    _documentation_url = _DOCS
    _code_example = _example("AirflowFailureSource", "source")

    connection: AirflowConnection
    dag_ids: list[str] = Field(
        default_factory=list, description="Globs of the DAGs to watch; empty watches every DAG."
    )
    lookback_s: int = Field(
        default=300, ge=0, description="Seconds each poll looks back for late-committed failures."
    )
    initial_window_s: int = Field(
        default=3600, ge=0, description="How far back the very first poll looks, in seconds."
    )
    log_lines: int = Field(
        default=20, ge=0, le=500, description="Lines of the task log kept with each incident."
    )

    def build(self) -> AirflowSource:
        """The source this block describes, reading through its connection."""
        return AirflowSource(
            self.connection.build_client(),
            dag_ids=list(self.dag_ids),
            lookback_s=self.lookback_s,
            initial_window_s=self.initial_window_s,
            log_lines=self.log_lines,
        )
