"""The PostgreSQL connection the `terminate_queries` action works through, with its guard.

Named in an ActionTargets block's `connections` ({"postgres": "<block name>"}). The password is a
SecretStr apart from the DSN; the guard (allowed roles, maximum count, minimum age) bounds every
request the knowledge base or a person makes.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import ConfigDict, Field, HttpUrl, SecretStr, field_validator

from oncall_agent.errors import ConfigError
from oncall_agent.integrations.postgres_client import PostgresAdmin, TerminateGuard

_DOCS = HttpUrl("https://www.postgresql.org/docs/current/monitoring-stats.html")


class PostgresConnection(Block):
    """A database the agent may end sessions on: where it is, and what it may end."""

    model_config = ConfigDict(hide_input_in_errors=True)  # never echo a password back

    _block_type_name = "Oncall Postgres Connection"
    _block_type_slug = "oncall-postgres-connection"
    _description = "A PostgreSQL database whose stuck sessions the on-call agent may terminate."
    _documentation_url = _DOCS
    _code_example = (
        "```python\nfrom blocks.postgres import PostgresConnection\n\n"
        'connection = PostgresConnection.load("BLOCK_NAME")\n```'
    )

    dsn: str = Field(
        ...,
        description="Where to connect, without the password: postgresql://agent@db:5432/app. "
        "The role needs pg_signal_backend (and pg_read_all_stats to see other roles' queries).",
    )
    password: SecretStr | None = Field(default=None, description="The password of the DSN's role.")
    allowed_roles: list[str] = Field(
        ..., min_length=1, description="Only sessions of these roles may be terminated."
    )
    max_count: int = Field(
        default=5, ge=1, le=100, description="More matching sessions than this: refuse, do nothing."
    )
    min_age_s: float = Field(
        default=60.0, ge=0, description="Only sessions idle in transaction or running this long."
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Seconds to wait for a connection."
    )
    statement_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Seconds any statement of the agent may run."
    )

    @field_validator("dsn")
    @classmethod
    def _dsn_without_password(cls, value: str) -> str:
        """A DSN that names a database and carries no password."""
        from oncall_agent.integrations.postgres_psycopg import database_of

        try:
            database_of(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def guard(self) -> TerminateGuard:
        """The bounds every terminate_queries request must stay within."""
        return TerminateGuard(
            allowed_roles=list(self.allowed_roles), max_count=self.max_count,
            min_age_s=self.min_age_s,
        )  # fmt: skip

    def build_client(self) -> PostgresAdmin:
        """The session admin this block describes (connects on each call)."""
        from oncall_agent.integrations.postgres_psycopg import PsycopgAdmin

        return PsycopgAdmin(
            self.dsn,
            self.guard(),
            password=self.password.get_secret_value() if self.password else None,
            connect_timeout_s=self.connect_timeout_s,
            statement_timeout_s=self.statement_timeout_s,
        )

    def secret_values(self) -> list[str]:
        """The plaintext password, for redaction only (never logged)."""
        return [self.password.get_secret_value()] if self.password else []
