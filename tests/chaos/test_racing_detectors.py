"""Two detector processes race on the same new error, 100 times, on SQLite and PostgreSQL:
each time exactly one incident, counting each line once, and exactly one action."""

from __future__ import annotations

import itertools
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from oncall_agent.store.engine import make_engine, session_scope
from oncall_agent.store.schema import create_schema
from oncall_agent.store.tables import Incident

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

TRIALS = 100
LINES = 30  # lines of each trial's new error
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]  # fmt: skip
RACER = Path(__file__).with_name("racer.py")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty store URL child processes can open: SQLite file or a PG schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
        create_schema(make_engine(url))
        yield url
        return
    base = request.getfixturevalue("pg_database")
    schema = f"race_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    create_schema(make_engine(url))
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _racer(log: Path, url: str, actions: Path) -> subprocess.Popen[str]:
    """A detector process waiting for `go`."""
    return subprocess.Popen(
        [sys.executable, str(RACER), str(log), url, str(actions)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )


def test_two_detectors_racing_count_once_and_act_once(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """100 races: one incident per new error, occurrences equal to its lines, one action."""
    log, actions = tmp_path / "app.log", tmp_path / "actions.txt"
    log.touch()
    actions.touch()
    racers = [_racer(log, store_url, actions) for _ in range(2)]
    kinds = [f"{a} {b}" for a, b in itertools.product(WORDS, WORDS)][:TRIALS]
    try:
        for kind in kinds:
            with log.open("a", encoding="utf-8") as handle:
                handle.writelines(f"ERROR {kind} gateway refused order {n}\n" for n in range(LINES))
            for racer in racers:  # both start on the same new lines
                assert racer.stdin is not None
                racer.stdin.write("go\n")
                racer.stdin.flush()
            for racer in racers:
                assert racer.stdout is not None
                assert racer.stdout.readline().strip() == "done"
    finally:
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.close()
            racer.wait(timeout=30)
    with session_scope(make_engine(store_url)) as session:
        incidents = list(session.exec(select(Incident)).all())
    per_kind = Counter(next(k for k in kinds if f" {k} " in i.title) for i in incidents)
    doubled = [i.title for i in incidents if i.occurrences != LINES]
    acted = Counter(actions.read_text().split())
    with capsys.disabled():
        print(
            f"\n{TRIALS} races ({store_url.split(':')[0]}): {len(incidents)} incidents, "
            f"{len(doubled)} with wrong occurrences, {sum(acted.values())} actions, "
            f"{sum(1 for c in acted.values() if c > 1)} incidents acted on twice"
        )
    assert per_kind == Counter(dict.fromkeys(kinds, 1))
    assert doubled == []
    assert sorted(acted.values()) == [1] * TRIALS
    assert all(i.status == "resolved" and i.recurrences == 0 for i in incidents)
