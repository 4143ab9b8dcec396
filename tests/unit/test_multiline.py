"""Multi-line events: stack traces join the line that started them, bounded, across reads."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.sources.files import FileSource, ReadBatch
from oncall_agent.sources.multiline import MultilineRules

JAVA = (
    "2024-05-01 10:00:00 ERROR [main] c.e.OrderService - order 42 failed\n"
    "java.lang.IllegalStateException: inventory gone\n"
    "\tat com.example.OrderService.place(OrderService.java:10)\n"
    "\tat com.example.Api.handle(Api.java:20)\n"
    "Caused by: java.sql.SQLException: connection reset\n"
    "\tat org.pg.Driver.send(Driver.java:99)\n"
    "\t... 12 more\n"
)
PYTHON = (
    "2024-05-01 10:00:01 ERROR worker crashed\n"
    "Traceback (most recent call last):\n"
    '  File "job.py", line 3, in <module>\n'
    "    run()\n"
    "KeyError: 'x'\n"
    "\n"
    "During handling of the above exception, another exception occurred:\n"
    "\n"
    "Traceback (most recent call last):\n"
    '  File "job.py", line 5, in <module>\n'
    "    fail()\n"
    "ValueError: bad value\n"
)
AFTER = "2024-05-01 10:00:02 INFO next request\n"


def _old(path: Path) -> None:
    """Make PATH look written long ago (quiet longer than any flush timeout)."""
    past = time.time() - 3600
    os.utime(path, (past, past))


def _fresh(path: Path) -> None:
    """Make PATH look written just now."""
    now = time.time()
    os.utime(path, (now, now))


def _persisted(cursor: dict[str, Any]) -> dict[str, Any]:
    """CURSOR as it comes back from the store (a JSON round trip)."""
    return json.loads(json.dumps(cursor))


def _read_all(source: FileSource, max_bytes: int, **kwargs: Any) -> list[ReadBatch]:
    """Read until nothing moves, MAX_BYTES at a time, saving the cursor between reads."""
    cursor: dict[str, Any] = {}
    batches = []
    for _ in range(10_000):
        batch = source.read(cursor, max_bytes=max_bytes, **kwargs)
        batches.append(batch)
        if not batch.events and batch.cursor == cursor:
            return batches
        cursor = _persisted(batch.cursor)
    raise AssertionError("the reader never stopped moving")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """An empty log file in a folder of its own."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    return path


def test_java_trace_joins_the_line_that_started_it(log: Path) -> None:
    """The record line, its exception line, frames, Caused by and '... N more' form one event."""
    log.write_text(JAVA + AFTER)
    events = FileSource([str(log)]).read({}).events
    assert [e.line_no for e in events] == [1, 8]
    assert events[0].message == JAVA.rstrip("\n")
    assert events[1].message.endswith("next request")


def test_python_traceback_with_chained_exception_is_one_event(log: Path) -> None:
    """A traceback, its last line and a chained traceback join the record that logged them."""
    log.write_text(PYTHON + AFTER)
    events = FileSource([str(log)]).read({}).events
    assert [e.line_no for e in events] == [1, 13]
    assert events[0].message.splitlines()[-1] == "ValueError: bad value"
    assert "During handling of the above exception" in events[0].message
    assert "" not in events[0].message.splitlines()  # blank lines are not part of the text


def test_six_hundred_frame_trace_is_bounded_and_nothing_is_lost(log: Path) -> None:
    """A 600-frame trace makes an event of 500 lines; the rest starts the next event."""
    frames = "".join(f"\tat com.example.Deep.call{n}(Deep.java:{n})\n" for n in range(600))
    log.write_text("2024-05-01 10:00:00 ERROR deep recursion\n" + frames + AFTER)
    events = FileSource([str(log)]).read({}).events
    assert [len(e.message.splitlines()) for e in events] == [500, 101, 1]
    assert [e.line_no for e in events] == [1, 501, 602]


