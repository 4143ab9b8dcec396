"""The file source: at-least-once tailing across restarts, rotation and bad input."""

from __future__ import annotations

import json
import os
import shutil
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.errors import SourceError
from oncall_agent.sources.files import FileSource, ReadBatch


def _append(path: Path, data: bytes | str) -> None:
    """Append DATA to PATH as a writer would."""
    with path.open("ab") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)


def _messages(batch: ReadBatch) -> list[str]:
    """The messages of a batch, in order."""
    return [e.message for e in batch.events]


def _persisted(cursor: dict[str, Any]) -> dict[str, Any]:
    """CURSOR as it comes back from the store (a JSON round trip)."""
    return json.loads(json.dumps(cursor))


def _lines(paths: list[str], **options: Any) -> FileSource:
    """A source without multi-line joining: every line is an event, none is held back."""
    return FileSource(paths, multiline=None, **options)


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """An empty log file in a folder of its own."""
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    return path


def test_partial_line_is_held_until_its_newline_arrives(log: Path) -> None:
    """A last line without newline is not consumed; once completed it is read whole."""
    source = _lines([str(log)])
    _append(log, "first\nsec")
    batch = source.read({})
    assert _messages(batch) == ["first"]
    assert batch.stats.partial_lines_held == 1
    _append(log, "ond\n")
    batch = source.read(_persisted(batch.cursor))
    assert _messages(batch) == ["second"]
    assert batch.events[0].line_no == 2


def test_invalid_utf8_is_replaced_and_counted(log: Path) -> None:
    """Undecodable bytes become U+FFFD; the line is kept and counted."""
    _append(log, b"ok\nbad \xff\xfe bytes\n")
    batch = _lines([str(log)]).read({})
    assert _messages(batch) == ["ok", "bad \ufffd\ufffd bytes"]
    assert batch.stats.invalid_utf8_lines == 1


def test_one_megabyte_line_is_capped_and_counted(log: Path) -> None:
    """A 1 MB line keeps max_line_bytes, reports what was cut, and the next line is intact."""
    _append(log, "x" * 1_000_000 + "\nafter\n")
    batch = _lines([str(log)], max_line_bytes=65536).read({})
    capped, after = batch.events
    assert len(capped.message) == 65536
    assert capped.truncated_bytes == 1_000_000 - 65536
    assert batch.stats.truncated_lines == 1
    assert batch.stats.truncated_bytes == 1_000_000 - 65536
    assert (after.message, after.line_no) == ("after", 2)


def test_memory_stays_bounded_on_a_huge_line(log: Path) -> None:
    """Reading a 20 MB line allocates far less than the line (chunks, capped buffer)."""
    _append(log, b"y" * 20_000_000 + b"\n")
    source = _lines([str(log)], max_line_bytes=4096)
    tracemalloc.start()
    try:
        batch = source.read({})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert batch.events[0].truncated_bytes == 20_000_000 - 4096
    assert peak < 4_000_000


def test_overlong_line_without_newline_is_cut_now_and_its_rest_skipped(log: Path) -> None:
    """A line over the cap with no newline yet is emitted capped; its tail is discarded later."""
    source = _lines([str(log)], max_line_bytes=1000)
    _append(log, "z" * 5000)
    first = source.read({})
    assert [len(m) for m in _messages(first)] == [1000]
    _append(log, "zzz-tail\nnext line\n")
    second = source.read(_persisted(first.cursor))
    assert _messages(second) == ["next line"]
    assert second.events[0].line_no == 2
    assert second.stats.truncated_bytes == len("zzz-tail")


