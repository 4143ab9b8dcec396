"""Fixtures: the real Spark bundled with pyspark, and its History Server (started once here)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.spark.spark_setup import HistoryServer, java_available, spark_home


@dataclass(frozen=True)
class SparkRuntime:
    """Where Spark is, where applications write event logs, and the History Server's URL."""

    home: Path
    event_dir: Path
    work_dir: Path
    history_url: str


@pytest.fixture(scope="module")
def spark_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkRuntime]:
    """pyspark's Spark with a History Server over a fresh event log directory."""
    home = spark_home()
    if home is None:
        pytest.skip("pyspark is not installed (pip install -e '.[dev]' installs it)")
    if not java_available():
        pytest.skip("Spark needs Java 17+: `java -version` does not run here")
    work = tmp_path_factory.mktemp("spark")
    events = work / "events"
    events.mkdir()
    server = HistoryServer(home, events, work)
    server.start()
    try:
        yield SparkRuntime(home=home, event_dir=events, work_dir=work, history_url=server.url)
    finally:
        server.stop()
