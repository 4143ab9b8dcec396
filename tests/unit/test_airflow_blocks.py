"""The Airflow blocks: Prefect's block standards, credentials, hidden secrets, what they build."""

from __future__ import annotations

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError

from blocks.airflow import AirflowConnection, AirflowFailureSource
from blocks.connections import CONNECTION_BLOCKS
from oncall_agent.sources.airflow import AirflowSource

CANARY = "canary-airflow-5be1"


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's own block checks (description, field docs, code example) for both blocks."""

    @pytest.fixture(params=[AirflowConnection, AirflowFailureSource], ids=lambda b: b.__name__)
    def block(self, request):
        """Each Airflow block class."""
        return request.param


def test_a_connection_needs_a_token_or_a_username_and_password() -> None:
    """A connection without credentials is refused; a password alone is not enough."""
    with pytest.raises(ValidationError, match="token, or both a username and a password"):
        AirflowConnection(base_url="http://airflow:8080", password=CANARY)
    assert AirflowConnection(base_url="http://airflow:8080", token=CANARY).token is not None


@pytest.mark.parametrize(
    "url", ["airflow:8080", "ftp://airflow", f"http://bob:{CANARY}@airflow", "http://a?x=1"]
)
def test_the_base_url_must_be_a_plain_http_url(url: str) -> None:
    """Only http(s)://host[:port][/path] is accepted, and the error never repeats the value."""
    with pytest.raises(ValidationError) as caught:
        AirflowConnection(base_url=url, token="t")
    assert CANARY not in str(caught.value)


def test_secrets_stay_hidden_and_the_client_is_built_from_the_block() -> None:
    """The password shows as ********; the built client points at the block's URL."""
    block = AirflowConnection(base_url="https://airflow.example.org/", username="bob",
                              password=CANARY, timeout=12)  # fmt: skip
    assert CANARY not in repr(block) and CANARY not in block.model_dump_json()
    assert block.secret_values() == [CANARY]
    client = block.build_client()
    assert client.base_url == "https://airflow.example.org"
    assert CONNECTION_BLOCKS["airflow"] is AirflowConnection


def test_the_source_block_builds_a_source_over_its_connection() -> None:
    """The source block's DAG globs and windows reach the source it builds."""
    connection = AirflowConnection(base_url="http://airflow:8080", token="t")
    source = AirflowFailureSource(connection=connection, dag_ids=["sales_*"], lookback_s=60).build()
    assert isinstance(source, AirflowSource)
    assert source.dag_ids == ("sales_*",) and source.lookback.total_seconds() == 60
