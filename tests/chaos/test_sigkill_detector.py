"""A detector SIGKILLed 50 times mid-scan while lines are written: no line lost, none counted
twice, no incident opened twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from oncall_agent.pipeline import scan_source
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import make_engine, session_scope
from oncall_agent.store.schema import create_schema
from oncall_agent.store.tables import Incident
from tests.integration.test_rotation import KINDS, _start

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

KILLS = 50
LINES = 60_000  # written in ~15 s, while the kills go on
ZYGOTE = Path(__file__).with_name("detector_zygote.py")


def _wait_gone(pid: int) -> None:
    """Wait until the killed detector is gone (the zygote reaps it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"detector {pid} survived SIGKILL")


def test_sigkilled_detector_counts_every_line_exactly_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After 50 kills and one last full run, each kind has one incident counting its lines."""
    log, url = tmp_path / "app.log", f"sqlite:///{tmp_path / 'store.db'}"
    log.touch()
    engine = make_engine(url)
    create_schema(engine)
    zygote = subprocess.Popen(
        [sys.executable, str(ZYGOTE), str(log), url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    assert zygote.stdout.readline().strip() == "ready"
    writer = _start("writer", "kinds", str(log), str(LINES))
    rng = random.Random(7)
    try:
        for _ in range(KILLS):
            zygote.stdin.write("spawn\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            time.sleep(rng.uniform(0.1, 0.6))
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    assert writer.wait(timeout=120) == 0
    scan_source(engine, FileSource([str(log)], service="app"), "app-log")  # the last, whole run
    written = Counter(line.split()[2] for line in log.read_text().splitlines())
    with session_scope(engine) as session:
        incidents = [(i.title, i.occurrences) for i in session.exec(select(Incident)).all()]
    counted = Counter()
    for title, occurrences in incidents:
        counted[next(k for k in KINDS if k in title)] += occurrences
    per_kind = Counter(next(k for k in KINDS if k in title) for title, _ in incidents)
    with capsys.disabled():
        lost = sum(max(0, written[k] - counted[k]) for k in KINDS)
        extra = sum(max(0, counted[k] - written[k]) for k in KINDS)
        print(f"\n{KILLS} SIGKILLs: {len(incidents)} incidents for {len(KINDS)} kinds, "
              f"{lost} lines lost, {extra} counted twice")  # fmt: skip
    assert per_kind == Counter(dict.fromkeys(KINDS, 1))
    assert counted == written
