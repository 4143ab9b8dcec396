"""Benign lines that look alarming open no incident; their alarming twins still do."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncall_agent.detection.defaults import WARNING_LEVEL_PATTERN
from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import DEFAULT_PATTERNS, compile_patterns, default_pattern_set
from oncall_agent.models import Detection
from oncall_agent.scan import ScanOptions, scan_files
from oncall_agent.sources.files import FileSource

BENIGN = {
    "zero error rate": "2024-05-01 10:00:00,123 INFO [metrics] reporter: error_rate=0.00 p99=120ms",
    "zero counters": 'level=info msg="health summary" error_rate=0.00 errors=0 failures: 0',
    "no failed jobs": "2024-05-01T10:00:00Z INFO scheduler: 0 failed jobs, 12 succeeded",
    "errors URL, 200": '10.0.0.1 - - [01/May/2024:10:00:00 +0000] "GET /api/errors?page=2 '
    'HTTP/1.1" 200 512 "-" "curl/8.0"',
    "Error page, 200": '10.0.0.1 - - [01/May/2024:10:00:01 +0000] "GET /static/ErrorPage.html '
    'HTTP/1.1" 200 93 "-" "Mozilla/5.0"',
    "retry connected": "2024-05-01 10:00:02 WARN db: Retrying connection to postgres (attempt "
    "2/5)... connected",
    "retry succeeded": "2024-05-01 10:00:03 INFO redis: connection refused, retrying in 2s; "
    "retry 1 succeeded",
    "deprecation": "2024-05-01 10:00:04 WARNING py.warnings: DeprecationWarning: ConnectionError "
    "is deprecated, use ConnectError",
    "deprecated option": "2024-05-01 10:00:05,000 - app.config - WARNING - option 'on_error' "
    "is deprecated and will be removed",
}
ALARMING = {
    "error rate": "2024-05-01 10:01:00 ERROR reporter: error_rate=0.35 over threshold",
    "5xx": '10.0.0.1 - - [01/May/2024:10:01:01 +0000] "GET /api/errors HTTP/1.1" 502 166 "-" "c"',
    "retry gave up": "2024-05-01 10:01:02 ERROR db: Retrying connection to postgres (attempt "
    "5/5): connection refused, giving up",
    "failure, not deprecation": "2024-05-01 10:01:03 WARNING app: ConnectionError: host down",
}


def _detect(tmp_path: Path, lines: list[str], warnings: bool = False) -> list[Detection]:
    """Write LINES to a log file; the real file source and detector's detections (WARNINGS:
    the source opted into WARN lines, which otherwise never alert on a level word alone)."""
    log = tmp_path / "app.log"
    log.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    events = FileSource([str(log)], flush_after_s=0).read({}).events
    assert len(events) == len(lines)
    patterns = (
        compile_patterns([*DEFAULT_PATTERNS, WARNING_LEVEL_PATTERN])
        if warnings
        else default_pattern_set()
    )
    return Detector(patterns).detect_many(events)


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_line_raises_no_alert(tmp_path: Path, name: str) -> None:
    """Each benign look-alike, read from a file like any line, raises no alert."""
    assert _detect(tmp_path, [BENIGN[name]]) == []


@pytest.mark.parametrize("name", sorted(ALARMING))
def test_alarming_twin_still_alerts(tmp_path: Path, name: str) -> None:
    """The same words in a real problem still raise an alert: suppressions are narrow (a WARN
    line's, where the source flags WARN lines)."""
    line = ALARMING[name]
    assert len(_detect(tmp_path, [line], warnings=" WARNING " in line)) == 1


def test_scan_of_benign_lines_opens_no_incident(tmp_path: Path) -> None:
    """`oncall scan` over all benign lines, even flagging WARN lines, opens no incident."""
    log = tmp_path / "quiet.log"
    log.write_text("".join(f"{line}\n" for line in BENIGN.values()), encoding="utf-8")
    assert scan_files([str(log)]).incidents == []
    with_warnings = ScanOptions(
        rules=ScanOptions().rules.model_copy(update={"warning_lines": True})
    )
    flagged = scan_files([str(log)], with_warnings).incidents
    assert [i.draft.title for i in flagged] == []
