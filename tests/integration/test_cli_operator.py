"""What an operator sees from the CLI: fast start, one-line errors, literal text, JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from oncall_agent.models import ActionStatus
from oncall_agent.settings import get_settings
from oncall_agent.store.actions import finish_action, reserve_action
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import get_engine, session_scope

runner = CliRunner()
PROJECT = Path(__file__).resolve().parents[2]
HEAVY = ("prefect", "sklearn", "scipy", "numpy", "alembic", "openai", "hyperscan")


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite store in a temporary folder, named by DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield url
    get_settings.cache_clear()


def oncall(*args: str, code: int = 0) -> str:
    """Run one command in-process and return its output, checking the exit code."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def _simulate(title: str, message: str) -> int:
    """Open an incident through `oncall simulate-incident` and return its id."""
    out = oncall(
        "simulate-incident", "--title", title, "--service", "billing", "--message", message
    )
    return int(re.search(r"incident #(\d+)", out).group(1))  # type: ignore[union-attr]


def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real `oncall` entry point in a fresh process."""
    return subprocess.run(
        [sys.executable, "-c", "from flows.cli import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [["--help"], ["incidents"], ["kb", "list"], ["show", "1"], ["report"], ["approvals"]]
)
def test_store_commands_never_import_prefect_or_sklearn(args: list[str], tmp_path: Path) -> None:
    """Commands that only read the store start without Prefect, scikit-learn, SciPy or Alembic."""
    db = tmp_path / "s.db"
    env = {"DATABASE_URL": f"sqlite:///{db}"}
    assert _run_cli(["db", "upgrade"], env, tmp_path).returncode == 0
    probe = (
        "import sys\n"
        "from flows.cli import main\n"
        f"sys.argv = ['oncall', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print('HEAVY=' + ','.join(loaded), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "HEAVY=\n" in done.stderr, done.stderr


def test_a_store_that_is_down_gives_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    """PostgreSQL refusing connections: a short message naming the store, no traceback."""
    env = {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/oncall?connect_timeout=2"}
    done = _run_cli(["incidents"], env, tmp_path)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2, done.stderr
    assert "cannot reach the store" in done.stderr and "127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """--debug brings the traceback back for whoever files the bug."""
    env = {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/oncall?connect_timeout=2"}
    done = _run_cli(["--debug", "incidents"], env, tmp_path)
    assert done.returncode != 0
    assert "Traceback" in done.stderr


def test_answering_an_unknown_approval_is_one_line(cli_store: str, tmp_path: Path) -> None:
    """`oncall approve 99999` says the approval does not exist, in one line, exit 1."""
    done = _run_cli(["approve", "99999", "--as", "alice"], {"DATABASE_URL": cli_store}, tmp_path)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "99999" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_bracketed_log_text_prints_literally(cli_store: str) -> None:
    """Titles, templates and samples with [brackets] are never eaten as markup."""
    incident = _simulate("[ledger] mismatch in [db.pool]", "ERROR [ledger] batch <7> [db.pool]")
    assert "[ledger] mismatch in [db.pool]" in oncall("incidents")
    shown = oncall("show", str(incident))
    assert "[ledger] mismatch in [db.pool]" in shown
    assert "ERROR [ledger] batch <7> [db.pool]" in shown


def test_empty_listings_say_so(cli_store: str) -> None:
    """An empty listing prints a sentence, not an empty table."""
    assert "no incidents" in oncall("incidents")
    assert "no incidents with status open" in oncall("incidents", "--status", "open")
    assert "no approvals are waiting" in oncall("approvals")


def test_listings_print_json(cli_store: str) -> None:
    """--json on the listing commands prints JSON a script can read."""
    incident = _simulate("disk full", "ERROR no space left on device")
    rows = json.loads(oncall("incidents", "--json"))
    assert [r["id"] for r in rows] == [incident] and rows[0]["title"] == "disk full"
    assert json.loads(oncall("approvals", "--json")) == []
    entries = json.loads(oncall("kb", "list", "--json"))
    assert entries and {"key", "title", "successes", "failures"} <= set(entries[0])
    patterns = json.loads(oncall("patterns", "list", "--json"))
    assert {p["origin"] for p in patterns} == {"built-in"}
    shown = json.loads(oncall("show", str(incident), "--json"))
    assert shown["id"] == incident and shown["actions"] == []
    status = json.loads(oncall("status", "--json"))
    assert status["incidents"]["open"] == 1


def test_show_has_a_timeline_and_the_action_output(cli_store: str) -> None:
    """`show` prints each action's output and a readable audit timeline, reasons not repeated."""
    incident = _simulate("service down", "ERROR health check failed: returned 503")
    with session_scope(get_engine(cli_store)) as session:
        run = reserve_action(
            session,
            idempotency_key="k1",
            incident_id=incident,
            knowledge_entry_id=None,
            action="restart_service",
            target="billing",
            parameters={"service": "billing"},
            params_hash="h",
            triggered_by="agent",
        )
        finish_action(
            session,
            run.id,  # type: ignore[arg-type]
            status=ActionStatus.SUCCEEDED,
            output="stopping billing (pid 41)\nstarted billing (pid 97)",
            verification={"health": 200},
            verified=True,
        )
        audit(session, "action_finished", incident_id=incident, status="succeeded", pid=97)
    shown = oncall("show", str(incident))
    assert "      | started billing (pid 97)" in shown
    assert "verification: health=200" in shown
    timeline = shown.split("timeline:")[1]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  action_finished .*pid=97", timeline)
    assert "{" not in timeline  # no raw dict reprs


def test_scan_shows_reasons_and_assumptions(tmp_path: Path) -> None:
    """`oncall scan` gives each decision's reasons and says what it assumes."""
    log = tmp_path / "app.log"
    log.write_text("2026-01-01T00:00:00Z ERROR health check failed: returned 503\n")
    result = runner.invoke(app, ["scan", str(log)])
    assert result.exit_code == 0, result.output
    assert "allow-listed" in result.output  # the assumption (stderr is mixed in by CliRunner)
    data = json.loads(runner.invoke(app, ["scan", "--json", str(log)]).stdout)
    assert data and data[0]["reasons"], data
