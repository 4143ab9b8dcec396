"""Tailing under rotation with a real writer process: nothing lost, nothing read twice.

This file is also the script of the processes the tests start (see `main` at the bottom):
`writer` appends numbered lines and rotates the log as logrotate would (rename, or copy then
truncate), `reader` runs scan_source against a SQLite store in a loop until it is killed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from oncall_agent.sources.files import FileSource

pytestmark = pytest.mark.integration

LINES = 100_000
ROTATE_EVERY = 12_000
BURST = 500  # lines written between short pauses, so that reads interleave with writes
KILL_PACE_S = 0.12  # the pause per burst while readers are killed: writing lasts ~10 s
WRITER_TIMEOUT_S = 60.0
KINDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def _start(*args: str) -> subprocess.Popen[bytes]:
    """Start this file as a script with ARGS (a writer or a reader)."""
    return subprocess.Popen([sys.executable, __file__, *args], cwd=Path(__file__).parents[2])


def _numbers(messages: list[str]) -> list[int]:
    """The line numbers written into MESSAGES ("line 123 ...")."""
    return [int(m.split()[1]) for m in messages if m.startswith("line ")]


def _tail_until_done(
    log: Path,
    writer: subprocess.Popen[bytes],
    every_s: float = 0.0,
    max_bytes: int = 256 * 1024,
    cursor: dict[str, Any] | None = None,
) -> tuple[list[int], int]:
    """Poll the log (and its rotated files) from CURSOR every EVERY_S until the writer is done
    and nothing is new."""
    source = FileSource([str(log)], multiline=None)
    cursor = cursor or {}
    seen: list[int] = []
    reads = 0
    deadline = time.monotonic() + WRITER_TIMEOUT_S
    while time.monotonic() < deadline:
        done = writer.poll() is not None
        batch = source.read(cursor, max_bytes=max_bytes)
        reads += 1
        seen += _numbers([e.message for e in batch.events])
        moved = batch.cursor != cursor
        cursor = json.loads(json.dumps(batch.cursor))  # as the store would give it back
        if done and not moved and not batch.events:
            return seen, reads
        time.sleep(every_s)
    raise AssertionError("the writer or the reader did not finish in time")


def test_rename_rotation_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """100k numbered lines, the log renamed away every 12k lines: each line read exactly once."""
    log = tmp_path / "app.log"
    writer = _start("writer", "rename", str(log), str(LINES))
    seen, reads = _tail_until_done(log, writer)
    assert writer.wait(timeout=WRITER_TIMEOUT_S) == 0
    counts = Counter(seen)
    assert [n for n, c in counts.items() if c > 1] == []
    assert sorted(counts) == list(range(1, LINES + 1))
    assert reads > 10  # the reader really did read while the writer wrote and rotated


def test_rename_rotation_read_every_second_repeats_nothing(tmp_path: Path) -> None:
    """50k numbered lines, the log renamed away 5 times, read once a second with the default
    budget (as a detection schedule does), watched from before it existed: each line read
    exactly once, the generations rotated away before the first read included."""
    log = tmp_path / "app.log"
    watching = json.loads(json.dumps(FileSource([str(log)]).read({}).cursor))
    writer = _start("writer", "rename-paced", str(log), "50000")
    seen, reads = _tail_until_done(
        log, writer, every_s=1.0, max_bytes=8 * 1024 * 1024, cursor=watching
    )
    assert writer.wait(timeout=WRITER_TIMEOUT_S) == 0
    counts = Counter(seen)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    assert (duplicated, 50_000 - len(counts)) == (0, 0)  # (duplicated, lost)
    assert sorted(counts) == list(range(1, 50_001))
    assert reads > 3


def test_copytruncate_rotation_reads_nothing_twice(
    tmp_path: Path, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Copy-then-truncate rotation: no line is read twice; the few lost in the window are
    counted (lines written between the copy and the truncation are lost by any reader)."""
    log = tmp_path / "app.log"
    writer = _start("writer", "copytruncate", str(log), str(LINES))
    seen, _ = _tail_until_done(log, writer)
    assert writer.wait(timeout=WRITER_TIMEOUT_S) == 0
    counts = Counter(seen)
    assert [n for n, c in counts.items() if c > 1] == []
    lost = LINES - len(counts)
    record_property("copytruncate_lost_lines", lost)
    with capsys.disabled():
        print(f"\ncopytruncate: {lost} of {LINES} lines lost in the copy/truncate window")
    assert set(counts) <= set(range(1, LINES + 1))


