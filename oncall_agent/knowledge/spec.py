"""Knowledge entries as validated values, and reading/writing them as JSON or YAML files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from oncall_agent.errors import ConfigError, KnowledgeImportError
from oncall_agent.knowledge.render import INCIDENT_REF, PLACEHOLDER
from oncall_agent.knowledge.render import render_action as render_action  # re-exported
from oncall_agent.models import ActionSpec, AutonomyMode, RiskClass

KEY_PATTERN = r"^[a-z0-9][a-z0-9\-_.]*$"
ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")


def _compiles(pattern: str) -> str:
    """Accept PATTERN only if it is a non-empty regex that compiles."""
    if not pattern.strip():
        raise ValueError("pattern is empty; remove it or write a regex")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"pattern '{pattern}' does not compile: {exc}; fix the regex "
            r"(escape literal characters such as ( [ . * with a backslash)"
        ) from exc
    return pattern


Regex = Annotated[str, AfterValidator(_compiles)]


def _strings_in(value: Any) -> list[str]:
    """Every string inside VALUE (nested dicts and lists included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings_in(v)]
    return []


class KnowledgeEntrySpec(BaseModel):
    """A known problem, how to recognise it, and its fix (human text and optional action)."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=KEY_PATTERN, max_length=200)
    title: str = Field(min_length=1, max_length=500)
    description: str = ""
    patterns: list[Regex] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    solution: str = Field(min_length=1)
    action: ActionSpec | None = None
    risk: RiskClass = RiskClass.MEDIUM
    autonomy: AutonomyMode = AutonomyMode.APPROVE
    successes: int = Field(default=0, ge=0)
    failures: int = Field(default=0, ge=0)

    # Other actions that fix the same problem: the agent A/B-tests them against `action`.
    alternatives: list[ActionSpec] = Field(default_factory=list)

    @field_validator("action")
    @classmethod
    def _action_is_well_formed(cls, action: ActionSpec | None) -> ActionSpec | None:
        """Action names are snake_case and placeholders only name incident fields."""
        return None if action is None else _checked_action(action)

    @field_validator("alternatives")
    @classmethod
    def _alternatives_are_well_formed(cls, alternatives: list[ActionSpec]) -> list[ActionSpec]:
        """Each alternative is a well-formed action."""
        return [_checked_action(action) for action in alternatives]

    @model_validator(mode="after")
    def _arms_are_distinct(self) -> KnowledgeEntrySpec:
        """Alternatives need a main action, and every arm's name is its own (records key on it)."""
        if not self.alternatives:
            return self
        if self.action is None:
            raise ValueError("alternatives need a main 'action'; move one of them to 'action'")
        names = [self.action.name] + [a.name for a in self.alternatives]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"action {repeated[0]!r} appears twice among action and alternatives; each "
                "alternative must use a different executor"
            )
        return self

    def arms(self) -> list[ActionSpec]:
        """The main action followed by its alternatives (empty without an action)."""
        return [self.action, *self.alternatives] if self.action is not None else []


def _checked_action(action: ActionSpec) -> ActionSpec:
    """ACTION, if its name is snake_case and its placeholders only name incident fields."""
    if not ACTION_NAME.match(action.name):
        raise ValueError(
            f"action name {action.name!r} is not valid; use a snake_case executor name "
            "such as restart_service"
        )
    for text in _strings_in(action.params) + _strings_in(action.verify):
        for ref in PLACEHOLDER.findall(text):
            if not INCIDENT_REF.match(ref):
                raise ValueError(
                    f"placeholder {{{{{ref}}}}} is not allowed; only {{{{incident.FIELD}}}} "
                    "placeholders are filled in"
                )
    return action


def _read_document(path: Path) -> Any:
    """Parse PATH as JSON or YAML according to its extension."""
    suffix = path.suffix.lower()
    if suffix not in JSON_SUFFIXES + YAML_SUFFIXES:
        raise KnowledgeImportError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; use .json, .yaml or .yml"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeImportError(f"{path}: cannot read the file: {exc}") from exc
    try:
        return json.loads(text) if suffix in JSON_SUFFIXES else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise KnowledgeImportError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except yaml.YAMLError as exc:
        raise KnowledgeImportError(f"{path}: invalid YAML: {exc}") from exc


def _raw_entries(path: Path, document: Any) -> list[Any]:
    """The list of entries in DOCUMENT: a top-level list or the list under 'entries'."""
    if isinstance(document, dict) and "entries" in document:
        document = document["entries"]
    if not isinstance(document, list):
        raise KnowledgeImportError(
            f"{path}: expected a list of entries or a mapping with an 'entries' list, "
            f"found {type(document).__name__}"
        )
    return document


def _hint(error_type: str) -> str:
    """What the user should do about a pydantic error of ERROR_TYPE."""
    if error_type == "missing":
        return "add this field"
    if error_type == "extra_forbidden":
        return "remove this field or fix its spelling"
    if error_type == "enum":
        return "use one of the values listed"
    return "fix this value"


def describe_validation_error(where: str, exc: ValidationError) -> list[str]:
    """One line per error: WHERE, the field (pydantic's loc), the problem and what to do."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "(entry)"
        if err["type"] == "value_error":  # our own validators already say what to do
            lines.append(f"{where}, field '{field}': {err['ctx']['error']}")
        else:
            lines.append(f"{where}, field '{field}': {err['msg']}; {_hint(err['type'])}")
    return lines


def _describe(path: Path, index: int, raw: dict[str, Any], exc: ValidationError) -> list[str]:
    """The errors of entry INDEX of PATH, naming its number and key."""
    key = raw.get("key")
    where = f"{path}: entry #{index + 1}" + (f" (key {key!r})" if key else "")
    return describe_validation_error(where, exc)


def load_entries_file(path: str | Path) -> list[KnowledgeEntrySpec]:
    """Read and validate a JSON or YAML knowledge file; every problem is reported at once."""
    path = Path(path)
    raws = _raw_entries(path, _read_document(path))
    entries: list[KnowledgeEntrySpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raws):
        if not isinstance(raw, dict):
            problems.append(f"{path}: entry #{index + 1} is not a mapping of fields")
            continue
        try:
            spec = KnowledgeEntrySpec.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_describe(path, index, raw, exc))
            continue
        if spec.key in seen:
            problems.append(
                f"{path}: entry #{index + 1}, field 'key': {spec.key!r} is already used by "
                f"entry #{seen[spec.key] + 1}; give each entry its own key"
            )
            continue
        seen[spec.key] = index
        entries.append(spec)
    if problems:
        raise KnowledgeImportError("\n".join(problems))
    return entries


def dump_entries(entries: list[KnowledgeEntrySpec], path: str | Path) -> None:
    """Write ENTRIES to PATH as {"entries": [...]}, JSON or YAML by extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    document = {"entries": [entry.model_dump(mode="json") for entry in entries]}
    if suffix in JSON_SUFFIXES:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    elif suffix in YAML_SUFFIXES:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    else:
        raise KnowledgeImportError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; use .json, .yaml or .yml"
        )
    # Write beside the target and rename, so a crash never leaves a half-written export.
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write the file: {exc}") from exc
