"""Regenerate migration 0001 from the models (only while nothing has been released)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from oncall_agent.store.engine import make_engine
from oncall_agent.store.schema import MIGRATIONS, alembic_config


def main() -> None:
    """Delete 0001 and autogenerate it again against an empty SQLite file."""
    (MIGRATIONS / "versions" / "0001_initial_schema.py").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'autogen.db'}")
        command.revision(
            alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001"
        )


if __name__ == "__main__":
    main()
