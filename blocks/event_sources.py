"""Every kind of source block by name, so one flow parameter can list them all.

A source is named `kind/block-name` (e.g. `airflow/prod`, `elasticsearch/app-logs`); a bare name is
a LogFileSource. Each block's build() returns an object with read(cursor) -> batch.
"""

from __future__ import annotations

from typing import Any

from blocks.airflow import AirflowFailureSource
from blocks.elasticsearch import ElasticsearchSource
from blocks.sources import LogFileSource
from blocks.spark import SparkDriverLogs, SparkFailureSource
from oncall_agent.errors import ConfigError

SOURCE_BLOCKS: dict[str, Any] = {
    "file": LogFileSource,
    "airflow": AirflowFailureSource,
    "elasticsearch": ElasticsearchSource,
    "spark": SparkFailureSource,
    "spark-driver": SparkDriverLogs,
}


def parse_source_name(spec: str) -> tuple[str, str]:
    """('kind', 'block name') for 'kind/name', or ('file', name) for a bare name."""
    kind, sep, name = spec.partition("/")
    if not sep:
        return "file", spec
    if kind not in SOURCE_BLOCKS or not name:
        raise ConfigError(
            f"source {spec!r}: expected NAME or KIND/NAME with KIND one of {sorted(SOURCE_BLOCKS)}"
        )
    return kind, name


async def load_source_block(spec: str) -> Any:
    """The saved source block SPEC names."""
    kind, name = parse_source_name(spec)
    return await SOURCE_BLOCKS[kind].aload(name)
