"""`oncall db`: create and migrate the store."""

from __future__ import annotations

import typer

from oncall_agent.cli.common import console

app = typer.Typer(help="Create and migrate the SQL store.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(
    seed: bool = typer.Option(True, help="Add the built-in knowledge entries that are missing"),
) -> None:
    """Migrate the store to the newest schema (SQLite by default, DATABASE_URL for PostgreSQL)."""
    from oncall_agent.store.engine import get_engine, session_scope
    from oncall_agent.store.knowledge import seed_defaults
    from oncall_agent.store.schema import current_revision, upgrade

    engine = get_engine()
    before = current_revision(engine)
    upgrade(engine)
    console.print(
        f"store {engine.url.render_as_string(hide_password=True)}: "
        f"{before or 'empty'} -> {current_revision(engine)}"
    )
    if seed:
        with session_scope(engine) as session:
            added = seed_defaults(session)
        console.print(f"knowledge base: {added} built-in entries added")


@app.command("status")
def status_cmd() -> None:
    """Say which schema revision the store is at, and the newest one."""
    from oncall_agent.store.engine import get_engine
    from oncall_agent.store.schema import current_revision, head_revision

    engine = get_engine()
    console.print(f"current {current_revision(engine) or 'none'}, newest {head_revision()}")
