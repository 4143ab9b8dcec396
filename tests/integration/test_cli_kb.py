"""`oncall kb` on a real SQLite store: list, search, add, export, import."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from oncall_agent.cli.kb import app
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.spec import dump_entries
from oncall_agent.models import AutonomyMode
from oncall_agent.settings import get_settings
from oncall_agent.store import knowledge as kb
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.schema import create_schema

pytestmark = pytest.mark.integration
runner = CliRunner()


def _store(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Point DATABASE_URL at a new, migrated SQLite store and return its engine."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / name}")
    get_settings.cache_clear()
    engine = get_engine()
    create_schema(engine)
    return engine


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The configured store for the CLI, seeded with the default entries."""
    monkeypatch.setenv("COLUMNS", "250")  # wide tables, so keys are not wrapped in the output
    engine = _store(tmp_path, "oncall.db", monkeypatch)
    with session_scope(engine) as session:
        kb.seed_defaults(session)
    yield engine
    engine.dispose()
    get_settings.cache_clear()


def _keys(engine: Engine) -> list[str]:
    """The keys stored in ENGINE's knowledge base."""
    with session_scope(engine) as session:
        return [row.key for row in kb.list_entries(session)]


def test_list_shows_every_entry(store: Engine) -> None:
    """`kb list` shows each entry's key, action and autonomy."""
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    for entry in DEFAULT_ENTRIES:
        assert entry.key in result.output
    line = next(x for x in result.output.splitlines() if "db-connection-pool-exhausted" in x)
    assert "restart_service" in line and "auto" in line


def test_search_puts_the_best_entry_first(store: Engine) -> None:
    """`kb search` with a log line lists the entry whose pattern matches it first."""
    result = runner.invoke(app, ["search", "write failed: No space left on device"])
    assert result.exit_code == 0, result.output
    rows = [x for x in result.output.splitlines() if "0." in x]
    assert "disk-full" in rows[0]


def test_search_without_results_says_so(store: Engine) -> None:
    """A query that matches nothing says so."""
    result = runner.invoke(app, ["search", "xyzzy"])
    assert result.exit_code == 0 and "no entry matches" in result.output


