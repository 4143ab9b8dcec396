"""Spark blocks: the connection (History Server, how to submit, limits, allow-listed jobs) and
the sources of Spark failures (History Server, driver logs).

The connection is named in an ActionTargets block's `connections` ({"spark": "<block name>"}) so
`spark_resubmit` can act through it, and nested in the failure source so detection can read it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from prefect.blocks.core import Block
from pydantic import Field, HttpUrl, field_validator

from oncall_agent.errors import ConfigError
from oncall_agent.integrations.spark_client import (
    SparkClient,
    SparkJob,
    SparkSubmitSettings,
    memory_mib,
)
from oncall_agent.sources.files import FileSource
from oncall_agent.sources.scope import TargetScope
from oncall_agent.sources.spark import SparkDriverLogSource, SparkHistorySource

_BASE_URL = re.compile(r"https?://[^/@\s?#]+(/[^\s?#]*)?")
_DOCS = HttpUrl("https://spark.apache.org/docs/latest/monitoring.html#rest-api")


def bundled_spark_submit() -> str:
    """The spark-submit inside the installed pyspark package; ConfigError without pyspark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise ConfigError(
            "SparkConnection.spark_submit is empty and pyspark is not installed: set "
            "spark_submit to the absolute path of your cluster's spark-submit"
        )
    return str(Path(spec.origin).parent / "bin" / "spark-submit")


class SparkConnection(Block):
    """A Spark History Server to read, and how the agent may resubmit allow-listed jobs."""

    _block_type_name = "Oncall Spark Connection"
    _block_type_slug = "oncall-spark-connection"
    _description = "Spark History Server and submit settings for the on-call agent."
    _documentation_url = _DOCS
    _code_example = (
        "```python\nfrom blocks.spark import SparkConnection\n\n"
        'connection = SparkConnection.load("BLOCK_NAME")\n```'
    )

    history_server_url: str = Field(
        ..., description="The History Server, e.g. http://spark-history:18080."
    )
    timeout: float = Field(default=10.0, gt=0, le=120, description="Seconds per REST call.")
    spark_submit: str | None = Field(
        default=None,
        description="Absolute path of spark-submit; empty: the one bundled with pyspark.",
    )
    master: str = Field(
        default="yarn", description="Where to submit (--master): yarn, k8s://..., local[2]."
    )
    deploy_mode: str = Field(
        default="client", pattern=r"^(client|cluster)$", description="client or cluster."
    )
    max_executor_memory: str = Field(default="16g", description="Most executor memory allowed.")
    max_driver_memory: str = Field(default="8g", description="Most driver memory allowed.")
    max_memory_overhead: str = Field(default="4g", description="Most memory overhead allowed.")
    jobs: dict[str, SparkJob] = Field(
        default_factory=dict,
        description="Applications that may be resubmitted, by application name.",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Extra environment for spark-submit (JAVA_HOME, HADOOP_CONF_DIR, ...).",
    )

    @field_validator("history_server_url")
    @classmethod
    def _plain_url(cls, value: str) -> str:
        """An http(s) URL with a host and no credentials, query or fragment."""
        if not _BASE_URL.fullmatch(value):
            raise ValueError("must look like http(s)://host[:port][/path], without user:password@")
        return value.rstrip("/")

    @field_validator("max_executor_memory", "max_driver_memory", "max_memory_overhead")
    @classmethod
    def _memory(cls, value: str) -> str:
        """A Spark memory size such as 8g."""
        if memory_mib(value) is None:
            raise ValueError(f"{value!r} is not a memory size like 512m or 8g")
        return value

    def submit_settings(self) -> SparkSubmitSettings:
        """The validated submit settings (spark-submit resolved)."""
        return SparkSubmitSettings(
            spark_submit=self.spark_submit or bundled_spark_submit(),
            master=self.master,
            deploy_mode=self.deploy_mode,
            max_executor_memory=self.max_executor_memory,
            max_driver_memory=self.max_driver_memory,
            max_memory_overhead=self.max_memory_overhead,
            jobs=dict(self.jobs),
            env=dict(self.env),
        )

    def build_client(self) -> SparkClient:
        """The History Server client and submit settings this block describes."""
        from oncall_agent.integrations.spark_rest import HistoryServerClient

        history = HistoryServerClient(self.history_server_url, timeout_s=self.timeout)
        return SparkClient(history=history, submit=self.submit_settings())


class SparkFailureSource(Block):
    """Failed Spark applications and lost executors, read from the History Server."""

    _block_type_name = "Oncall Spark Source"
    _block_type_slug = "oncall-spark-source"
    _description = "Spark application failures the on-call agent turns into incidents."
    _documentation_url = _DOCS

    connection: SparkConnection
    look_back_s: int = Field(default=600, ge=0, description="Overlap for late-listed apps (s).")
    start_window_s: int = Field(default=3600, ge=0, description="First poll looks this far back.")
    service: str | None = Field(default=None, description="Service name (default: app name).")

    def build(self) -> SparkHistorySource:
        """The source this block describes."""
        from oncall_agent.integrations.spark_rest import HistoryServerClient

        connection = self.connection
        history = HistoryServerClient(connection.history_server_url, timeout_s=connection.timeout)
        return SparkHistorySource(
            history, look_back_s=self.look_back_s, start_window_s=self.start_window_s,
            service=self.service,
        )  # fmt: skip


class SparkDriverLogs(Block):
    """Spark driver log files (spark-submit output) to tail, tagged with their application id."""

    _block_type_name = "Oncall Spark Driver Logs"
    _block_type_slug = "oncall-spark-driver-logs"
    _description = "Spark driver logs the on-call agent tails for errors."
    _documentation_url = _DOCS

    paths: list[str] = Field(..., description="Files or globs, e.g. /var/log/spark/*.log.")
    service: str | None = Field(default=None, description="Service these jobs belong to.")
    target_attributes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Values read from the logs that actions may use, as globs per name, e.g. "
        "{'app_id': ['application_*']} (default: none).",
    )

    def build(self) -> SparkDriverLogSource:
        """The source this block describes."""
        scope = TargetScope(attributes=dict(self.target_attributes))
        return SparkDriverLogSource(FileSource(list(self.paths), service=self.service, scope=scope))
