"""`oncall scan PATH...`: the incidents the agent would open for some files, and its decisions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column, Table
from rich.text import Text

from oncall_agent.cli.common import console, err_console, friendly_errors
from oncall_agent.models import Severity
from oncall_agent.sources.parsing import PARSER_NAMES

if TYPE_CHECKING:
    from oncall_agent.scan import ScanIncident, ScanResult

LINES_SHOWN = 5  # line references per incident in the table (--json lists them all)
TEMPLATE_SHOWN = 160  # characters of a template under its title


@contextmanager
def _progress(paths: list[str], shown: bool) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr counting bytes read, or None when it would not be seen."""
    if not shown:
        yield None
        return
    from oncall_agent.scan import total_bytes

    bar = Progress(
        TextColumn("scanning"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task("scan", total=total_bytes(paths))
        yield lambda read: bar.advance(task, read)


def _lines_cell(incident: ScanIncident) -> str:
    """The first few file:line references of INCIDENT."""
    refs = [f"{path}:{number}" for path, number in incident.lines[:LINES_SHOWN]]
    more = len(incident.lines) - LINES_SHOWN
    return ", ".join(refs) + (f" (+{more})" if more > 0 else "")


def _title_cell(incident: ScanIncident) -> Text:
    """The title, and under it the template when the title does not show it (built-in
    patterns' titles name the kind of problem: the template tells their incidents apart)."""
    title, template = incident.draft.title, incident.draft.template
    cell = Text(title)
    if template not in title:
        cell.append("\n" + template[:TEMPLATE_SHOWN], style="dim")
    return cell


def _table(result: ScanResult, with_lines: bool) -> Table:
    """The incidents as a table a person reads."""
    table = Table(
        Column("severity", no_wrap=True), Column("service", no_wrap=True),
        Column("title", overflow="fold"), Column("count", justify="right"),
        "first seen", "last seen", "action", "decision", Column("conf.", justify="right"),
        Column("fingerprint", no_wrap=True),
    )  # fmt: skip
    if with_lines:
        table.add_column("lines", overflow="fold")
    for incident in result.incidents:
        row = incident.to_json()
        cells = [
            row["severity"], row["service"], _title_cell(incident), str(row["count"]),
            (row["first_seen"] or "-")[:19], (row["last_seen"] or "-")[:19],
            row["action"] or "-", row["decision"],
            "-" if row["confidence"] is None else f"{row['confidence']:.2f}",
            row["fingerprint"][:12],
        ]  # fmt: skip
        table.add_row(*cells, *([_lines_cell(incident)] if with_lines else []))
    return table


def _summary(result: ScanResult) -> str:
    """One sentence on what was read and found."""
    stats = result.stats
    megabytes = stats.get("bytes_read", 0) / 1e6
    text = (
        f"{len(result.incidents)} incident(s) from {stats.get('lines', 0)} line(s) "
        f"({megabytes:.1f} MB)"
    )
    if result.held_back:
        text += f"; {len(result.held_back)} kind(s) held back as steady chatter (below)"
    skipped = stats.get("truncated_lines", 0), stats.get("invalid_utf8_lines", 0)
    if any(skipped):
        text += f"; {skipped[0]} line(s) cut at the line cap, {skipped[1]} with invalid UTF-8"
    return text


@friendly_errors
def scan(
    paths: Annotated[list[str], typer.Argument(help="Log files to analyse.", show_default=False)],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON array of incidents.")
    ] = False,
    lines: Annotated[
        bool, typer.Option("--lines", help="List the file and line of every grouped line.")
    ] = False,
    service: Annotated[
        str | None, typer.Option("--service", help="Service of these logs (default: parsed).")
    ] = None,
    parser: Annotated[
        str, typer.Option("--parser", help=f"Line format: {', '.join(PARSER_NAMES)}.")
    ] = "auto",
    min_severity: Annotated[
        Severity, typer.Option("--min-severity", help="Lowest severity that opens an incident.")
    ] = Severity.WARNING,
    warnings: Annotated[
        bool, typer.Option("--warnings", help="Lines logged at WARN level open incidents too.")
    ] = False,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline/--no-baseline",
            help="Hold back problems present from the files' start at a steady rate (chatter).",
        ),
    ] = True,
) -> None:
    """Show the incidents the agent would open for PATHS and what it would do; nothing runs."""
    from oncall_agent.detection.source_rules import DetectionRules
    from oncall_agent.scan import ScanOptions, scan_files
    from oncall_agent.scan_advice import ASSUMPTIONS

    rules = DetectionRules(min_severity=min_severity, warning_lines=warnings, baseline=baseline)
    options = ScanOptions(service=service, parser=parser, rules=rules, with_lines=lines)
    with _progress(paths, shown=not as_json and err_console.is_terminal) as on_bytes:
        result = scan_files(paths, options, on_bytes)
    if as_json:
        typer.echo(json.dumps([i.to_json(with_lines=lines) for i in result.incidents], indent=2))
        return
    if result.incidents:
        console.print(_table(result, with_lines=lines))
        _print_reasons(result)
    console.print(_summary(result))
    for held in result.held_back:
        draft = held.draft
        console.print(f"held back: {draft.title} ({draft.count} lines): {held.why or ''}")
    for note in [*result.notes, ASSUMPTIONS] if result.incidents else result.notes:
        err_console.print(f"note: {note}", soft_wrap=True)


def _print_reasons(result: ScanResult) -> None:
    """Each incident's decision and the reasons behind it, under the table."""
    for incident in result.incidents:
        row = incident.to_json()
        reasons = "; ".join(row["reasons"]) or "-"
        console.print(f"{row['fingerprint'][:12]} {row['decision']}: {reasons}", soft_wrap=True)