def test_an_event_never_exceeds_its_byte_bound(log: Path) -> None:
    """Continuation lines past max_bytes start a new event instead of growing the first."""
    frames = "".join(f"\tat {'x' * 90}{n}\n" for n in range(30))
    log.write_text("ERROR wide frames\n" + frames + AFTER)
    source = FileSource([str(log)], multiline=MultilineRules(max_bytes=1000))
    events = source.read({}).events
    assert all(len(e.message.encode()) <= 1000 for e in events)
    assert sum(len(e.message.splitlines()) for e in events) == 32


def test_trace_split_across_reads_still_joins(log: Path) -> None:
    """A small byte budget cuts reading inside a trace: the trace is still one event."""
    log.write_text(AFTER * 3 + JAVA + AFTER)
    batches = _read_all(FileSource([str(log)]), max_bytes=200)
    events = [e for b in batches for e in b.events]
    assert [e.line_no for e in events] == [1, 2, 3, 4, 11]
    assert events[3].message == JAVA.rstrip("\n")


def test_trace_still_being_written_is_held_then_joined(log: Path) -> None:
    """Frames written after a poll join the event: it waits while the file is fresh."""
    source = FileSource([str(log)])
    head, rest = JAVA.split("\tat com.example.Api")
    log.write_text(head)
    _fresh(log)
    first = source.read({})
    assert first.events == [] and first.stats.events_held == 1
    with log.open("a") as handle:
        handle.write("\tat com.example.Api" + rest + AFTER)
    second = source.read(_persisted(first.cursor))
    assert [e.message for e in second.events] == [JAVA.rstrip("\n"), AFTER.rstrip("\n")]


def test_held_trace_is_flushed_once_the_file_is_quiet(log: Path) -> None:
    """A trace at the end of a file quiet for flush_after_s is emitted as it stands."""
    log.write_text(JAVA)
    _fresh(log)
    source = FileSource([str(log)], flush_after_s=5.0)
    held = source.read({})
    assert held.events == []
    _old(log)
    flushed = source.read(_persisted(held.cursor))
    assert [e.message for e in flushed.events] == [JAVA.rstrip("\n")]


def test_missing_final_newline_is_flushed_after_the_timeout(log: Path) -> None:
    """A last line without newline waits, then is emitted; its rest keeps its line number."""
    log.write_text("ERROR one\nERROR two, no newline")
    _fresh(log)
    source = FileSource([str(log)], flush_after_s=5.0)
    first = source.read({})
    assert [e.message for e in first.events] == ["ERROR one"]
    assert first.stats.partial_lines_held == 1
    _old(log)
    second = source.read(_persisted(first.cursor))
    assert [(e.line_no, e.message) for e in second.events] == [(2, "ERROR two, no newline")]
    with log.open("a") as handle:
        handle.write(" (the rest)\nERROR three\n")
    third = source.read(_persisted(second.cursor))
    assert [(e.line_no, e.message) for e in third.events] == [
        (2, " (the rest)"),
        (3, "ERROR three"),
    ]


def test_plain_last_line_is_not_delayed(log: Path) -> None:
    """A last line that opens no trace is emitted at once, even in a file written just now."""
    log.write_text("2024-05-01 10:00:00 ERROR disk full on /data\n")
    _fresh(log)
    assert len(FileSource([str(log)]).read({}).events) == 1


def test_fast_path_joins_traces_like_the_full_read(log: Path) -> None:
    """With the engine choosing lines, the alerting traces are the same events, same lines."""
    log.write_text((AFTER * 50 + JAVA + AFTER * 7 + PYTHON) * 20 + AFTER)
    detector = Detector(default_pattern_set())
    full = detector.detect_many(FileSource([str(log)]).read({}).events)
    fast = detector.detect_many(FileSource([str(log)]).read({}, selector=detector.engine).events)
    assert [(d.event.line_no, d.event.message, d.fingerprint) for d in fast] == [
        (d.event.line_no, d.event.message, d.fingerprint) for d in full
    ]
    assert len(fast) == 40


def test_multiline_off_keeps_every_line_apart(log: Path) -> None:
    """With multiline=None each line is its own event, as before joining existed."""
    log.write_text(JAVA)
    events = FileSource([str(log)], multiline=None).read({}).events
    assert len(events) == len(JAVA.splitlines())
