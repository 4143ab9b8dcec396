"""Bringing a database to the current schema: Alembic migrations (create_all only for scratch)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from oncall_agent.store import tables  # noqa: F401  (registers every table on the metadata)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the bundled migrations and ENGINE's database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser reads '%' as interpolation: escape it (URL-encoded passwords, options).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store to REVISION (default: the newest)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at, or None if it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision the code ships."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def create_schema(engine: Engine) -> None:
    """Bring ENGINE's database to the newest schema (migrations, so tests exercise them too)."""
    upgrade(engine)


def create_all_unmigrated(engine: Engine) -> None:
    """Create tables straight from the models (used only to autogenerate a migration)."""
    SQLModel.metadata.create_all(engine)
