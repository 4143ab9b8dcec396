"""The detection pipeline keeps each source's baseline in the store and holds chatter back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.pipeline import scan_source
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Incident, TemplateCount
from tests.unit.test_baseline import NEWS, _night


def test_chatter_is_counted_but_opens_nothing_and_news_opens(
    engine: Engine, tmp_path: Path
) -> None:
    """Reading a night with steady chatter and one new error stores one incident, the counts
    per bucket, and says why the chatter was held back; a rerun after more news adds to it."""
    log = _night(tmp_path / "postgresql.log", [(200 + k, NEWS) for k in range(5)])
    source = FileSource([str(log)], flush_after_s=0)
    report = scan_source(engine, source, "files:pg")
    assert [c.kind for c in report.changes] == ["opened"]
    assert list(report.held_back.values()) == [
        "steady since 2026-12-01 20:00 UTC (~6/h), not opened"
    ]
    with session_scope(engine) as session:
        incidents = session.exec(select(Incident)).all()
        counts = session.exec(select(TemplateCount)).all()
    assert [i.occurrences for i in incidents] == [5]
    assert "remaining connection slots" in incidents[0].template
    chatter = [c for c in counts if c.fingerprint in report.held_back]
    assert sum(c.count for c in chatter) == 36 and len(chatter) == 36


def test_without_baseline_chatter_opens(engine: Engine, tmp_path: Path) -> None:
    """With the baseline off, the steady chatter opens its own incident, as before."""
    log = _night(tmp_path / "postgresql.log", [])
    report = scan_source(engine, FileSource([str(log)], flush_after_s=0), "k", use_baseline=False)
    assert [c.kind for c in report.changes] == ["opened"] and not report.held_back
