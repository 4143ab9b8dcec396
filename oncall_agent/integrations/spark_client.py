"""Spark behind a small interface: the History Server's REST API, and how to resubmit a job.

The real History Server adapter (`spark_rest.HistoryServerClient`, over httpx) is imported only by
the block that builds it; tests may pass any object with these methods. Errors it raises:
a server that is down, timing out or answering 5xx -> SourceUnavailable; any other refusal or a
body that is not the documented JSON -> SourceError; an application it does not know -> None.

Resubmission is configured, not inferred: `SparkSubmitSettings.jobs` allow-lists, by application
name, what to run (main file or jar, class, arguments, fixed conf). An incident can only name an
application id; what runs is always one of these jobs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Memory sizes as Spark reads them for the JVM: a number and a binary unit (512m, 4g, 1t).
MEMORY = re.compile(r"(?i)([1-9][0-9]{0,6})([kmgt])b?")
_MIB_PER_UNIT = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}
# Application ids: local-<ms>, app-<date>-<n> (standalone), application_<ts>_<n> (YARN),
# spark-<hex> (Kubernetes). Used to find ids in driver logs.
# Not \b: event log paths glue ids to words ("eventlog_v2_local-1700000000000").
APP_ID = re.compile(
    r"(?<![A-Za-z0-9])(local-\d{10,}|app-\d{14}-\d{4,}|application_\d{10,}_\d{4,}"
    r"|spark-[0-9a-f]{32})(?![A-Za-z0-9])"
)
_CONF_KEY = re.compile(r"spark\.[A-Za-z0-9_.-]{1,200}")


def memory_mib(text: str) -> int | None:
    """A Spark memory string (e.g. '4g') in MiB, or None if it is not one."""
    match = MEMORY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    return int(int(match.group(1)) * _MIB_PER_UNIT[match.group(2).lower()])


def _plain(text: str, what: str) -> str:
    """TEXT if it has no control characters (newlines, NUL); ValueError naming WHAT otherwise."""
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueError(f"{what} {text[:80]!r} contains a control character")
    return text


class SparkApp(BaseModel):
    """One application (its last attempt) as the History Server lists it."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    name: str
    attempt_id: str | None = None
    start_ms: int
    end_ms: int | None = None
    completed: bool
    spark_user: str = ""


class StageFailure(BaseModel):
    """A stage that failed, with Spark's own reason (its first lines say why)."""

    model_config = ConfigDict(frozen=True)

    stage_id: int
    attempt_id: int = 0
    name: str = ""
    reason: str = ""


class LostExecutor(BaseModel):
    """An executor that was removed, with the reason Spark recorded."""

    model_config = ConfigDict(frozen=True)

    executor_id: str
    host: str = ""
    reason: str


class SparkHistory(Protocol):
    """What the source and the resubmit action need from a Spark History Server."""

    def completed_apps(self, min_end_ms: int) -> list[SparkApp]:
        """Completed applications that ended at or after MIN_END_MS (epoch ms)."""
        ...

    def app(self, app_id: str) -> SparkApp | None:
        """One application, or None if the server does not know it."""
        ...

    def failed_stages(self, app_id: str) -> list[StageFailure]:
        """The failed stages of an application."""
        ...

    def failed_jobs(self, app_id: str) -> list[int]:
        """The ids of the failed jobs of an application."""
        ...

    def lost_executors(self, app_id: str) -> list[LostExecutor]:
        """Executors of an application that were removed, with the reason."""
        ...

    def spark_properties(self, app_id: str) -> dict[str, str]:
        """The application's Spark properties (its environment page)."""
        ...


class SparkJob(BaseModel):
    """An application the agent may resubmit, and how: what spark-submit runs."""

    model_config = ConfigDict(extra="forbid")

    main: str = Field(..., description="The .py file or jar (a path or URI, e.g. s3a://...).")
    main_class: str | None = Field(default=None, description="--class, for a jar.")
    args: list[str] = Field(default_factory=list, description="Arguments after the main file.")
    conf: dict[str, str] = Field(default_factory=dict, description="Fixed --conf key=value.")

    @field_validator("main", "main_class")
    @classmethod
    def _not_an_option(cls, value: str | None) -> str | None:
        """Paths and class names never start with '-' nor hold control characters."""
        if value is not None and (not value or value.startswith("-")):
            raise ValueError(f"{value!r} must not be empty or start with '-'")
        return _plain(value, "value") if value is not None else None

    @field_validator("args")
    @classmethod
    def _plain_args(cls, args: list[str]) -> list[str]:
        """Arguments without control characters."""
        return [_plain(arg, "argument") for arg in args]

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, conf: dict[str, str]) -> dict[str, str]:
        """Keys are spark.* names; values have no control characters."""
        for key, value in conf.items():
            if not _CONF_KEY.fullmatch(key):
                raise ValueError(f"conf key {key!r} must look like spark.some.setting")
            _plain(value, f"conf {key}")
        return conf


class SparkSubmitSettings(BaseModel):
    """How to submit, the most memory any resubmission may ask for, and the allow-listed jobs."""

    model_config = ConfigDict(extra="forbid")

    spark_submit: str = Field(..., min_length=1, description="Absolute path of spark-submit.")
    master: str = Field(default="yarn", min_length=1)
    deploy_mode: str = Field(default="client", pattern=r"^(client|cluster)$")
    max_executor_memory: str = "16g"
    max_driver_memory: str = "8g"
    max_memory_overhead: str = "4g"
    jobs: dict[str, SparkJob] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("max_executor_memory", "max_driver_memory", "max_memory_overhead")
    @classmethod
    def _memory(cls, value: str) -> str:
        """A Spark memory string such as 8g."""
        if memory_mib(value) is None:
            raise ValueError(f"{value!r} is not a memory size like 512m or 8g")
        return value

    @field_validator("master")
    @classmethod
    def _master(cls, value: str) -> str:
        """A master URL, not an option."""
        if value.startswith("-"):
            raise ValueError("master must not start with '-'")
        return _plain(value, "master")

    @property
    def runs_in_driver(self) -> bool:
        """Whether executors live in the driver's JVM (local master: one heap for both)."""
        return self.master.startswith("local") and not self.master.startswith("local-cluster")


@dataclass(frozen=True)
class SparkClient:
    """What a SparkConnection block builds: its History Server and its submit settings."""

    history: SparkHistory
    submit: SparkSubmitSettings
