"""SIGKILL the agent in the middle of an action, episode after episode, on SQLite and PostgreSQL.

Pass criteria (reliability.md, scenario 1): at most one side effect per idempotency key, every
interrupted run ends `unknown` and its incident escalated (never re-run by itself), no incident
stranded, every one notified, also when the notification channel is down during the crashes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.store.engine import make_engine, session_scope
from oncall_agent.store.tables import AuditEvent, utcnow
from tests.chaos.agent import LINE, Setup, deliver, detection_run, fresh_store, seed, tally
from tests.integration.notify_receivers import Receiver, free_port

pytestmark = [pytest.mark.chaos, pytest.mark.integration]

EPISODES = 20
FORK = multiprocessing.get_context("fork")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated store a forked agent process opens by URL."""
    pg = request.getfixturevalue("pg_database") if request.param == "postgresql" else None
    yield from fresh_store(request.param, tmp_path, pg)


def _wait_for(predicate, timeout_s: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Poll PREDICATE until true; the seconds it took (fails the test after TIMEOUT_S)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


def _crash_episodes(setup: Setup) -> tuple[list[float], list[datetime]]:
    """Add one new incident per episode and SIGKILL the agent once its action has started.

    Returns the seconds from start to action, and the moment of each kill (incident n+1's).
    """
    started: list[float] = []
    kills: list[datetime] = []
    for n in range(EPISODES):
        (setup.logs / f"s{n}.log").write_text(LINE)
        agent = FORK.Process(target=detection_run, args=(setup, EPISODES))
        agent.start()
        started.append(
            _wait_for(lambda n=n: len(list(setup.markers.iterdir())) > n, 60, f"action {n}")
        )
        os.kill(agent.pid, signal.SIGKILL)  # type: ignore[arg-type]
        kills.append(utcnow())
        agent.join()
        assert agent.exitcode == -signal.SIGKILL
        time.sleep(setup.lease_s + 0.2)  # the next run finds the lease expired
    return started, kills


def _hang_times(engine: Engine, kills: list[datetime]) -> list[float]:
    """Seconds from each kill to its incident's escalation (incident ids are 1, 2, ...)."""
    with session_scope(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.kind == "escalated")).all()
    escalated = {row.incident_id: row.at for row in rows}
    return [(escalated[n + 1] - kill).total_seconds() for n, kill in enumerate(kills)]


def _run_to_end(setup: Setup) -> float:
    """One agent run that is not killed (it sweeps the last episode); its duration."""
    start = time.monotonic()
    agent = FORK.Process(target=detection_run, args=(setup, EPISODES))
    agent.start()
    agent.join(120)
    assert agent.exitcode == 0
    return time.monotonic() - start


@pytest.mark.slow
def test_sigkill_mid_action_twenty_times_with_the_channel_down(
    store_url: str, tmp_path: Path
) -> None:
    """20 kills mid-action, channel down: one side effect each, unknown, escalated, all told."""
    down = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens: every delivery fails
    setup = Setup(store_url, tmp_path / "logs", tmp_path / "markers", down, lease_s=0.5)
    setup.logs.mkdir()
    setup.markers.mkdir()
    engine = make_engine(store_url)
    seed(engine)
    to_action, kills = _crash_episodes(setup)
    last_run = _run_to_end(setup)
    receiver = Receiver().start()  # the channel comes back: everything stored is delivered
    deliver(engine, receiver.url(), now=utcnow() + timedelta(days=1))
    result = tally(engine, setup.markers)
    hang = _hang_times(engine, kills)
    print(
        f"\n[chaos sigkill {engine.dialect.name}, channel down] episodes {EPISODES}, "
        f"incidents {result.incidents}, side effects per incident "
        f"{sorted(set(result.side_effects.values()))}, unknown {result.unknown_runs}, stranded "
        f"{len(result.stranded)}, notified {len(result.notified)}, undelivered "
        f"{result.undelivered}, webhook posts {len(receiver.posts)}, last (recovering) run "
        f"{last_run:.2f}s, start-to-action max {max(to_action):.2f}s, kill-to-escalation max "
        f"{max(hang):.2f}s (lease {setup.lease_s}s; the next run starts {setup.lease_s + 0.2}s "
        "after a kill)"
    )
    assert max(hang) < 30  # bounded: lease + one run, nothing waits forever
    assert result.incidents == EPISODES
    assert sorted(result.side_effects) == sorted(range(1, EPISODES + 1))
    assert set(result.side_effects.values()) == {1}  # at most once, and it did start
    assert result.unknown_runs == EPISODES
    assert result.stranded == []
    assert result.notified == set(range(1, EPISODES + 1))
    assert result.undelivered == 0 and receiver.posts
    receiver.stop()
    engine.dispose()
