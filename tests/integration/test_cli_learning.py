"""The learning loop through the CLI in an empty folder on the embedded SQLite default:
db upgrade, history import, (retrain core), recommend --json, backtest, models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from oncall_agent.cli import build_app
from oncall_agent.learning.synth import SynthHistory, generate, write_csv
from oncall_agent.learning.training import retrain
from oncall_agent.settings import get_settings
from oncall_agent.store import engine as store_engine

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SynthHistory]:
    """An empty working folder with train.csv and test.csv (no outcome), as a user has them."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("ONCALL_DATA_DIR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    history = generate(17, "b", days=150, scale=0.25)
    write_csv(history.train, tmp_path / "train.csv")
    write_csv(history.test, tmp_path / "test.csv", with_outcome=False)
    yield history
    for engine in store_engine._ENGINES.values():
        engine.dispose()
    store_engine._ENGINES.clear()
    get_settings.cache_clear()


def _run(*args: str) -> str:
    """Run `oncall ARGS` and return its output, failing the test on a non-zero exit."""
    result = runner.invoke(build_app(), list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_import_retrain_recommend_in_an_empty_folder(folder: SynthHistory) -> None:
    """The documented loop works from nothing; recommend prints one JSON object per data row."""
    _run("db", "upgrade")
    assert f"imported {len(folder.train)}" in _run("history", "import", "train.csv")
    assert "would import 0" in _run("history", "import", "train.csv", "--dry-run")
    retrain(store_engine.get_engine(), Path("data") / "models")
    out = json.loads(_run("recommend", "test.csv", "--json"))
    assert [o["row"] for o in out] == list(range(1, len(folder.test) + 1))
    assert all(set(o) == {"row", "solution", "entry", "confidence", "decision"} for o in out)
    assert all(0.0 <= o["confidence"] <= 1.0 for o in out)
    assert {o["decision"] for o in out} <= {"execute", "ask_approval", "escalate"}
    assert all(o["decision"] == "escalate" for o in out if o["solution"] is None)
    assert "current" in _run("models", "list")
    assert "confidence bin" in _run("models", "show")


def test_recommend_before_any_model_says_what_to_do(folder: SynthHistory) -> None:
    """With no model yet, recommend exits 2 and says to retrain."""
    _run("db", "upgrade")
    result = runner.invoke(build_app(), ["recommend", "test.csv", "--json"])
    assert result.exit_code == 2 and "oncall retrain" in result.output


def test_a_bad_history_row_is_reported_and_nothing_is_imported(folder: SynthHistory) -> None:
    """The import exits 2, names the row and column, and the store stays empty."""
    _run("db", "upgrade")
    Path("bad.csv").write_text(
        "timestamp,title,description,service,severity,solution,success\n"
        "2026-01-01T00:00:00Z,ok,,svc,error,restart,yes\n"
        "2026-01-02T00:00:00Z,bad,,svc,error,restart,often\n"
    )
    result = runner.invoke(build_app(), ["history", "import", "bad.csv"])
    assert result.exit_code == 2
    assert "row 2, column success" in result.output and "nothing was imported" in result.output
    with store_engine.get_engine().connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == 0


def test_backtest_replays_after_the_date(folder: SynthHistory) -> None:
    """backtest --json learns before --since and reports accuracy, ECE and escalations after."""
    since = folder.train[int(len(folder.train) * 0.8)].timestamp.date().isoformat()
    report = json.loads(_run("backtest", "train.csv", "--since", since, "--json"))
    assert report["train_rows"] + report["replayed"] == len(folder.train)
    assert 0.5 <= report["metrics"]["top1"] <= 1.0
    assert len(report["metrics"]["reliability"]) == 10
    rates = report["automation_rate"] + report["approval_rate"] + report["escalation_rate"]
    assert rates == pytest.approx(1.0)
    text = _run("backtest", "train.csv", "--since", since)
    assert "would run unattended" in text and "confidence bin" in text
