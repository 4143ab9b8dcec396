"""`oncall scan`: the incidents the agent would open for some files, as JSON or a table."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from oncall_agent.cli import build_app, common
from oncall_agent.errors import ConfigError
from oncall_agent.scan import FIELDS, ScanOptions, scan_files

HEALTH = "2024-05-01T10:00:{:02d}Z ERROR api: health check failed: /healthz returned 503"
UNKNOWN = "2024-05-01T10:01:{:02d}Z ERROR billing: invoice {} has no customer"
ROUTINE = "2024-05-01T10:02:{:02d}Z INFO api: served request {}"


def _write(path: Path, lines: list[str], newline_at_end: bool = True) -> Path:
    """Write LINES to PATH."""
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""), encoding="utf-8")
    return path


def _scan_json(*args: str) -> list[dict[str, Any]]:
    """Run `oncall scan --json ARGS` and parse what it printed."""
    result = CliRunner().invoke(build_app(), ["scan", "--json", *args])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout))


def test_json_has_exactly_the_documented_fields(tmp_path: Path) -> None:
    """--json prints one array; each incident has exactly the twelve documented fields."""
    log = _write(tmp_path / "api.log", [HEALTH.format(1), ROUTINE.format(2, 1), HEALTH.format(3)])
    incidents = _scan_json(str(log))
    assert len(incidents) == 1
    assert list(incidents[0]) == list(FIELDS)
    incident = incidents[0]
    assert (incident["service"], incident["category"], incident["count"]) == ("api", "health", 2)
    assert incident["first_seen"] == "2024-05-01T10:00:01+00:00"
    assert incident["last_seen"] == "2024-05-01T10:00:03+00:00"
    assert len(incident["fingerprint"]) == 40


def test_known_problem_gets_its_action_and_decision(tmp_path: Path) -> None:
    """A failing health check is matched to the restart entry, confident enough to execute."""
    incident = _scan_json(str(_write(tmp_path / "api.log", [HEALTH.format(1)])))[0]
    assert incident["action"] == "restart_service"
    assert incident["decision"] == "execute"
    assert 0.75 <= incident["confidence"] <= 1


def test_unknown_problem_escalates_without_action(tmp_path: Path) -> None:
    """An error no knowledge entry knows is escalated: no action, no confidence."""
    incident = _scan_json(str(_write(tmp_path / "b.log", [UNKNOWN.format(1, 42)])))[0]
    assert (incident["action"], incident["decision"], incident["confidence"]) == (
        None, "escalate", None
    )  # fmt: skip


def test_action_missing_a_field_is_recommended_but_escalated(tmp_path: Path) -> None:
    """Disk full recommends cleanup, but without the log folder it cannot run: escalate."""
    line = "2024-05-01T10:00:00Z ERROR writer: No space left on device"
    incident = _scan_json(str(_write(tmp_path / "w.log", [line])))[0]
    assert (incident["action"], incident["decision"]) == ("cleanup_files", "escalate")


def test_lines_name_the_file_as_given_and_count_from_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--lines lists every grouped line as {file, line}, file spelled as on the command line."""
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "a.log", [ROUTINE.format(0, 1), UNKNOWN.format(1, 7), UNKNOWN.format(2, 8)])
    os.mkdir("sub")
    _write(tmp_path / "sub" / "b.log", [UNKNOWN.format(3, 9)], newline_at_end=False)
    incidents = _scan_json("--lines", "--service", "billing", "a.log", "sub/../sub/b.log")
    assert len(incidents) == 1
    assert incidents[0]["lines"] == [
        {"file": "a.log", "line": 2}, {"file": "a.log", "line": 3},
        {"file": "sub/../sub/b.log", "line": 1},
    ]  # fmt: skip
    assert incidents[0]["count"] == 3


