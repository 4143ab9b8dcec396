"""The Elasticsearch source over the real client: no document missed, none read twice.

These run against the protocol server, or unchanged against a real cluster (ONCALL_TEST_ES_URL).
"""

from __future__ import annotations

import time

import pytest
from elasticsearch import Elasticsearch

from oncall_agent.errors import SourceError
from oncall_agent.sources.elasticsearch import ElasticsearchLogSource
from tests.integration.elasticsearch.helpers import (
    Indices,
    backend_for,
    dead_url,
    drain,
    log_doc,
    now_ms,
    source_config,
)

pytestmark = pytest.mark.integration


def _ids(events: list) -> list[str]:
    """The event.id of each event (the es_id attribute: the tests index with _id = event.id)."""
    return [e.attributes["es_id"] for e in events]


def test_many_documents_with_one_timestamp_are_each_read_once(
    es_url: str, indices: Indices
) -> None:
    """1,050 documents sharing one timestamp, over two indices and 11 pages: all read, once."""
    same = now_ms() - 60_000
    a, b = indices.create("a"), indices.create("b")
    indices.bulk(a, [log_doc(n, same) for n in range(0, 1050, 2)])
    indices.bulk(b, [log_doc(n, same) for n in range(1, 1050, 2)])
    source = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    events, _, stats = drain(source, {})
    assert sorted(_ids(events)) == [f"evt-{n:06d}" for n in range(1050)]
    assert sum(s.pages for s in stats) >= 11


def test_events_carry_message_service_level_time_and_attributes(
    es_url: str, indices: Indices
) -> None:
    """A document becomes an event with its message, service, level, timestamp and app_id."""
    at = now_ms() - 5_000
    name = indices.create()
    indices.bulk(name, [log_doc(1, at, "executor lost", spark={"app_id": "app-2024-0001"})])
    source = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    (event,), _, _ = drain(source, {})
    assert (event.message, event.service, event.level) == ("executor lost", "checkout", "ERROR")
    assert int(event.timestamp.timestamp() * 1000) == at
    assert event.attributes["app_id"] == "app-2024-0001"
    assert event.attributes["es_index"] == name


def test_late_documents_inside_the_look_back_are_read_once(es_url: str, indices: Indices) -> None:
    """Documents indexed late with older timestamps come in the next poll, and only once."""
    base = now_ms() - 120_000
    name = indices.create()
    indices.bulk(name, [log_doc(n, base + n * 1000) for n in range(50)])
    source = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    first, cursor, _ = drain(source, {})
    late = [log_doc(100 + n, base + 10_000 + n) for n in range(10)]  # 40 s older than the newest
    newer = [log_doc(200 + n, base + 60_000 + n) for n in range(5)]
    indices.bulk(name, late + newer)
    second, cursor, _ = drain(source, cursor)
    third, _, _ = drain(source, cursor)
    assert len(first) == 50
    assert sorted(_ids(second)) == sorted(d["event"]["id"] for d in late + newer)
    assert third == []


def test_a_restart_mid_pass_goes_on_after_the_stored_page(es_url: str, indices: Indices) -> None:
    """A new source process given the cursor of the first page reads exactly the rest."""
    base = now_ms() - 60_000
    name = indices.create()
    indices.bulk(name, [log_doc(n, base + n % 7) for n in range(300)])
    first = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern)).read({})
    assert first.cursor["scan"] is not None  # the pass is not over: a page is still to come
    restarted = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    rest, _, _ = drain(restarted, first.cursor)
    everything = _ids(first.events) + _ids(rest)
    assert len(first.events) == 100
    assert sorted(everything) == [f"evt-{n:06d}" for n in range(300)]