def test_sigkilled_reader_loses_no_line_and_opens_no_duplicate_incident(tmp_path: Path) -> None:
    """A reader killed 20 times mid-scan, restarted each time, while lines are written: every
    kind of error has exactly one incident counting at least every line of that kind."""
    from sqlmodel import select

    from oncall_agent.store.engine import make_engine, session_scope
    from oncall_agent.store.schema import create_schema
    from oncall_agent.store.tables import Incident

    log, url = tmp_path / "app.log", f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    create_schema(engine)
    writer = _start("writer", "kinds", str(log), "40000")
    rng = random.Random(5)
    for _ in range(20):
        reader = _start("reader", str(log), url)
        time.sleep(rng.uniform(0.3, 1.2))
        reader.send_signal(signal.SIGKILL)
        reader.wait(timeout=10)
    assert writer.wait(timeout=WRITER_TIMEOUT_S) == 0
    _scan(log, url)  # the last, uninterrupted run reads what is left
    written = Counter(line.split()[2] for line in log.read_text().splitlines())
    with session_scope(engine) as session:
        incidents = [(i.title, i.occurrences) for i in session.exec(select(Incident)).all()]
    by_kind = Counter(next(k for k in KINDS if k in title) for title, _ in incidents)
    assert by_kind == Counter(dict.fromkeys(KINDS, 1))  # one incident per kind, none twice
    for title, count in incidents:
        kind = next(k for k in KINDS if k in title)
        assert count >= written[kind], (kind, count, written[kind])


def _scan(log: Path, url: str) -> None:
    """One scan_source run of LOG into the store at URL."""
    from oncall_agent.pipeline import scan_source
    from oncall_agent.store.engine import make_engine

    scan_source(make_engine(url), FileSource([str(log)], service="app"), "app-log")


# ---- the scripts the tests start -------------------------------------------------------------


def _write_lines(
    log: Path, first: int, last: int, kinds: bool, pace_s: float | None = None
) -> None:
    """Append lines FIRST..LAST to LOG (opened for append, as a logger does), in bursts
    (PACE_S: the pause after each burst)."""
    with log.open("a", encoding="utf-8") as handle:
        for number in range(first, last + 1):
            if kinds:
                kind = KINDS[number % len(KINDS)]
                handle.write(f"line {number} {kind} ERROR {kind} worker crashed\n")
            else:
                handle.write(f"line {number} payload {number * 7919 % 10007}\n")
            if number % BURST == 0:
                handle.flush()
                time.sleep(pace_s if pace_s is not None else KILL_PACE_S if kinds else 0.003)


def _rotate(log: Path, mode: str, generation: int) -> None:
    """Rotate LOG: rename it (keeping every old file), or copy it then truncate it in place."""
    if mode == "rename":
        log.rename(log.with_name(f"{log.name}.{generation}"))
    elif mode == "shift":  # as logrotate and RotatingFileHandler do: .1 -> .2, log -> .1
        for older in range(generation - 1, 0, -1):
            log.with_name(f"{log.name}.{older}").rename(log.with_name(f"{log.name}.{older + 1}"))
        log.rename(log.with_name(f"{log.name}.1"))
    else:
        shutil.copy(log, log.with_name(f"{log.name}.{generation}"))
        with log.open("r+b") as handle:
            handle.truncate(0)


def _copytruncate_writer(log: Path, total: int) -> None:
    """Write TOTAL lines (one write each) while another thread copies and truncates the log
    every ROTATE_EVERY lines, as logrotate does beside a running program: lines written
    between a copy and its truncation are lost, whoever reads."""
    due, stop = threading.Event(), threading.Event()

    def rotator() -> None:
        generation = 1
        while due.wait() and not stop.is_set():
            due.clear()
            _rotate(log, "copytruncate", generation)
            generation += 1

    thread = threading.Thread(target=rotator)
    thread.start()
    with log.open("a", encoding="utf-8", buffering=1) as handle:
        for number in range(1, total + 1):
            handle.write(f"line {number} payload {number * 7919 % 10007}\n")
            if number % ROTATE_EVERY == 0 and number < total:
                due.set()
            if number % BURST == 0:
                time.sleep(0.003)
    stop.set()
    due.set()
    thread.join()


def writer_main(mode: str, log: Path, total: int) -> None:
    """Write TOTAL numbered lines, rotating every ROTATE_EVERY lines (none for "kinds")."""
    if mode == "copytruncate":
        _copytruncate_writer(log, total)
        return
    first, generation = 1, 1
    kinds = mode.startswith("kinds")  # error lines of 8 kinds ("kinds-shift": and rotated)
    paced = mode in ("rename-paced", "shift", "copytruncate-paced", "kinds-shift")
    every = total // 6 + 1 if paced else ROTATE_EVERY  # 5 rotations
    while first <= total:
        last = min(total, first + every - 1)
        _write_lines(log, first, last, kinds=kinds, pace_s=0.05 if paced else None)
        if mode != "kinds" and last < total:
            _rotate(log, mode.removeprefix("kinds-").removesuffix("-paced"), generation)
            generation += 1
        first = last + 1


def reader_main(log: Path, url: str) -> None:
    """Scan LOG into the store at URL over and over, until killed."""
    while True:
        _scan(log, url)
        time.sleep(0.01)


def main(argv: list[str]) -> None:
    """`writer MODE LOG TOTAL` or `reader LOG URL`."""
    if argv[0] == "writer":
        writer_main(argv[1], Path(argv[2]), int(argv[3]))
    elif argv[0] == "reader":
        reader_main(Path(argv[1]), argv[2])
    else:
        raise SystemExit(f"unknown role {argv[0]!r}")


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    main(sys.argv[1:])
