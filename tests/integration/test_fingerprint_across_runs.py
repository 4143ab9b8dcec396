"""Mined templates across detection runs: a variant met first in a later run joins the incident."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.pipeline import load_detector, scan_source
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Incident

pytestmark = pytest.mark.integration

FIRST = "2024-05-01T10:00:00Z ERROR backup: backup of volume data failed on shard 3 of 9"
LATER = "2024-05-01T11:00:00Z ERROR backup: backup of volume logs failed on shard 4 of 9"


def _incidents(engine: Engine) -> list[tuple[str, int]]:
    """(template, occurrences) of every stored incident."""
    with session_scope(engine) as session:
        rows = session.exec(select(Incident)).all()
        return [(row.template, row.occurrences) for row in rows]


def test_a_variant_in_a_later_run_updates_the_same_incident(engine: Engine, tmp_path: Path) -> None:
    """Two runs, each with a fresh detector: the second run's variant (another volume name,
    which masking does not recognise) counts in the incident the first run opened."""
    log = tmp_path / "backup.log"
    log.write_text(FIRST + "\n", encoding="utf-8")
    source = FileSource([str(log)], service="backup")
    scan_source(engine, source, "file/backup", detector=load_detector(engine))
    with log.open("a", encoding="utf-8") as handle:
        handle.write(LATER + "\n")
    scan_source(engine, source, "file/backup", detector=load_detector(engine))
    assert _incidents(engine) == [("backup of volume data failed on shard <NUM> of <NUM>", 2)]


def test_without_the_stored_incident_the_variant_is_a_kind_of_its_own(
    engine: Engine, tmp_path: Path
) -> None:
    """A first run that meets only the variant opens an incident under the variant's template
    (what the store's templates spare the runs after it)."""
    log = tmp_path / "backup.log"
    log.write_text(LATER + "\n", encoding="utf-8")
    scan_source(engine, FileSource([str(log)], service="backup"), "file/backup")
    assert _incidents(engine) == [("backup of volume logs failed on shard <NUM> of <NUM>", 1)]