def test_add_from_options_stores_the_entry(store: Engine) -> None:
    """`kb add` with options stores a validated entry with its action parameters typed."""
    result = runner.invoke(app, [
        "add", "--key", "queue-stuck", "--title", "Queue consumer stuck",
        "--pattern", r"consumer \d+ stalled", "--service", "worker", "--solution", "Restart it.",
        "--action", "restart_service", "--param", "service={{incident.service}}",
        "--param", "grace_s=30", "--risk", "low", "--autonomy", "approve",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "added 1 entries: queue-stuck" in result.output
    with session_scope(store) as session:
        row = kb.get_entry(session, "queue-stuck")
    assert row is not None and row.origin == "human" and row.services == ["worker"]
    assert row.action == {"name": "restart_service", "timeout_s": 60.0, "verify": {},
                          "params": {"service": "{{incident.service}}", "grace_s": 30}}  # fmt: skip


def test_add_with_catastrophic_regex_exits_2_and_stores_nothing(store: Engine) -> None:
    """`kb add` refuses a pattern that can backtrack for minutes on one line."""
    result = runner.invoke(app, ["add", "--key", "storm", "--title", "X", "--solution", "s",
                                 "--pattern", "(a+)+$"])  # fmt: skip
    assert result.exit_code == 2
    assert "can take minutes" in result.output
    assert "storm" not in _keys(store)


def test_add_with_bad_regex_exits_2_naming_the_field(store: Engine) -> None:
    """An invalid regex is refused with exit code 2 and the field that holds it."""
    result = runner.invoke(app, ["add", "--key", "x", "--title", "X", "--solution", "s",
                                 "--pattern", "disk[0-9"])  # fmt: skip
    assert result.exit_code == 2
    assert "field 'patterns.0'" in result.output and "'disk[0-9' does not compile" in result.output
    assert "x" not in _keys(store)


def test_add_duplicate_key_exits_2(store: Engine) -> None:
    """Adding an existing key is refused and the stored entry is unchanged."""
    result = runner.invoke(app, ["add", "--key", "disk-full", "--title", "Mine", "--solution", "s"])
    assert result.exit_code == 2
    assert "'disk-full' already exists" in result.output


def test_add_param_without_action_exits_2(store: Engine) -> None:
    """--param without --action is a usage error explained in words."""
    result = runner.invoke(app, ["add", "--key", "y", "--title", "Y", "--solution", "s",
                                 "--param", "a=1"])  # fmt: skip
    assert result.exit_code == 2 and "--param needs --action NAME" in result.output


def test_add_from_file(store: Engine, tmp_path: Path) -> None:
    """`kb add --file` stores every entry of a YAML file."""
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump([{"key": "a", "title": "A", "solution": "s"},
                                    {"key": "b", "title": "B", "solution": "s"}]))  # fmt: skip
    result = runner.invoke(app, ["add", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert {"a", "b"} <= set(_keys(store))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_export_then_import_round_trips(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """Exported entries import into an empty store identical (auto lowered to approve by hand);
    importing the export again into its own store changes nothing."""
    path = tmp_path / f"kb{suffix}"
    exported = runner.invoke(app, ["export", str(path)])
    assert exported.exit_code == 0, exported.output
    assert f"exported {len(DEFAULT_ENTRIES)} entries" in exported.output
    again = runner.invoke(app, ["import", str(path)])
    assert f"created 0, updated 0, unchanged {len(DEFAULT_ENTRIES)}" in again.output

    other = _store(tmp_path, "other.db", monkeypatch)
    refused = runner.invoke(app, ["import", str(path)])
    assert refused.exit_code == 2 and "'auto' cannot be added or imported" in refused.output
    lowered = [e.model_copy(update={"autonomy": AutonomyMode.APPROVE})
               if e.autonomy is AutonomyMode.AUTO else e for e in DEFAULT_ENTRIES]  # fmt: skip
    dump_entries(lowered, path)
    imported = runner.invoke(app, ["import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert f"created {len(DEFAULT_ENTRIES)}, updated 0, unchanged 0" in imported.output
    with session_scope(other) as session:
        assert [kb.to_spec(r) for r in kb.list_entries(session)] == sorted(
            lowered, key=lambda e: e.key
        )
    other.dispose()


@pytest.mark.parametrize("command", ["import", "add"])
def test_unknown_action_and_auto_autonomy_are_refused(
    store: Engine, tmp_path: Path, command: str
) -> None:
    """`kb import` and `kb add --file` refuse unknown actions and new auto entries, storing none."""
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"key": "ok", "title": "O", "solution": "s"},
        {"key": "nuke", "title": "N", "solution": "s", "action": {"name": "launch_missiles"}},
        {"key": "fast", "title": "F", "solution": "s", "autonomy": "auto",
         "action": {"name": "restart_service", "params": {"service": "api"}}},
    ]}))  # fmt: skip
    args = ["import", str(path)] if command == "import" else ["add", "--file", str(path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "entry #2 (key 'nuke'), field 'action.name': unknown action 'launch_missiles'" in (
        result.output.replace("\n", "")
    )
    assert "entry #3 (key 'fast'), field 'autonomy'" in result.output
    assert not {"ok", "nuke", "fast"} & set(_keys(store))


def test_add_from_options_refuses_unknown_action_and_auto(store: Engine) -> None:
    """`kb add --action launch_missiles` and `kb add --autonomy auto` are refused."""
    base = ["add", "--key", "z", "--title", "Z", "--solution", "s"]
    unknown = runner.invoke(app, [*base, "--action", "launch_missiles"])
    assert unknown.exit_code == 2 and "unknown action 'launch_missiles'" in unknown.output
    auto = runner.invoke(app, [*base, "--action", "restart_service", "--autonomy", "auto"])
    assert auto.exit_code == 2 and "'auto' cannot be added or imported" in auto.output
    assert "z" not in _keys(store)


def test_import_counts_updates(store: Engine, tmp_path: Path) -> None:
    """Importing a changed entry and a new one reports one update and one creation."""
    path = tmp_path / "kb.json"
    disk = next(e for e in DEFAULT_ENTRIES if e.key == "disk-full")
    changed = disk.model_copy(update={"solution": "Page storage."}).model_dump(mode="json")
    path.write_text(json.dumps({"entries": [changed, {"key": "n", "title": "N", "solution": "s"}]}))
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "created 1, updated 1, unchanged 0" in result.output


def test_import_with_catastrophic_regex_exits_2_and_changes_nothing(
    store: Engine, tmp_path: Path
) -> None:
    """`kb import` refuses a file whose entry holds a minutes-long regex, storing none of it."""
    path = tmp_path / "storm.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"key": "good", "title": "G", "solution": "s"},
        {"key": "storm", "title": "S", "solution": "s", "patterns": [r"^(\w+\s?)*$"]},
    ]}))  # fmt: skip
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2
    assert "knowledge entry 'storm'" in result.output and "can take minutes" in result.output
    assert not {"good", "storm"} & set(_keys(store))


def test_import_malformed_file_exits_2_and_changes_nothing(store: Engine, tmp_path: Path) -> None:
    """A file with a bad entry is refused as a whole, naming file, entry and field."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"entries": [
        {"key": "good", "title": "G", "solution": "s"},
        {"key": "bad", "title": "B", "solution": "s", "autonomy": "always"},
    ]}))  # fmt: skip
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2
    assert "bad.yaml: entry #2 (key 'bad'), field 'autonomy'" in result.output
    assert "good" not in _keys(store)


def test_seed_adds_only_missing_defaults(store: Engine) -> None:
    """`kb seed` on a seeded store adds nothing."""
    result = runner.invoke(app, ["seed"])
    assert result.exit_code == 0 and "seeded 0 default entries" in result.output


def test_unmigrated_store_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a store without the schema the command fails and says to migrate."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["list"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "oncall db upgrade" in result.output


def test_export_to_missing_folder_exits_2(store: Engine, tmp_path: Path) -> None:
    """Exporting into a folder that does not exist says it cannot write the file."""
    target = tmp_path / "nope" / "kb.json"
    result = runner.invoke(app, ["export", str(target)])
    assert result.exit_code == 2
    assert "cannot write the file" in result.output and not target.exists()


def test_add_file_with_entry_options_exits_2(store: Engine, tmp_path: Path) -> None:
    """--file together with entry options is refused instead of silently ignoring the options."""
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump([{"key": "a", "title": "A", "solution": "s"}]))
    result = runner.invoke(app, ["add", "--file", str(path), "--key", "b"])
    assert result.exit_code == 2 and "--file cannot be combined" in result.output
    assert "a" not in _keys(store)
