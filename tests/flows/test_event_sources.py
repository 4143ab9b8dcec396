"""The detection flow reads non-file sources through their blocks (Elasticsearch here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from blocks.elasticsearch import ElasticsearchSource
from flows.detection import detect_incidents
from oncall_agent.integrations.es_rest import connect
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.schema import upgrade
from oncall_agent.store.tables import Incident
from tests.integration.elasticsearch.es_server import FakeElasticsearch
from tests.integration.elasticsearch.helpers import Indices, log_doc, now_ms


def test_elasticsearch_source_block_feeds_the_detection_flow(data_dir: Path) -> None:
    """Twenty error documents become one incident; a second run over the index adds nothing."""
    server = FakeElasticsearch()
    url = server.start()
    client = connect([url], request_timeout_s=10)
    try:
        indices = Indices(client)
        name = indices.create()
        start = now_ms() - 60_000
        indices.bulk(name, [log_doc(i, start + i * 100) for i in range(20)])
        upgrade(get_engine())

        async def scenario() -> None:
            block = ElasticsearchSource(hosts=[url], index_pattern=indices.pattern)
            await block.asave("es-flow", overwrite=True)
            for _ in range(2):
                await detect_incidents(sources=["elasticsearch/es-flow"], resolve=False)

        asyncio.run(scenario())
    finally:
        client.close()
        server.stop()
    with session_scope(get_engine()) as session:
        [incident] = session.exec(select(Incident)).all()
    assert incident.service == "checkout"
    assert incident.occurrences == 20