def test_without_lines_flag_there_are_no_lines(tmp_path: Path) -> None:
    """Line lists are only kept and printed when asked for."""
    log = _write(tmp_path / "a.log", [UNKNOWN.format(1, 7)])
    assert "lines" not in _scan_json(str(log))[0]
    assert scan_files([str(log)], ScanOptions(with_lines=False)).incidents[0].lines == []


def test_lines_without_time_have_no_first_seen(tmp_path: Path) -> None:
    """An incident whose lines carry no timestamp says so instead of inventing one."""
    incident = _scan_json(str(_write(tmp_path / "a.log", ["ERROR queue 4 stalled"])))[0]
    assert incident["first_seen"] is None and incident["last_seen"] is None


def test_service_option_overrides_the_parsed_service(tmp_path: Path) -> None:
    """--service names the service of every line (the fingerprint follows it)."""
    log = _write(tmp_path / "api.log", [HEALTH.format(1)])
    default, forced = _scan_json(str(log))[0], _scan_json("--service", "checkout", str(log))[0]
    assert forced["service"] == "checkout" and forced["fingerprint"] != default["fingerprint"]


def test_table_names_each_incident_and_sums_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --json a table shows each incident's title, then a one-line summary."""
    monkeypatch.setattr(common.console, "width", 240)
    log = _write(tmp_path / "api.log", [HEALTH.format(1), UNKNOWN.format(2, 5)])
    result = CliRunner().invoke(build_app(), ["scan", str(log)])
    assert result.exit_code == 0, result.output
    assert "health check failing in api" in result.stdout
    assert "invoice <NUM> has no customer" in result.stdout
    assert "2 incident(s) from 2 line(s)" in result.stdout


@pytest.mark.parametrize(("name", "why"), [("missing.log", "no such file"), ("", "is a folder")])
def test_bad_path_exits_2_naming_it(tmp_path: Path, name: str, why: str) -> None:
    """A missing file or a folder stops the scan with exit code 2 and names the path."""
    path = str(tmp_path / name) if name else str(tmp_path)
    result = CliRunner().invoke(build_app(), ["scan", "--json", path])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"{path}: {why}" in said


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_named(tmp_path: Path) -> None:
    """A file the user may not read is reported as such before anything is scanned."""
    log = _write(tmp_path / "secret.log", ["ERROR x"])
    log.chmod(0)
    with pytest.raises(ConfigError, match=r"secret\.log: cannot be read"):
        scan_files([str(log)])


def test_min_severity_and_warnings_options(tmp_path: Path) -> None:
    """--min-severity drops milder incidents; --warnings adds WARN-level lines."""
    auth = "Jun 14 15:16:01 host sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2"
    warn = "2024-05-01T10:00:00Z WARN cache: miss storm on key users:42"
    log = str(_write(tmp_path / "mixed.log", [auth, warn, HEALTH.format(1)]))
    assert [i["category"] for i in _scan_json(log)] == ["health", "auth"]
    assert [i["category"] for i in _scan_json("--min-severity", "error", log)] == ["health"]
    assert {i["category"] for i in _scan_json("--warnings", log)} == {"health", "auth", "warning"}


def test_forced_parser_changes_what_a_line_says(tmp_path: Path) -> None:
    """--parser plain reads no time or level, so a level-only error line raises nothing."""
    log = str(_write(tmp_path / "j.log", ['{"level": "error", "msg": "payment declined"}']))
    assert len(_scan_json(log)) == 1
    assert _scan_json("--parser", "plain", log) == []


def test_progress_counts_every_byte(tmp_path: Path) -> None:
    """The progress callback is told every byte read, so a bar reaches the files' size."""
    first = _write(tmp_path / "a.log", [HEALTH.format(n) for n in range(50)])
    second = _write(tmp_path / "b.log", [ROUTINE.format(1, 2)], newline_at_end=False)
    seen: list[int] = []
    scan_files([str(first), str(second)], on_bytes=seen.append)
    assert sum(seen) == first.stat().st_size + second.stat().st_size