def test_restart_from_saved_cursor_reads_only_new_lines(log: Path) -> None:
    """A new source given the saved cursor neither re-reads nor skips a line."""
    _append(log, "one\ntwo\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    _append(log, "three\nfour\n")
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["three", "four"]
    assert [e.line_no for e in batch.events] == [3, 4]
    assert batch.events[0].offset == len("one\ntwo\n")
    assert _messages(_lines([str(log)]).read(_persisted(batch.cursor))) == []


def test_truncation_is_detected_and_read_from_start(log: Path) -> None:
    """A file cut below the saved offset (copytruncate) is read again from its start."""
    _append(log, "alpha\nbeta\ngamma\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    shutil.copy(log, log.with_suffix(".log.1"))
    with log.open("r+b") as handle:
        handle.truncate(0)
    _append(log, "delta\n")
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["delta"]
    assert any("truncated" in note for note in batch.stats.restarts)


def test_copytruncate_drains_the_unread_tail_from_the_copy(log: Path) -> None:
    """Lines written before a copytruncate but not yet read are taken from the copy, once."""
    _append(log, "1\n2\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    _append(log, "3\n")
    shutil.copy(log, log.with_name("app.log.1"))
    with log.open("r+b") as handle:
        handle.truncate(0)
    _append(log, "4\n")
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["3", "4"]
    assert _messages(_lines([str(log)]).read(_persisted(batch.cursor))) == []


def test_truncated_and_regrown_past_offset_is_detected(log: Path) -> None:
    """Rewritten in place while the agent was down, longer than before: read from the start."""
    _append(log, "old 1\nold 2\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    inode = log.stat().st_ino
    with log.open("r+b") as handle:
        handle.truncate(0)
        handle.write(b"new first line, longer than before\nnew 2\n")
    assert log.stat().st_ino == inode
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["new first line, longer than before", "new 2"]
    assert any("rewritten" in note for note in batch.stats.restarts)


def test_replaced_file_is_detected_and_read_from_start(log: Path, tmp_path: Path) -> None:
    """Another file moved over the name (new inode) is read from its start."""
    _append(log, "old a\nold b\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    fresh = tmp_path / "incoming.log"
    fresh.write_text("new a\n")
    os.replace(fresh, log)
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["new a"]
    assert any("replaced" in note for note in batch.stats.restarts)


def test_rename_rotation_loses_and_repeats_nothing(log: Path) -> None:
    """Lines written before a rename rotation are drained from the rotated file, once."""
    _append(log, "1\n2\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    _append(log, "3\n")  # written but not read before the rotation
    log.rename(log.with_name("app.log.1"))
    _append(log, "4\n")
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["3", "4"]
    assert batch.stats.restarts == [f"{log}: rotated; its unread tail was read from {log}.1"]
    # The old writer still appends to the rotated file before it reopens.
    _append(log.with_name("app.log.1"), "3b\n")
    _append(log, "5\n")
    batch = _lines([str(log)]).read(_persisted(batch.cursor))
    assert sorted(_messages(batch)) == ["3b", "5"]
    log.with_name("app.log.1").unlink()
    batch = _lines([str(log)]).read(_persisted(batch.cursor))
    assert _messages(batch) == []
    assert list(batch.cursor["files"]) == [str(log)]


def test_rotation_before_the_new_file_exists_loses_nothing(log: Path) -> None:
    """Renamed away with no new file yet: the unread tail is drained, the new file read later."""
    _append(log, "1\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    _append(log, "2\n")
    log.rename(log.with_name("app.log.1"))
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["2"]
    _append(log, "3\n")
    batch = _lines([str(log)]).read(_persisted(batch.cursor))
    assert _messages(batch) == ["3"]


def test_generation_rotated_before_the_first_read_of_a_watched_log_is_read(
    tmp_path: Path,
) -> None:
    """Watched before it existed, the log is written and renamed away before the next read:
    that generation is read too (it was written while we watched), then the new file."""
    log = tmp_path / "app.log"
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    time.sleep(0.01)  # the generation is written after the first read began
    _append(log, "1\n2\n")
    log.rename(log.with_name("app.log.1"))
    _append(log, "3\n")
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["1", "2", "3"]
    assert _messages(_lines([str(log)]).read(_persisted(batch.cursor))) == []


def test_history_beside_a_log_read_for_the_first_time_is_not_read(log: Path) -> None:
    """On the very first read, older rotated files are history: only the watched log is read."""
    log.with_name("app.log.1").write_text("old\n")
    _append(log, "new\n")
    assert _messages(_lines([str(log)]).read({})) == ["new"]


def test_renamed_file_matched_by_glob_continues_from_its_offset(log: Path) -> None:
    """A file known under an old name and matched again under a new one is not re-read."""
    _append(log, "a\nb\n")
    pattern = str(log.parent / "app.log*")
    saved = _persisted(_lines([pattern]).read({}).cursor)
    log.rename(log.with_name("app.log.1"))
    _append(log.with_name("app.log.1"), "c\n")
    _append(log, "d\n")
    batch = _lines([pattern]).read(saved)
    assert sorted(_messages(batch)) == ["c", "d"]


def test_service_comes_from_argument_then_line_then_file_stem(tmp_path: Path) -> None:
    """The service argument wins; else the line names it (syslog, JSON); else the file stem."""
    path = tmp_path / "billing.log"
    path.write_text(
        "plain line\n"
        "Jun 14 15:16:01 host sshd[42]: Failed password for root\n"
        '{"message": "boom", "service": "payments", "level": "error"}\n'
    )
    events = _lines([str(path)]).read({}).events
    assert [e.service for e in events] == ["billing", "sshd", "payments"]
    assert events[2].level == "ERROR" and events[2].message == "boom"
    forced = _lines([str(path)], service="checkout").read({}).events
    assert {e.service for e in forced} == {"checkout"}


def test_events_carry_position_time_and_level(log: Path) -> None:
    """Each event knows its file, 1-based line number, byte offset, timestamp and level."""
    _append(log, "2024-05-01T10:00:00Z INFO up\r\n2024-05-01T10:00:05Z ERROR down\r\n")
    events = _lines([str(log)]).read({}).events
    assert [(e.line_no, e.offset, e.level) for e in events] == [(1, 0, "INFO"), (2, 30, "ERROR")]
    assert events[1].message == "2024-05-01T10:00:05Z ERROR down"
    assert events[1].timestamp is not None and events[1].timestamp.second == 5
    assert events[1].path == str(log) and events[1].source == f"file:{log}"


def test_globs_read_every_matching_file(tmp_path: Path) -> None:
    """A glob reads each file it matches; missing files are simply absent."""
    (tmp_path / "a.log").write_text("from a\n")
    (tmp_path / "b.log").write_text("from b\n")
    (tmp_path / "c.txt").write_text("not me\n")
    source = _lines([str(tmp_path / "*.log"), str(tmp_path / "missing.log")])
    batch = source.read({})
    assert _messages(batch) == ["from a", "from b"]
    assert batch.stats.files == 2


def test_byte_budget_splits_reading_without_loss(log: Path) -> None:
    """A small max_bytes reads part now and the rest next time, nothing lost or doubled."""
    _append(log, "".join(f"line {n}\n" for n in range(100)))
    source, cursor, seen = _lines([str(log)]), {}, []
    for _ in range(50):
        batch = source.read(cursor, max_bytes=100)
        seen += _messages(batch)
        if not batch.events:
            break
        cursor = _persisted(batch.cursor)
    assert seen == [f"line {n}" for n in range(100)]


def test_line_filter_drops_lines_but_consumes_them(log: Path) -> None:
    """Lines the filter rejects produce no event yet are counted and not read again."""
    _append(log, "INFO a\nERROR b\nINFO c\n")
    source = _lines([str(log)], line_filter=lambda text: "ERROR" in text)
    batch = source.read({})
    assert _messages(batch) == ["ERROR b"] and batch.events[0].line_no == 2
    assert batch.stats.lines == 3
    assert source.read(_persisted(batch.cursor)).events == []


def test_pattern_prefilter_as_line_filter_keeps_level_alerts(log: Path) -> None:
    """Filtering with PatternSet.may_match never drops a line the detector would alert on."""
    _append(
        log,
        '{"severity": "critical", "msg": "ledger mismatch"}\n'
        "[Sun Dec 04 04:47:44 2005] [alert] child died\n"
        "2024-05-01 10:00:00 INFO all good\n",
    )
    detector = Detector(default_pattern_set())
    unfiltered = detector.detect_many(_lines([str(log)]).read({}).events)
    filtered_source = _lines([str(log)], line_filter=default_pattern_set().may_match)
    filtered = detector.detect_many(filtered_source.read({}).events)
    assert [d.event.message for d in filtered] == [
        "ledger mismatch",
        log.read_text().split("\n")[1],
    ]
    assert [d.fingerprint for d in filtered] == [d.fingerprint for d in unfiltered]


def test_a_source_needs_paths() -> None:
    """A file source without paths is a configuration mistake, said clearly."""
    with pytest.raises(SourceError, match="no paths"):
        FileSource([])


def _age(path: Path, seconds: float) -> None:
    """Set PATH's modification time SECONDS in the past."""
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def test_two_rename_rotations_between_reads_lose_nothing(log: Path) -> None:
    """A generation created and rotated away between two reads is still read, once."""
    _append(log, "1\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    _append(log, "2\n")
    log.rename(log.with_name("app.log.1"))
    _append(log, "3\n")
    log.rename(log.with_name("app.log.2"))
    _append(log, "4\n")
    batch = _lines([str(log)]).read(saved)
    assert sorted(_messages(batch)) == ["2", "3", "4"]
    assert _messages(_lines([str(log)]).read(_persisted(batch.cursor))) == []


def test_two_copytruncates_between_reads_lose_nothing(log: Path) -> None:
    """Two copy-then-truncate rotations between reads: both copies' unread lines are read."""
    _append(log, "first generation line one\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    for generation, text in enumerate(["first generation line two\n", "second generation\n"]):
        _append(log, text)
        shutil.copy(log, log.with_name(f"app.log.{generation + 1}"))
        with log.open("r+b") as handle:
            handle.truncate(0)
    _append(log, "third generation\n")
    batch = _lines([str(log)]).read(saved)
    assert sorted(_messages(batch)) == [
        "first generation line two", "second generation", "third generation"
    ]  # fmt: skip


def test_old_rotated_files_are_history_on_a_first_read(log: Path) -> None:
    """Rotated files that were there before the agent first read the log are not read."""
    old = log.with_name("app.log.1")
    old.write_text("from last week\n")
    _age(old, 7 * 24 * 3600)
    _append(log, "today\n")
    saved = _persisted(_lines([str(log)]).read({}).cursor)
    log.rename(log.with_name("app.log.2"))
    _append(log, "after rotation\n")
    batch = _lines([str(log)]).read(saved)
    assert _messages(batch) == ["after rotation"]
