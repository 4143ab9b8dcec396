"""Noise control from a source's own baseline: steady chatter held back, news opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from oncall_agent.detection.baseline import BUCKET_S, judge, poisson_tail
from oncall_agent.detection.detector import Detector, judge_level
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.models import LogEvent
from oncall_agent.scan import ScanOptions, scan_files

START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
CHATTER = '{} UTC [{}] FATAL:  password authentication failed for user "monitor"'
NEWS = "{} UTC [{}] FATAL:  remaining connection slots are reserved for superuser connections"


def _stamp(minutes: float) -> str:
    """A PostgreSQL log timestamp MINUTES after START."""
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S.000")


def _night(path: Path, extra: list[tuple[float, str]]) -> Path:
    """Six hours of a steady FATAL every ten minutes, plus EXTRA (minute, line template)."""
    rows = [(m, CHATTER) for m in range(3, 360, 10)] + extra
    rows.sort(key=lambda row: row[0])
    lines = [text.format(_stamp(m), 1000 + n) for n, (m, text) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_steady_chatter_is_held_back_and_a_new_error_opens(tmp_path: Path) -> None:
    """A FATAL there all night at a steady rate is held back with its reason; one that starts
    mid-night opens an incident."""
    log = _night(tmp_path / "postgresql.log", [(200 + k, NEWS) for k in range(5)])
    result = scan_files([str(log)])
    assert [i.draft.count for i in result.incidents] == [5]
    assert "remaining connection slots" in result.incidents[0].draft.template
    assert result.incidents[0].why is not None and result.incidents[0].why.startswith("new")
    [held] = result.held_back
    assert held.draft.count == 36
    assert held.why == "steady since 2026-12-01 20:00 UTC (~6/h), not opened"


def test_a_rate_jump_of_steady_chatter_opens(tmp_path: Path) -> None:
    """Forty more lines of the steady template within minutes open an incident (rate change)."""
    log = _night(tmp_path / "postgresql.log", [(250 + k / 10, CHATTER) for k in range(40)])
    result = scan_files([str(log)])
    assert len(result.incidents) == 1 and not result.held_back
    assert result.incidents[0].why is not None
    assert result.incidents[0].why.startswith("rate rose at 2026-12-02 00:10 UTC")


def test_no_baseline_opens_everything(tmp_path: Path) -> None:
    """With the baseline off (`--no-baseline`), the steady chatter opens as before."""
    from oncall_agent.detection.source_rules import DetectionRules

    log = _night(tmp_path / "postgresql.log", [])
    result = scan_files([str(log)], ScanOptions(rules=DetectionRules(baseline=False)))
    assert [i.draft.count for i in result.incidents] == [36] and not result.held_back


def test_short_history_never_holds_back() -> None:
    """Under an hour of a source seen, nothing is chatter: there is no baseline yet."""
    verdict = judge({100: 3, 101: 3, 102: 3}, observed_from=100, now=102)
    assert verdict.opens and "no baseline yet" in verdict.why


def test_a_short_burst_long_after_the_start_is_new() -> None:
    """Three lines in one bucket, hours into the night, are news even at a low overall rate."""
    counts = {115: 3}
    assert judge(counts, observed_from=100, now=172).opens
    assert BUCKET_S == 600


def test_poisson_tail_matches_known_values() -> None:
    """The tail probability agrees with hand-computed Poisson values."""
    assert abs(poisson_tail(1, 1.0) - (1 - 0.36787944)) < 1e-6
    assert abs(poisson_tail(3, 0.5) - 0.01438768) < 1e-6


def _event(message: str, level: str | None) -> LogEvent:
    """A parsed event with LEVEL."""
    return LogEvent(source="t", message=message, service="svc", level=level)


def test_level_decides_for_level_words() -> None:
    """'Exception' in an INFO line is no alert, in an ERROR line it is, a FATAL line is critical,
    and a specific problem alerts whatever the level."""
    detector = Detector(default_pattern_set())
    text = "retrying after exception: ConnectionResetError"
    assert detector.detect(_event(text, "INFO")) is None
    assert detector.detect(_event(text, "WARNING")) is None
    found = detector.detect(_event(text, "ERROR"))
    assert found is not None and found.severity.value == "error"
    fatal = detector.detect(_event(text, "FATAL"))
    assert fatal is not None and fatal.severity.value == "critical"
    disk = detector.detect(_event("write failed: No space left on device", "INFO"))
    assert disk is not None and disk.category == "disk"


def test_error_words_alert_on_lines_without_a_level() -> None:
    """A line with no level that says 'could not' / 'refused' / 'denied' alerts."""
    pattern_set = default_pattern_set()
    for text in (
        "worker[12]: could not open spool file /var/spool/x",
        "upload to bucket rejected by policy",
        "worker[12]: unable to reach the scheduler",
    ):
        found = judge_level(pattern_set.match(text), _event(text, None))
        assert found is not None, text


def test_collections_are_restored_after_nested_blocks() -> None:
    """Nested blocks raise the young threshold and freeze; leaving the last restores both."""
    import gc

    from oncall_agent.gc_tuning import YOUNG_THRESHOLD, fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        with fewer_collections():
            assert gc.get_threshold()[0] >= YOUNG_THRESHOLD and gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_scan_command_says_what_it_held_back(tmp_path: Path) -> None:
    """`oncall scan` prints a held-back line with the reason, and --no-baseline opens it."""
    from typer.testing import CliRunner

    from oncall_agent.cli import build_app

    log = _night(tmp_path / "postgresql.log", [])
    shown = CliRunner().invoke(build_app(), ["scan", str(log)])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())  # the console wraps long lines
    assert "0 incident(s)" in text and "1 kind(s) held back" in text
    assert "held back: auth: authentication failures in postgresql (36 lines)" in text
    assert "steady since 2026-12-01 20:00 UTC (~6/h), not opened" in text
    plain = CliRunner().invoke(build_app(), ["scan", "--no-baseline", str(log)])
    assert "1 incident(s)" in plain.output and "held back" not in plain.output
