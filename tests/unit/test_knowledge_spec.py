"""Knowledge entry validation, and reading and writing knowledge files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from oncall_agent.errors import KnowledgeImportError
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.spec import KnowledgeEntrySpec, dump_entries, load_entries_file


def _entry(**changes: object) -> dict[str, object]:
    """A valid raw entry with CHANGES applied."""
    raw: dict[str, object] = {
        "key": "queue-stuck",
        "title": "Queue consumer stuck",
        "patterns": [r"consumer \d+ stalled"],
        "solution": "Restart the consumer.",
        "action": {"name": "restart_service", "params": {"service": "{{incident.service}}"}},
        "risk": "low",
        "autonomy": "approve",
    }
    raw.update(changes)
    return raw


def _write(path: Path, document: object) -> Path:
    """Write DOCUMENT as JSON or YAML according to PATH's extension."""
    if path.suffix == ".json":
        path.write_text(json.dumps(document))
    else:
        path.write_text(yaml.safe_dump(document))
    return path


def test_valid_yaml_list_loads(tmp_path: Path) -> None:
    """A YAML file holding a plain list of entries loads into validated specs."""
    specs = load_entries_file(_write(tmp_path / "kb.yaml", [_entry()]))
    assert [s.key for s in specs] == ["queue-stuck"]
    assert specs[0].action is not None and specs[0].action.name == "restart_service"


def test_valid_json_entries_mapping_loads(tmp_path: Path) -> None:
    """A JSON file with an 'entries' list loads the same way."""
    specs = load_entries_file(_write(tmp_path / "kb.json", {"entries": [_entry()]}))
    assert specs[0].title == "Queue consumer stuck"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_bad_regex_names_file_entry_and_field(tmp_path: Path, suffix: str) -> None:
    """A regex that does not compile is reported with the file, entry number, key and field."""
    path = _write(
        tmp_path / f"kb{suffix}", [_entry(), _entry(key="bad-one", patterns=["ok", "(x"])]
    )
    with pytest.raises(KnowledgeImportError) as err:
        load_entries_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "entry #2 (key 'bad-one')" in message
    assert "field 'patterns.1'" in message
    assert "'(x' does not compile" in message
    assert "fix the regex" in message


def test_missing_field_says_to_add_it(tmp_path: Path) -> None:
    """A missing required field is named, with the advice to add it."""
    raw = _entry()
    del raw["solution"]
    with pytest.raises(
        KnowledgeImportError,
        match=r"entry #1 \(key 'queue-stuck'\), field "
        r"'solution': Field required; add this field",
    ):
        load_entries_file(_write(tmp_path / "kb.yml", [raw]))


def test_wrong_enum_lists_the_allowed_values(tmp_path: Path) -> None:
    """An unknown risk class is named and the allowed values are listed."""
    path = _write(tmp_path / "kb.json", [_entry(risk="tiny")])
    with pytest.raises(KnowledgeImportError) as err:
        load_entries_file(path)
    assert "field 'risk'" in str(err.value)
    assert "'low', 'medium', 'high' or 'critical'" in str(err.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Errors in several entries come back together, one line each."""
    path = _write(tmp_path / "kb.yaml", [_entry(key="Bad Key"), _entry(key="b", autonomy="yolo")])
    with pytest.raises(KnowledgeImportError) as err:
        load_entries_file(path)
    lines = str(err.value).splitlines()
    assert any("entry #1" in line and "field 'key'" in line for line in lines)
    assert any("entry #2" in line and "field 'autonomy'" in line for line in lines)


def test_duplicate_keys_in_one_file_are_refused(tmp_path: Path) -> None:
    """Two entries with the same key are an error naming both entries."""
    path = _write(tmp_path / "kb.yaml", [_entry(), _entry()])
    with pytest.raises(KnowledgeImportError, match=r"entry #2, field 'key'.*entry #1"):
        load_entries_file(path)


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    """A misspelt field is reported rather than silently ignored."""
    path = _write(tmp_path / "kb.yaml", [_entry(patern=["x"])])
    with pytest.raises(KnowledgeImportError, match=r"field 'patern'.*remove this field"):
        load_entries_file(path)


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    """Broken JSON is reported with its line and column."""
    path = tmp_path / "kb.json"
    path.write_text('[\n  {"key": "a",\n  oops}\n]')
    with pytest.raises(KnowledgeImportError, match=r"kb.json: invalid JSON at line 3"):
        load_entries_file(path)


def test_broken_yaml_is_reported(tmp_path: Path) -> None:
    """Broken YAML is reported as invalid YAML for that file."""
    path = tmp_path / "kb.yaml"
    path.write_text("entries:\n  - key: a\n   title: [unclosed\n")
    with pytest.raises(KnowledgeImportError, match=r"kb.yaml: invalid YAML"):
        load_entries_file(path)


@pytest.mark.parametrize(
    ("document", "expected"),
    [({"items": []}, "expected a list of entries"), (["just text"], "entry #1 is not a mapping")],
)
def test_wrong_shapes_are_explained(tmp_path: Path, document: object, expected: str) -> None:
    """A document that is not a list of mappings says what shape is expected."""
    with pytest.raises(KnowledgeImportError, match=expected):
        load_entries_file(_write(tmp_path / "kb.yaml", document))


def test_unsupported_extension_is_refused(tmp_path: Path) -> None:
    """Files other than .json/.yaml/.yml are refused with the supported list."""
    path = tmp_path / "kb.csv"
    path.write_text("key,title\n")
    with pytest.raises(KnowledgeImportError, match=r"use .json, .yaml or .yml"):
        load_entries_file(path)


def test_foreign_placeholder_is_refused() -> None:
    """An action placeholder other than {{incident.X}} is refused when the entry is built."""
    bad = {"name": "cleanup_files", "params": {"root": "{{config.log_root}}"}}
    with pytest.raises(ValueError, match=r"placeholder \{\{config.log_root\}\} is not allowed"):
        KnowledgeEntrySpec.model_validate(_entry(action=bad))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_dump_then_load_round_trips(tmp_path: Path, suffix: str) -> None:
    """Every default entry survives being written and read back unchanged."""
    path = tmp_path / f"export{suffix}"
    dump_entries(DEFAULT_ENTRIES, path)
    assert load_entries_file(path) == DEFAULT_ENTRIES
