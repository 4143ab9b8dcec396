"""Helpers of the Elasticsearch tests: indices with the log mapping, documents, draining."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from oncall_agent.integrations.es_documents import EsFields
from oncall_agent.integrations.es_rest import ElasticsearchBackend, connect
from oncall_agent.sources.elasticsearch import EsBatch, EsSourceConfig

MAPPING: dict[str, Any] = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event": {"properties": {"id": {"type": "keyword"}}},
        "message": {"type": "text"},
        "service": {"properties": {"name": {"type": "keyword"}}},
        "log": {"properties": {"level": {"type": "keyword"}}},
        "spark": {"properties": {"app_id": {"type": "keyword"}}},
    }
}


class Indices:
    """Indices of one test, named <prefix>-<suffix>, created with the log mapping."""

    def __init__(self, es: Elasticsearch) -> None:
        self.es = es
        self.prefix = f"oncall-test-{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    @property
    def pattern(self) -> str:
        """The pattern that matches every index of this test."""
        return f"{self.prefix}-*"

    def create(self, suffix: str = "a") -> str:
        """Create <prefix>-<suffix> with the log mapping; its name."""
        name = f"{self.prefix}-{suffix}"
        self.es.indices.create(index=name, mappings=MAPPING)
        self.created.append(name)
        return name

    def bulk(self, index: str, docs: list[dict[str, Any]]) -> Any:
        """Index DOCS with _bulk (visible to searches at once); the bulk response."""
        operations: list[dict[str, Any]] = []
        for doc in docs:
            operations += [{"index": {"_index": index, "_id": doc["event"]["id"]}}, doc]
        return self.es.bulk(operations=operations, refresh=True)

    def delete_all(self) -> None:
        """Delete every index this test created (by name: wildcard deletes may be refused)."""
        for name in self.created:
            self.es.indices.delete(index=name, ignore_unavailable=True)


def log_doc(number: int, at_ms: int, message: str = "", **extra: Any) -> dict[str, Any]:
    """A log document with a unique event.id and the timestamp AT_MS (epoch milliseconds)."""
    stamp = datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return {
        "@timestamp": stamp.replace("+00:00", "Z"),
        "event": {"id": f"evt-{number:06d}"},
        "message": message or f"ERROR checkout payment failed for order {number}",
        "service": {"name": "checkout"},
        "log": {"level": "error"},
        **extra,
    }


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(time.time() * 1000)


def source_config(pattern: str, **overrides: Any) -> EsSourceConfig:
    """The source settings the tests use: small pages, quick retries."""
    settings: dict[str, Any] = {
        "index": pattern,
        "fields": EsFields(attributes={"app_id": "spark.app_id"}),
        "look_back_s": 300,
        "page_size": 100,
        "retry_delays_s": [0.01, 0.02],
        "backoff_initial_s": 30,
    }
    return EsSourceConfig(**(settings | overrides))


def backend_for(url: str) -> ElasticsearchBackend:
    """A backend over a new client for URL (a restarted agent builds a new one too)."""
    return ElasticsearchBackend(connect([url], request_timeout_s=5))


def dead_url() -> str:
    """A 127.0.0.1 URL nothing listens on: connections are refused, as by a cluster that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def drain(source: Any, cursor: dict[str, Any]) -> tuple[list[Any], dict[str, Any], list[Any]]:
    """Read until nothing is new, as the pipeline does: (events, final cursor, stats per read)."""
    events, stats = [], []
    for _ in range(1000):
        batch: EsBatch = source.read(cursor)
        stats.append(batch.stats)
        events += batch.events
        if not batch.events and batch.cursor == cursor:
            return events, cursor, stats
        cursor = batch.cursor
    raise AssertionError("the source never settled")
