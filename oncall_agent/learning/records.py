"""History rows as teams keep them (CSV or JSON lines), validated row by row.

Columns: timestamp,title,description,service,severity,resolution_time,solution,tags,success
(`tags`, `resolution_time`, `success` optional; `success` is true/false/yes/no/1/0).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from oncall_agent.errors import ConfigError

REQUIRED = ("timestamp", "title", "service", "severity", "solution")
OPTIONAL = ("description", "resolution_time", "tags", "success")
TRUE_WORDS = {"true", "yes", "1", "y", "t"}
FALSE_WORDS = {"false", "no", "0", "n", "f"}
SEVERITIES = {
    "info": "info", "low": "warning", "warning": "warning", "warn": "warning",
    "medium": "warning", "minor": "warning", "error": "error", "high": "error",
    "major": "error", "critical": "critical", "crit": "critical", "fatal": "critical",
}  # fmt: skip
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class HistoryRow:
    """One past incident with the fix people used and whether it worked."""

    row: int
    timestamp: datetime
    title: str
    service: str
    severity: str
    solution: str
    description: str = ""
    resolution_time: timedelta | None = None
    tags: tuple[str, ...] = ()
    success: bool | None = None


@dataclass(frozen=True)
class RowError:
    """What is wrong with one cell, and what to do about it."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class ParsedRow:
    """A validated row, or the errors that stop it."""

    row: int
    value: HistoryRow | None = None
    errors: list[RowError] = field(default_factory=list)


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 time (a trailing Z allowed); a time without a zone is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_success(text: str) -> bool | None:
    """true/false/yes/no/1/0 (any case); empty means unknown."""
    word = text.strip().lower()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not true/false/yes/no/1/0; write one of those or leave it empty")


def parse_duration(text: str) -> timedelta | None:
    """Minutes as a number, or a number with a unit: 90s, 45m, 2h, 1d; empty means unknown."""
    word = text.strip().lower()
    if not word:
        return None
    unit = DURATION_UNITS.get(word[-1])
    number = word[:-1] if unit else word
    seconds = float(number) * (unit or 60)
    if seconds < 0 or seconds != seconds:
        raise ValueError("must not be negative")
    return timedelta(seconds=seconds)


def _cell(raw: dict[str, Any], name: str) -> str:
    """The text of one cell ('' when absent)."""
    value = raw.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _check(
    errors: list[RowError], row: int, column: str, fn: Callable[[str], Any], text: str, fix: str
) -> Any:
    """FN(TEXT), or None with an error naming ROW and COLUMN and what to do."""
    try:
        return fn(text)
    except ValueError as exc:
        errors.append(RowError(row, column, f"{text!r}: {exc}; {fix}" if fix else str(exc)))
        return None


def validate_row(row: int, raw: dict[str, Any]) -> ParsedRow:
    """Check one row's cells; every problem is reported, not just the first."""
    cells = {name: _cell(raw, name).strip() for name in REQUIRED + OPTIONAL}
    errors: list[RowError] = []
    for name in ("title", "service", "solution", "timestamp", "severity"):
        if not cells[name]:
            errors.append(RowError(row, name, f"is empty; fill in the {name} or remove the row"))
    limits = {"title": 500, "service": 200, "solution": 500}
    for name, limit in limits.items():
        if len(cells[name]) > limit:
            errors.append(RowError(row, name, f"is longer than {limit} characters; shorten it"))
    iso = "write an ISO 8601 time such as 2026-03-01T14:05:00Z"
    ts = (
        _check(errors, row, "timestamp", parse_timestamp, cells["timestamp"], iso)
        if cells["timestamp"]
        else None
    )
    severity = SEVERITIES.get(cells["severity"].lower())
    if cells["severity"] and severity is None:
        errors.append(RowError(
            row, "severity",
            f"{cells['severity']!r} is not a severity; use info, warning, error or critical",
        ))  # fmt: skip
    dur = _check(errors, row, "resolution_time", parse_duration, cells["resolution_time"],
                 "write minutes (45) or a number with s/m/h/d (2h), or leave it empty")  # fmt: skip
    success = _check(errors, row, "success", parse_success, cells["success"], "")
    if errors or ts is None:
        return ParsedRow(row, errors=errors)
    tags = tuple(t.strip() for t in cells["tags"].replace("|", ";").replace(",", ";").split(";"))
    return ParsedRow(row, value=HistoryRow(
        row=row, timestamp=ts, title=cells["title"], service=cells["service"],
        severity=severity or "error", solution=cells["solution"],
        description=cells["description"], resolution_time=dur,
        tags=tuple(t for t in tags if t), success=success,
    ))  # fmt: skip


def _lines(path: Path, on_bytes: Callable[[int], None] | None) -> Iterator[str]:
    """The file's lines as text, reporting bytes read (text-mode files cannot tell())."""
    with path.open("rb") as handle:
        for line in handle:
            if on_bytes is not None:
                on_bytes(len(line))
            yield line.decode("utf-8-sig" if handle.tell() == len(line) else "utf-8")


def _csv_rows(path: Path, on_bytes: Callable[[int], None] | None) -> Iterator[ParsedRow]:
    """Validated rows of a CSV file with a header line."""
    reader = csv.DictReader(_lines(path, on_bytes))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise ConfigError(
            f"{path}: the header lacks column(s) {', '.join(missing)}; the header must name "
            f"{','.join(REQUIRED)} (and optionally {','.join(OPTIONAL)})"
        )
    reader.fieldnames = header
    for number, raw in enumerate(reader, start=1):
        yield validate_row(number, raw)


def _jsonl_rows(path: Path, on_bytes: Callable[[int], None] | None) -> Iterator[ParsedRow]:
    """Validated rows of a JSON-lines file (one object per line; blank lines skipped)."""
    number = 0
    for line in _lines(path, on_bytes):
        if not line.strip():
            continue
        number += 1
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            yield ParsedRow(number, errors=[RowError(number, "-", f"is not JSON ({exc.msg})")])
            continue
        if not isinstance(raw, dict):
            yield ParsedRow(number, errors=[RowError(number, "-", "is not a JSON object")])
            continue
        yield validate_row(number, raw)


def read_history(path: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[ParsedRow]:
    """Stream validated rows from a .csv or .jsonl/.json file (row numbers count data rows)."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file; give the path of a CSV or JSON-lines history")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path, on_bytes)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return _jsonl_rows(path, on_bytes)
    raise ConfigError(f"{path}: unknown file type {suffix!r}; use .csv or .jsonl")
