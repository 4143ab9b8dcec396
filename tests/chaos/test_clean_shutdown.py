"""SIGTERM or Ctrl-C during a long detection scan: the process stops within seconds, and the
cursor and the incidents it stored agree (nothing counted that the cursor does not cover)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from oncall_agent.store.cursors import load_cursor
from oncall_agent.store.engine import make_engine, session_scope
from oncall_agent.store.schema import create_schema
from oncall_agent.store.tables import Incident

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

BACKLOG = 600_000  # error lines: minutes of work, far more than the stop budget
STOP_BUDGET_S = 10.0  # generous for a loaded 2-core machine; about 1 s when idle
SCANNER = Path(__file__).with_name("scan_process.py")


def _backlog(log: Path) -> None:
    """BACKLOG lines of one kind of error."""
    block = "".join(f"2026-12-02 10:00:00 ERROR payment gateway refused order {n}\n"
                    for n in range(100_000))  # fmt: skip
    with log.open("w", encoding="utf-8") as handle:
        for _ in range(BACKLOG // 100_000):
            handle.write(block)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_the_scan_within_seconds_leaving_the_store_consistent(
    signum: signal.Signals, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The scan ends at a chunk boundary: occurrences equal the lines before the cursor."""
    log, url = tmp_path / "app.log", f"sqlite:///{tmp_path / 'store.db'}"
    _backlog(log)
    create_schema(make_engine(url))
    env = {**os.environ, "DATABASE_URL": url, "PREFECT_HOME": str(tmp_path / "prefect")}
    scanner = subprocess.Popen(
        [sys.executable, str(SCANNER), str(log)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert scanner.stdout is not None and scanner.stdout.readline().strip() == "scanning"
    time.sleep(3.0)
    assert scanner.poll() is None, "the backlog was read before the signal: make it longer"
    scanner.send_signal(signum)
    sent = time.monotonic()
    try:
        scanner.wait(timeout=120)
    finally:
        scanner.kill()
    stopped_s = time.monotonic() - sent
    engine = make_engine(url)
    with session_scope(engine) as session:
        cursor = json.loads(json.dumps(load_cursor(session, "files:backlog")))
        counted = sum(i.occurrences for i in session.exec(select(Incident)).all())
    offset = next(iter(cursor.get("files", {}).values()), {}).get("offset", 0)
    covered = log.read_bytes()[:offset].count(b"\n")
    with capsys.disabled():
        print(f"\n{signum.name}: stopped {stopped_s:.1f}s after the signal; "
              f"{covered} of {BACKLOG} lines read, {counted} counted")  # fmt: skip
    assert stopped_s < STOP_BUDGET_S
    assert counted == covered < BACKLOG
