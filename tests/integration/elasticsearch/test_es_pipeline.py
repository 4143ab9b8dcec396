"""The Elasticsearch source in the detection pipeline: incidents and cursor are stored together."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.pipeline import load_detector, scan_source
from oncall_agent.sources.elasticsearch import ElasticsearchLogSource
from oncall_agent.store.cursors import load_cursor
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Incident
from tests.integration.elasticsearch.helpers import (
    Indices,
    backend_for,
    log_doc,
    now_ms,
    source_config,
)

pytestmark = pytest.mark.integration
KEY = "es-test"


class CrashOnce:
    """A detector that fails on its Nth batch once, as a worker dying before the commit would."""

    def __init__(self, engine: Engine, crash_on: int) -> None:
        self.inner = load_detector(engine)
        self.engine = self.inner.engine  # what the pipeline hands to sources as their selector
        self.calls, self.crash_on = 0, crash_on

    def detect_many(self, events: list) -> list:
        """Detections of EVENTS, except for the one batch that crashes."""
        self.calls += 1
        if self.calls == self.crash_on:
            raise RuntimeError("worker died")
        return self.inner.detect_many(events)


def _occurrences(engine: Engine) -> int:
    """The occurrences summed over every stored incident."""
    with session_scope(engine) as session:
        return sum(i.occurrences for i in session.exec(select(Incident)).all())


def test_a_crash_between_pages_neither_loses_nor_double_counts(
    engine: Engine, es_url: str, indices: Indices
) -> None:
    """A scan that dies on its second page stores the first; the rerun stores exactly the rest."""
    base = now_ms() - 60_000
    name = indices.create()
    indices.bulk(name, [log_doc(n, base + n) for n in range(250)])
    source = ElasticsearchLogSource(backend_for(es_url), source_config(indices.pattern))
    with pytest.raises(RuntimeError, match="worker died"):
        scan_source(engine, source, KEY, detector=CrashOnce(engine, crash_on=2))  # type: ignore[arg-type]
    stored_after_crash = _occurrences(engine)
    with session_scope(engine) as session:
        saved = load_cursor(session, KEY)
    report = scan_source(engine, source, KEY)
    again = scan_source(engine, source, KEY)
    assert stored_after_crash == 100
    assert len(saved["seen"]) == 100
    assert report.lines == 150
    assert _occurrences(engine) == 250
    assert again.lines == 0
    with session_scope(engine) as session:
        incidents = session.exec(select(Incident)).all()
    assert len(incidents) == 1  # one kind of error: one incident, however it was read
