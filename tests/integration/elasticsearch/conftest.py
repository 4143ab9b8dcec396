"""Fixtures: an Elasticsearch to talk to (ONCALL_TEST_ES_URL, or the protocol server) and indices.

With ONCALL_TEST_ES_URL set (e.g. http://elastic:secret@127.0.0.1:9200), every test here runs
unchanged against that cluster; its indices are named oncall-test-<random>-* and deleted after.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from oncall_agent.integrations.es_rest import connect
from tests.integration.elasticsearch.es_server import FakeElasticsearch
from tests.integration.elasticsearch.helpers import Indices


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """The real cluster of ONCALL_TEST_ES_URL, else the protocol server on 127.0.0.1."""
    real = os.environ.get("ONCALL_TEST_ES_URL")
    if real:
        yield real
        return
    fake = FakeElasticsearch()
    yield fake.start()
    fake.stop()


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    """An official client for the test cluster."""
    client = connect([es_url], request_timeout_s=10)
    yield client
    client.close()


@pytest.fixture
def indices(es: Elasticsearch) -> Iterator[Indices]:
    """This test's indices, deleted afterwards."""
    made = Indices(es)
    yield made
    made.delete_all()
