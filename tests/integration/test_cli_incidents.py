"""The core CLI on a real SQLite store: db upgrade, simulate, list, show, resolve and learn."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oncall_agent.cli import build_app
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.settings import get_settings
from oncall_agent.store.engine import get_engine

runner = CliRunner()


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """DATABASE_URL pointing at a new SQLite file, read afresh by the settings."""
    db = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db}")
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def oncall(*args: str) -> str:
    """Run one CLI command, fail on a non-zero exit, and return its output."""
    result = runner.invoke(build_app(), list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_refuse_an_unmigrated_store(cli_store: Path) -> None:
    """Without `oncall db upgrade`, commands say so and exit 2."""
    result = runner.invoke(build_app(), ["incidents"])
    assert result.exit_code == 2
    assert "oncall db upgrade" in result.output


def test_human_resolution_of_an_unknown_incident_teaches_a_new_entry(cli_store: Path) -> None:
    """A solution given for an unmatched incident becomes an entry that matches the next one."""
    assert "built-in entries added" in oncall("db", "upgrade")
    out = oncall(
        "simulate-incident",
        "--title",
        "ledger mismatch",
        "--service",
        "billing",
        "--message",
        "ERROR reconciliation failed for batch 4411: checksum mismatch",
    )
    incident_id = re.search(r"incident #(\d+) opened", out).group(1)  # type: ignore[union-attr]
    assert "ledger mismatch" in oncall("incidents")
    assert "checksum mismatch" in oncall("show", incident_id)

    learned = oncall(
        "resolve",
        incident_id,
        "--solution",
        "re-ran the reconciliation job",
        "--success",
        "--note",
        "upstream late",
    )
    assert "new knowledge entry" in learned
    assert "resolved" in oncall("incidents", "--status", "resolved")
    assert "ledger mismatch" in oncall("kb", "search", "reconciliation checksum")

    again = oncall(
        "simulate-incident",
        "--title",
        "ledger mismatch",
        "--service",
        "billing",
        "--message",
        "ERROR reconciliation failed for batch 9120: checksum mismatch",
    )
    assert f"incident #{incident_id} reopened" in again
    analysis = analyze_incident(get_engine(), int(incident_id), {})
    assert analysis.entry_key is not None and analysis.entry_key.startswith("learned-")
    assert analysis.solution == "re-ran the reconciliation job"


def test_status_counts_incidents(cli_store: Path) -> None:
    """`oncall status` shows the count per status."""
    oncall("db", "upgrade")
    oncall(
        "simulate-incident",
        "--title",
        "t",
        "--service",
        "api",
        "--message",
        "ERROR connection pool exhausted size=10",
    )
    assert re.search(r"open\s+1", oncall("status"))


def test_show_unknown_incident_is_a_clear_error(cli_store: Path) -> None:
    """Asking for an incident that does not exist names it and exits 1."""
    oncall("db", "upgrade")
    result = runner.invoke(build_app(), ["show", "999"])
    assert result.exit_code == 1
    assert "no incident with id 999" in result.output


def test_show_prints_each_action_output_and_its_verification(
    cli_store: Path, tmp_path: Path
) -> None:
    """`oncall show` lists what an action printed (here: a cleanup that deleted nothing)."""
    from oncall_agent.executors.config import ExecutorConfig
    from oncall_agent.executors.registry import build_executor
    from oncall_agent.resolution.acting import execute_action

    oncall("db", "upgrade")
    out = oncall("simulate-incident", "--title", "disk full", "--service", "api",
                 "--message", "write failed: No space left on device")  # fmt: skip
    incident_id = int(re.search(r"incident #(\d+) opened", out).group(1))  # type: ignore[union-attr]
    empty = tmp_path / "spool"
    empty.mkdir()
    analysis = analyze_incident(get_engine(), incident_id, {"api": {"log_dir": str(empty)}})
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[empty]))
    execute_action(get_engine(), analysis, executor)
    shown = oncall("show", str(incident_id))
    assert "cleanup_files" in shown and ": no_effect" in shown
    assert "| deleted 0 file(s), 0 bytes" in shown
