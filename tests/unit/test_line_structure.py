"""Learning a file's header from its own lines: formats no parser here was written for."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.models import LogEvent
from oncall_agent.sources.line_structure import layout_of_file, learn_layout, line_header_end
from oncall_agent.sources.parsing import parse_line, split_header

# Header formats written for this test, each with a few lines (no parser exists for them).
FORMATS = {
    "pipes": "{d}.05.2024 10:0{n}:00.123 | edge-{n} | WARN | [tid {n}] cache.Eviction: {msg}",
    "epoch": "17146{n}0000.{n}25 node{n} 4{n}21 ERROR {msg}",
    "angle": "<ERROR> 2024-05-0{d}T10:00:0{n}+02:00 [worker {n}] {msg}",
    "java": "May {d}, 2024 10:0{n}:00 AM db-{n} jobs.Runner: {msg}",
    "compact": "2024050{d}-10:00:0{n}:1{n} {n}3 {n}4 INFO Step_{n}: {msg}",
}
MESSAGES = ["disk full on volume data", "backup job failed for tenant acme", "queue is stuck"]


def _lines(form: str) -> list[str]:
    """Twelve lines of FORM: three messages from four hosts, pids and times."""
    return [
        form.format(d=n + 1, n=n, msg=msg) for n in range(1, 5) for msg in MESSAGES
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_a_header_never_seen_before_is_learned_and_cut(name: str) -> None:
    """Whatever the header holds (time form, host, pid, level, thread), only the message stays."""
    lines = _lines(FORMATS[name])
    layout = learn_layout(lines)
    bodies = {line[layout.header_end(line) :].strip() for line in lines}
    assert bodies == set(MESSAGES), (layout.kinds, bodies)


def test_hosts_and_pids_in_the_header_never_split_an_incident(tmp_path: Path) -> None:
    """One error logged by four hosts with four pids opens one incident, not four."""
    path = tmp_path / "app.log"
    lines = _lines(FORMATS["epoch"])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    detector = Detector(default_pattern_set())
    events = [
        LogEvent(source="t", message=line, service="app", path=str(path), level="ERROR")
        for line in lines
        if "failed" in line
    ]
    found = detector.detect_many(events)
    assert len(found) == 4
    assert len({d.fingerprint for d in found}) == 1
    assert found[0].template == "backup job failed for tenant acme"


def test_continuation_lines_keep_all_their_text() -> None:
    """A line that does not start like the header (a stack frame) loses nothing."""
    layout = learn_layout(_lines(FORMATS["pipes"]))
    frame = "    at com.acme.Cache.evict(Cache.java:42)"
    assert layout.header_end(frame) == 0


def test_a_message_that_starts_with_a_word_and_colon_keeps_it() -> None:
    """Without a learned header, `Connection refused:` after a time is message, not a host."""
    line = "2024-05-01T10:00:00Z Connection refused: db:5432"
    assert line[line_header_end(line) :].strip() == "Connection refused: db:5432"


def test_iso_lines_do_not_name_a_level_as_their_host() -> None:
    """`<time> ERROR pool: ...` is not syslog: ERROR is the level, not a host called ERROR."""
    parsed = parse_line("2024-05-01T10:00:00Z ERROR pool: timeout")
    assert parsed.level == "ERROR"
    assert "host" not in parsed.attributes


def test_a_file_without_a_header_learns_none(tmp_path: Path) -> None:
    """Lines that are all message (no time, no level) keep every word."""
    path = tmp_path / "plain.log"
    path.write_text("disk full: sda\nqueue stuck: q1\nretrying: job 3\n", encoding="utf-8")
    layout = layout_of_file(str(path))
    assert layout.kinds == ""
    assert layout.header_end("disk full: sda") == 0


def test_a_line_unlike_the_learned_header_is_read_alone() -> None:
    """A line in another format than the file's first lines still loses its own header."""
    layout = learn_layout(_lines(FORMATS["pipes"]))
    other = "2024-05-01T10:00:00Z ERROR [worker-2] queue is stuck"
    assert split_header(other, layout) == ("", "queue is stuck")
