"""The Spark blocks: block standards, allow-listed jobs, and what the blocks build."""

from __future__ import annotations

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError

from blocks.connections import CONNECTION_BLOCKS
from blocks.spark import SparkConnection, SparkDriverLogs, SparkFailureSource
from oncall_agent.integrations.spark_client import SparkJob
from oncall_agent.sources.spark import SparkDriverLogSource, SparkHistorySource


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's own block checks (description, field docs, code example) for every Spark block."""

    @pytest.fixture(
        params=[SparkConnection, SparkFailureSource, SparkDriverLogs], ids=lambda b: b.__name__
    )
    def block(self, request):
        """Each Spark block class."""
        return request.param


@pytest.mark.parametrize(
    ("job", "message"),
    [
        ({"main": "-Dx=1"}, "must not be empty or start with '-'"),
        ({"main": "/jobs/a.py", "conf": {"fs.defaultFS": "x"}}, "must look like spark.some"),
        ({"main": "/jobs/a.py", "args": ["2024\n--conf"]}, "control character"),
        ({"main": "/jobs/a.py", "main_class": "--verbose"}, "start with '-'"),
    ],
)
def test_jobs_that_could_smuggle_options_are_refused(job: dict, message: str) -> None:
    """A job's main, class, args and conf are checked when the block is saved."""
    with pytest.raises(ValidationError, match=message):
        SparkJob(**job)


def test_the_connection_builds_a_client_with_its_limits_and_jobs() -> None:
    """Maxima, master and jobs reach the submit settings; spark-submit defaults to pyspark's."""
    block = SparkConnection(
        history_server_url="http://history:18080/",
        master="yarn",
        max_executor_memory="12g",
        jobs={"etl": SparkJob(main="/jobs/etl.py")},
    )
    client = block.build_client()
    assert client.submit.max_executor_memory == "12g" and list(client.submit.jobs) == ["etl"]
    assert client.submit.spark_submit.endswith("/bin/spark-submit")
    assert CONNECTION_BLOCKS["spark"] is SparkConnection


@pytest.mark.parametrize("limit", ["lots", "8", "8.5g", "-1g"])
def test_memory_limits_must_be_memory_sizes(limit: str) -> None:
    """A maximum that is not a size like 8g is refused when the block is saved."""
    with pytest.raises(ValidationError, match="is not a memory size"):
        SparkConnection(history_server_url="http://history:18080", max_driver_memory=limit)


def test_the_source_blocks_build_their_sources() -> None:
    """The failure source reads through its connection; the driver log block tails its paths."""
    connection = SparkConnection(history_server_url="http://history:18080")
    history = SparkFailureSource(connection=connection, look_back_s=60).build()
    logs = SparkDriverLogs(paths=["/var/log/spark/*.log"]).build()
    assert isinstance(history, SparkHistorySource) and history.look_back_ms == 60_000
    assert isinstance(logs, SparkDriverLogSource)