def test_an_expired_point_in_time_is_reopened_without_loss(
    es: Elasticsearch, es_url: str, indices: Indices
) -> None:
    """If the PIT is gone when the pass goes on, a new one continues after the same sort values."""
    base = now_ms() - 60_000
    name = indices.create()
    indices.bulk(name, [log_doc(n, base) for n in range(250)])
    source = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    first = source.read({})
    es.close_point_in_time(id=first.cursor["scan"]["pit_id"])
    rest, _, stats = drain(source, first.cursor)
    assert sorted(_ids(first.events) + _ids(rest)) == [f"evt-{n:06d}" for n in range(250)]
    assert sum(s.pit_reopened for s in stats) == 1


def test_documents_indexed_during_a_pass_come_with_the_next_one(
    es_url: str, indices: Indices
) -> None:
    """The point in time hides documents indexed mid-pass; the next pass reads them, once."""
    base = now_ms() - 60_000
    name = indices.create()
    indices.bulk(name, [log_doc(n, base + n) for n in range(150)])
    source = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    first = source.read({})
    indices.bulk(name, [log_doc(1000 + n, base + n) for n in range(20)])  # same times, new ids
    rest, _, _ = drain(source, first.cursor)
    expected = [f"evt-{n:06d}" for n in [*range(150), *range(1000, 1020)]]
    assert sorted(_ids(first.events) + _ids(rest)) == expected


def test_a_cluster_that_was_down_is_read_from_where_it_stopped_and_the_gap_reported(
    es_url: str, indices: Indices
) -> None:
    """While down: retried with back-off, empty batches; once back: every document, gap reported."""
    base = now_ms() - 60_000
    name = indices.create()
    indices.bulk(name, [log_doc(n, base + n) for n in range(30)])
    live = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    before, cursor, _ = drain(live, {})
    slept: list[float] = []
    down = ElasticsearchLogSource(
        backend_for(dead_url()), source_config(indices.pattern), sleep=slept.append
    )
    outage = down.read(cursor)
    again = down.read(outage.cursor)  # within the back-off: no new attempt
    indices.bulk(name, [log_doc(100 + n, base + 1000 + n) for n in range(40)])
    later = time.time() + 600
    back = ElasticsearchLogSource(
        backend_for(es_url), source_config(indices.pattern), clock=lambda: later
    )
    after, _, stats = drain(back, outage.cursor)
    assert (outage.events, outage.stats.unavailable, outage.stats.failed_attempts) == ([], 1, 3)
    assert slept == [0.01, 0.02]
    assert again.stats.failed_attempts == 0 and again.cursor == outage.cursor
    assert sorted(_ids(after)) == [f"evt-{100 + n:06d}" for n in range(40)]
    assert len(before) == 30
    assert stats[0].outages_ended == 1 and stats[0].gap_s >= 600
    assert "unreachable from" in stats[0].notes[0]


def test_a_tiebreaker_that_cannot_be_sorted_on_is_refused_with_the_field_named(
    es_url: str, indices: Indices
) -> None:
    """A text field as tiebreaker is refused by the cluster, and the error says what to fix."""
    name = indices.create()
    indices.bulk(name, [log_doc(1, now_ms())])
    config = source_config(indices.pattern)
    config.fields.tiebreaker = "message"
    source = ElasticsearchLogSource(backend_for(es_url), config)
    with pytest.raises(SourceError, match="tiebreaker_field"):
        source.read({})


def test_bulk_reports_a_bad_document_and_keeps_the_others(es_url: str, indices: Indices) -> None:
    """One document with an unparseable timestamp fails alone; the source reads the rest."""
    at = now_ms() - 1_000
    name = indices.create()
    bad = log_doc(2, at) | {"@timestamp": "not a date"}
    response = indices.bulk(name, [log_doc(1, at), bad, log_doc(3, at)])
    statuses = [item["index"]["status"] for item in response["items"]]
    source = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    events, _, _ = drain(source, {})
    assert response["errors"] is True
    assert statuses == [201, 400, 201]
    assert "error" in response["items"][1]["index"]
    assert sorted(_ids(events)) == ["evt-000001", "evt-000003"]
