"""The ElasticsearchSource block: block standards, hidden secrets, the source it builds."""

from __future__ import annotations

import httpx
import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError

from blocks.elasticsearch import ElasticsearchSource
from tests.integration.elasticsearch.helpers import Indices, drain, log_doc, now_ms

CANARY = "canary-es-7f3a"


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's own block checks (description, field docs, code example)."""

    @pytest.fixture
    def block(self):
        """The Elasticsearch source block class."""
        return ElasticsearchSource


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hosts": [f"http://bob:{CANARY}@es:9200"]}, "without user:pass@"),
        ({"api_key": CANARY, "username": "bob", "password": "x"}, "not both"),
        ({"username": "bob"}, "needs both username and password"),
        ({"pit_keep_alive": "forever"}, "pit_keep_alive"),
    ],
)
def test_invalid_settings_are_refused_without_echoing_secrets(settings: dict, message: str) -> None:
    """Bad hosts or credentials are refused with a message, and the secret is never repeated."""
    values = {"hosts": ["http://es:9200"], "index_pattern": "logs-*"} | settings
    with pytest.raises(ValidationError, match=message) as caught:
        ElasticsearchSource(**values)
    assert CANARY not in str(caught.value)


def test_secrets_stay_hidden_and_reach_only_the_client() -> None:
    """The API key shows as ********, never in the block's JSON; secret_values has it."""
    block = ElasticsearchSource(hosts=["http://es:9200"], api_key=CANARY, index_pattern="logs")
    assert CANARY not in repr(block) and CANARY not in block.model_dump_json()
    assert block.secret_values() == [CANARY]


def test_the_block_builds_a_source_that_reads_the_cluster(es_url: str, indices: Indices) -> None:
    """Fields, windows and attribute mapping reach the source; it reads the test cluster."""
    name = indices.create()
    indices.bulk(name, [log_doc(1, now_ms() - 1000, spark={"app_id": "app-20240101000000-0001"})])
    url = httpx.URL(es_url)  # a real cluster's credentials may come in ONCALL_TEST_ES_URL
    login = {"username": url.username, "password": url.password} if url.username else {}
    block = ElasticsearchSource(
        hosts=[str(url.copy_with(username=None, password=None)).rstrip("/")],
        index_pattern=indices.pattern,
        look_back_s=120,
        attribute_fields={"app_id": "spark.app_id"},
        page_size=50,
        **login,
    )
    source = block.build()
    (event,), _, _ = drain(source, {})
    assert source.config.look_back_s == 120 and source.config.page_size == 50
    assert event.attributes["app_id"] == "app-20240101000000-0001"
