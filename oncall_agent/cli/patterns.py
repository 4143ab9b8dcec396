"""`oncall patterns`: list, add and test alert patterns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from oncall_agent.cli.common import console, friendly_errors, print_json, store_session
from oncall_agent.errors import ConfigError
from oncall_agent.models import Severity

if TYPE_CHECKING:
    from oncall_agent.detection.patterns import AlertPattern

app = typer.Typer(help="Alert patterns: list, add, test.", no_args_is_help=True)


def _pattern_row(table: Table, pattern: AlertPattern, origin: str, regex: bool) -> None:
    """Add PATTERN to TABLE (the console never reads markup: brackets print as typed)."""
    # Built-in regexes are long: their title says what they catch unless --regex is given.
    what = pattern.regex if regex or not pattern.title else pattern.title
    table.add_row(
        pattern.name,
        origin,
        pattern.category,
        pattern.severity.value,
        ", ".join(pattern.services) or "all",
        what,
    )


@app.command("list")
@friendly_errors
def list_patterns(
    regex: Annotated[bool, typer.Option("--regex", help="Show every regex in full.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show the user's patterns (tried first) and the built-in ones, in priority order."""
    from oncall_agent.detection.patterns import DEFAULT_PATTERNS
    from oncall_agent.store.patterns import list_user_patterns

    with store_session() as session:
        user = list_user_patterns(session)
    if as_json:
        print_json(
            [{"origin": "user", **p.model_dump(mode="json")} for p in user]
            + [{"origin": "built-in", **p.model_dump(mode="json")} for p in DEFAULT_PATTERNS]
        )
        return
    # Names, categories and severities are typed back by users: never wrap them; fold regexes.
    table = Table(
        Column("name", no_wrap=True),
        Column("origin", no_wrap=True),
        Column("category", no_wrap=True),
        Column("severity", no_wrap=True),
        "services",
        Column("regex" if regex else "catches", overflow="fold"),
    )
    for pattern in user:
        _pattern_row(table, pattern, "user", regex)
    for pattern in DEFAULT_PATTERNS:
        _pattern_row(table, pattern, "built-in", regex)
    console.print(table)


@app.command("add")
@friendly_errors
def add_pattern(
    name: Annotated[str, typer.Argument(help="A unique name, e.g. payments-declined.")],
    regex: Annotated[str, typer.Argument(help="A Python regex, matched case-insensitively.")],
    category: Annotated[str, typer.Option(help="Incident category, e.g. database, http.")],
    severity: Annotated[Severity, typer.Option(help="Severity of the alerts.")] = Severity.ERROR,
    service: Annotated[
        list[str] | None, typer.Option(help="Only for this service (repeatable); default all.")
    ] = None,
) -> None:
    """Add a user pattern after checking that its regex compiles."""
    from pydantic import ValidationError

    from oncall_agent.detection.patterns import AlertPattern
    from oncall_agent.store.patterns import add_user_pattern

    try:
        pattern = AlertPattern(
            name=name, regex=regex, category=category, severity=severity, services=service or []
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"alert pattern {name!r} is not valid: {problems}") from None
    with store_session() as session:
        add_user_pattern(session, pattern)
    console.print(f"added alert pattern {name} ({category})")


def _lines(text: str | None, file: Path | None) -> Iterator[tuple[int, str]]:
    """The numbered lines to test: TEXT as one line, or FILE's lines (capped, streamed)."""
    if text is not None:
        yield 1, text
        return
    from oncall_agent.settings import get_settings

    assert file is not None
    limit = get_settings().max_line_bytes
    try:
        with file.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                yield number, raw[:limit].decode("utf-8", "replace").rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror or exc}") from exc


@app.command("test")
@friendly_errors
def test_pattern(
    text: Annotated[str | None, typer.Argument(help="A log line to test.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Test every line of a file.")] = None,
    service: Annotated[str, typer.Option(help="Service the line comes from.")] = "unknown",
) -> None:
    """Show which pattern matches each line, with its template and fingerprint."""
    if (text is None) == (file is None):
        raise ConfigError("give either a TEXT to test or --file PATH, not both or neither")
    from oncall_agent.detection.detector import Detector
    from oncall_agent.models import LogEvent
    from oncall_agent.store.patterns import load_pattern_set

    with store_session() as session:
        detector = Detector(load_pattern_set(session))
    tested = matched = 0
    for number, line in _lines(text, file):
        tested += 1
        found = detector.detect(LogEvent(source="cli", message=line, service=service))
        if found is None:
            continue
        matched += 1
        # Plain lines, never wrapped: templates and fingerprints are copied from here.
        console.print(
            f"line {number}: {found.pattern} "
            f"category={found.category} severity={found.severity.value}\n"
            f"  template:    {found.template}\n"
            f"  fingerprint: {found.fingerprint}\n"
            f"  title:       {found.title}",
            soft_wrap=True,
        )
    console.print(f"{matched} of {tested} line(s) matched an alert pattern", soft_wrap=True)
