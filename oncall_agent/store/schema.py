"""Bringing a database to the current schema: Alembic migrations (create_all only for scratch)."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from oncall_agent.store import tables  # noqa: F401  (registers every table on the metadata)

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic costs ~0.4 s to import; every CLI command checks the schema revision, so that check
# reads the revision files and the alembic_version table directly (a test holds it to Alembic).
_REVISION = re.compile(r"""^revision\s*(?::\s*str\s*)?=\s*['"]([^'"]+)['"]""", re.MULTILINE)
_DOWN = re.compile(r"""^down_revision\s*(?::[^=]+)?=\s*(.+)$""", re.MULTILINE)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the bundled migrations and ENGINE's database."""
    from alembic.config import Config

    # Alembic binds its default stdout when first imported; pass today's (tests swap it).
    cfg = Config(stdout=sys.stdout)
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # configparser reads '%' as interpolation: escape it (URL-encoded passwords, options).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store to REVISION (default: the newest)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the store is at, or None if it was never migrated."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision the code ships (the one no other revision builds on)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        down = _DOWN.search(source)
        if found is None or down is None:
            return _alembic_head()  # a layout this reader does not know: ask Alembic
        revisions.add(found.group(1))
        parents.update(re.findall(r"""['"]([^'"]+)['"]""", down.group(1)))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str | None:
    """The newest revision as Alembic computes it (raises on several heads, as it should)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config(stdout=sys.stdout)
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def create_schema(engine: Engine) -> None:
    """Bring ENGINE's database to the newest schema (migrations, so tests exercise them too)."""
    upgrade(engine)


def create_all_unmigrated(engine: Engine) -> None:
    """Create tables straight from the models (used only to autogenerate a migration)."""
    SQLModel.metadata.create_all(engine)
