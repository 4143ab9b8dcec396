"""Non-secret defaults, read from the environment (ONCALL_*, DATABASE_URL), each defined once."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; user-facing configuration lives in Prefect blocks instead."""

    model_config = SettingsConfigDict(env_prefix="ONCALL_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "ONCALL_DATABASE_URL")
    )
    # Incidents resolved less than this long ago reopen on recurrence instead of opening anew.
    reopen_window_s: int = 24 * 3600
    # A verified success is credited to its knowledge entry only once the incident stayed quiet
    # this long after the action (a recurrence inside it is a failure). Settled by detection.
    verification_window_s: int = 15 * 60
    samples_per_incident: int = 5
    max_line_bytes: int = 64 * 1024
    action_output_limit: int = 8 * 1024
    outbox_file: Path | None = None
    # Fixes the A/B (Thompson sampling) draws, for tests and replays; unset: fresh randomness.
    ab_seed: int | None = None
    # A resolution holds its incident with a lease renewed every quarter of this; a lease left
    # to expire means its process died, and the next detection run's sweep takes over.
    resolution_lease_s: float = Field(default=60.0, gt=0)
    # Claims of one episode that may fail before acting (crash, error) before it escalates.
    resolution_max_attempts: int = Field(default=3, ge=1)

    def resolved_database_url(self) -> str:
        """The store URL: DATABASE_URL if set, else SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'oncall.db').as_posix()}"

    def resolved_outbox(self) -> Path:
        """Where console notifications are also appended (one JSON object per line)."""
        return self.outbox_file or self.data_dir / "outbox.jsonl"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
