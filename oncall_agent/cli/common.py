"""What every CLI command shares: the store, a console, and turning errors into clear exits.

Text from logs (titles, templates, samples) is data: the consoles never interpret Rich markup, so
`[ledger]` in a title prints as `[ledger]`. Our own emphasis goes through `style=` or `Text`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from oncall_agent.errors import ConfigError, OncallError, StoreError, StoreNotMigrated

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

DEBUG_ENV = "ONCALL_DEBUG"  # set by `oncall --debug`: errors keep their traceback

console = Console(markup=False, highlight=False, emoji=False)
err_console = Console(stderr=True, markup=False, highlight=False, emoji=False)

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> NoReturn:
    """Print MESSAGE as one red error line and exit with CODE (2: bad input, 1: a failure)."""
    err_console.print(Text(f"error: {message}", style="red"), soft_wrap=True)
    raise typer.Exit(code)


def say_empty(what: str) -> None:
    """Say plainly that a listing has nothing to show (an empty table reads as a bug)."""
    console.print(Text(what, style="dim"))


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _store_url(engine: Engine) -> str:
    """The store's URL without its password."""
    return engine.url.render_as_string(hide_password=True)


def store_engine() -> Engine:
    """The configured store, refusing to work on one that is down or not migrated."""
    from sqlalchemy.exc import SQLAlchemyError

    from oncall_agent.store.engine import get_engine
    from oncall_agent.store.schema import current_revision, head_revision

    engine = get_engine()
    try:
        revision = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot reach the store at {_store_url(engine)} ({_first_line(exc)}); "
            "check that the database is up and DATABASE_URL is right"
        ) from exc
    if revision != head_revision():
        raise StoreNotMigrated(
            f"the store at {_store_url(engine)} is not at the newest schema; "
            "run `oncall db upgrade` first"
        )
    return engine


@contextmanager
def store_session() -> Iterator[Session]:
    """A committed-on-success session on the migrated store."""
    from oncall_agent.store.engine import session_scope

    with session_scope(store_engine()) as session:
        yield session


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (driver errors span many lines)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0]}" if text else type(orig).__name__


def describe_error(exc: BaseException) -> tuple[str, int]:
    """One line saying what went wrong and what to do, and the exit code for it."""
    from sqlalchemy.exc import SQLAlchemyError  # imported by then whenever the store was used

    if isinstance(exc, ConfigError | StoreNotMigrated):
        return str(exc), 2
    if isinstance(exc, OncallError):
        return str(exc), 1
    if isinstance(exc, SQLAlchemyError):
        return (
            f"the store failed ({_first_line(exc)}); check DATABASE_URL, that the database is "
            "up, and run `oncall db upgrade`",
            1,
        )
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or exc}{where}", 1
    return f"{_first_line(exc)} (run with --debug for the traceback)", 1


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn errors into one red line and a non-zero exit (kept for commands run in-process)."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OncallError as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            message, code = describe_error(exc)
            fail(message, code)

    return wrapper
