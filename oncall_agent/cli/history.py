"""`oncall history import FILE`: bring a team's incident history into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from oncall_agent.cli.common import console, err_console, friendly_errors, store_engine

if TYPE_CHECKING:
    from oncall_agent.learning.importer import ImportReport

app = typer.Typer(no_args_is_help=True)


def _print_report(report: ImportReport, path: Path) -> None:
    """What was imported, skipped, or wrong (and what to do)."""
    from oncall_agent.learning.importer import MAX_ERRORS_SHOWN

    if report.error_count:
        for error in report.errors:
            err_console.print(f"{path}: {error}")
        more = report.error_count - len(report.errors)
        if more > 0:
            err_console.print(f"... and {more} more (the first {MAX_ERRORS_SHOWN} are shown)")
        err_console.print(
            f"{report.error_count} error(s) in {report.rows} rows: nothing was imported."
            " Fix the rows named above and run the import again."
        )
        raise typer.Exit(2)
    verb = "would import" if report.dry_run else "imported"
    console.print(
        f"{path}: {report.rows} rows read, {verb} {report.imported}, skipped "
        f"{report.duplicates} already in the store; knowledge entries: "
        f"{report.entries_created} new (approve mode), {report.entries_linked} existing linked"
    )
    if report.dry_run:
        console.print("dry run: nothing was changed")


@app.command("import")
@friendly_errors
def import_file(
    path: Path = typer.Argument(..., help="A .csv (with a header) or .jsonl history file"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and count; change nothing"),
    by: str = typer.Option("", "--by", envvar="USER", help="Who imports (audit trail)"),
) -> None:
    """Import past incidents (timestamp,title,description,service,severity,resolution_time,
    solution,tags,success) as resolved incidents and approve-mode knowledge entries."""
    from oncall_agent.learning.importer import import_history
    from oncall_agent.learning.records import read_history

    engine = store_engine()
    size = path.stat().st_size if path.is_file() else 0
    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(),
        TimeRemainingColumn(), console=err_console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("importing", total=size)
        rows = read_history(path, on_bytes=lambda n: progress.advance(task, n))
        report = import_history(
            engine, rows, dry_run=dry_run, actor=by or "import", source=str(path)
        )
    _print_report(report, path)
