"""`oncall explain ID [--json]` on a real SQLite store against our OpenAI-compatible server."""

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

from oncall_agent.cli import build_app
from oncall_agent.llm.explain import JSON_FIELDS
from oncall_agent.settings import get_settings
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident
from tests.integration.model_server import answer, constant_reply, honest, model_server

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
LINE = "ERROR HikariPool-1 - Connection is not available, request timed out after 30000ms"


@pytest.fixture
def store_with_incident(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite store (DATABASE_URL) holding one incident; yields its id."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    for name in ("ONCALL_LLM_BASE_URL", "ONCALL_LLM_MODEL", "ONCALL_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    app = build_app()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    out = runner.invoke(
        app,
        ["simulate-incident", "--title", "pool", "--service", "api", "--message", LINE],
    ).output
    yield re.search(r"incident #(\d+)", out).group(1)  # type: ignore[union-attr]
    get_settings.cache_clear()


def test_explain_json_prints_the_fields_and_keeps_the_summary(
    store_with_incident: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--json prints exactly the documented fields; the summary is kept on the incident."""
    with model_server(honest) as server:
        monkeypatch.setenv("ONCALL_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ONCALL_LLM_MODEL", "local-llama")
        result = runner.invoke(build_app(), ["explain", store_with_incident, "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert list(printed) == list(JSON_FIELDS)
    assert printed["source"] == "llm" and printed["model"] == "local-llama"
    assert printed["entry_key"] == "db-connection-pool-exhausted"
    assert printed["action"] == "restart_service" and printed["refused"] == []
    assert server.received[0].body["model"] == "local-llama"
    assert server.received[0].headers["authorization"] == "Bearer unused"
    with session_scope(get_engine()) as session:
        kept = (get_incident(session, int(store_with_incident)).analysis or {})["llm"]
    assert kept["summary"] == printed["summary"] and kept["model"] == "local-llama"
    assert set(kept) == set(JSON_FIELDS) - {"incident", "action"}


def test_explain_text_lists_refusals(
    store_with_incident: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --json, the summary is marked as a model's and each refusal is listed."""
    with model_server(constant_reply(answer("format-disks"))) as server:
        monkeypatch.setenv("ONCALL_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("ONCALL_LLM_MODEL", "local-llama")
        result = runner.invoke(build_app(), ["explain", store_with_incident])
    assert result.exit_code == 0, result.output
    assert "written by a model (local-llama)" in result.output
    assert "refused: entry_key 'format-disks' is not one of the offered" in result.output


def test_explain_without_a_model_says_how_to_configure_one(store_with_incident: str) -> None:
    """Off unless configured: explain exits 2 naming the variables to set."""
    result = runner.invoke(build_app(), ["explain", store_with_incident])
    assert result.exit_code == 2
    assert "ONCALL_LLM_BASE_URL" in result.output and "ONCALL_LLM_MODEL" in result.output


def test_explain_with_a_bad_timeout_names_the_variable(
    store_with_incident: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A timeout that is not a positive number is refused, naming ONCALL_LLM_TIMEOUT_S."""
    monkeypatch.setenv("ONCALL_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ONCALL_LLM_MODEL", "m")
    monkeypatch.setenv("ONCALL_LLM_TIMEOUT_S", "-1")
    result = runner.invoke(build_app(), ["explain", store_with_incident])
    assert result.exit_code == 2 and "ONCALL_LLM_TIMEOUT_S='-1'" in result.output


@pytest.mark.slow
def test_explain_does_not_import_prefect(store_with_incident: str) -> None:
    """The explain command runs in a process that never imports prefect."""
    code = (
        "import sys, json\n"
        "from typer.testing import CliRunner\n"
        "from oncall_agent.cli import build_app\n"
        f"r = CliRunner().invoke(build_app(), ['explain', '{store_with_incident}', '--json'])\n"
        "print(json.dumps({'code': r.exit_code, 'prefect': 'prefect' in sys.modules}))\n"
    )
    with model_server(honest) as server:
        env = os.environ | {"ONCALL_LLM_BASE_URL": server.base_url, "ONCALL_LLM_MODEL": "m"}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
            timeout=120, check=True,
        )  # fmt: skip
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"code": 0, "prefect": False}
    assert len(server.received) == 1
