"""The `oncall` command line (Typer): thin commands over the core (Prefect ones: flows/cli.py)."""

from __future__ import annotations

import typer

from oncall_agent.cli import db, history, incidents, kb, learning, models, patterns, scan


def build_app() -> typer.Typer:
    """The core command tree (no Prefect): store, incidents, knowledge base, patterns."""
    app = typer.Typer(
        help="oncall-agent: detect, decide, act, verify, learn.",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
    )
    app.add_typer(db.app, name="db")
    app.add_typer(kb.app, name="kb", help="The knowledge base: list, search, add, export, import.")
    app.add_typer(patterns.app, name="patterns", help="Alert patterns: list, add, test.")
    incidents.register(app)
    app.command("scan")(scan.scan)
    app.add_typer(history.app, name="history", help="Import past incidents and their fixes.")
    app.add_typer(models.app, name="models", help="Recommendation model versions.")
    learning.register(app)
    return app
