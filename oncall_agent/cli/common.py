"""What every CLI command shares: the store, a console, and turning errors into clear exits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session

from oncall_agent.errors import ConfigError, OncallError
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.schema import current_revision, head_revision

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def store_engine() -> Engine:
    """The configured store, refusing to work on one that is not migrated to the newest schema."""
    engine = get_engine()
    if current_revision(engine) != head_revision():
        err_console.print(
            f"[red]The store at {engine.url.render_as_string(hide_password=True)} is not at the "
            "newest schema.[/red] Run `oncall db upgrade` first."
        )
        raise typer.Exit(2)
    return engine


@contextmanager
def store_session() -> Iterator[Session]:
    """A committed-on-success session on the migrated store."""
    with session_scope(store_engine()) as session:
        yield session


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn the agent's own errors into a red message and exit code 2 (usage) or 1 (failure)."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        except OncallError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None

    return wrapper
