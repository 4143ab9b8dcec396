"""The `oncall` command line (Typer): thin commands over the core (Prefect ones: flows/cli.py).

Start-up matters (people type these commands at 3 a.m.): nothing here imports Prefect, scikit-learn
or SciPy at module level; a command that needs them imports them inside its body.
"""

from __future__ import annotations

import os

import typer

from oncall_agent.cli import (
    db,
    explain,
    feedback,
    history,
    incidents,
    kb,
    learning,
    models,
    patterns,
    report,
    scan,
)
from oncall_agent.cli.common import DEBUG_ENV


def _global_options(
    debug: bool = typer.Option(
        False, "--debug", help="Show full tracebacks on errors (also ONCALL_DEBUG=1)"
    ),
) -> None:
    """oncall-agent: detect, decide, act, verify, learn."""
    if debug:
        os.environ[DEBUG_ENV] = "1"


def build_app() -> typer.Typer:
    """The core command tree (no Prefect): store, incidents, knowledge base, patterns."""
    app = typer.Typer(
        help="oncall-agent: detect, decide, act, verify, learn.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(_global_options)
    app.add_typer(db.app, name="db")
    app.add_typer(kb.app, name="kb", help="The knowledge base: list, search, add, export, import.")
    app.add_typer(patterns.app, name="patterns", help="Alert patterns: list, add, test.")
    incidents.register(app)
    feedback.register(app)
    report.register(app)
    app.command("scan")(scan.scan)
    app.command("explain")(explain.explain)
    app.add_typer(history.app, name="history", help="Import past incidents and their fixes.")
    app.add_typer(models.app, name="models", help="Recommendation model versions.")
    learning.register(app)
    return app


def run_app(app: typer.Typer) -> None:
    """Run APP; an error becomes one line and a non-zero exit (the traceback with --debug)."""
    from oncall_agent.cli.common import describe_error, err_console

    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted", style="red")
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        message, code = describe_error(exc)
        err_console.print(f"error: {message}", style="red", soft_wrap=True)
        raise SystemExit(code) from None
