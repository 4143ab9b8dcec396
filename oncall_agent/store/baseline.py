"""Each source's baseline in the store: line counts per alerting template per time bucket."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from oncall_agent.errors import StoreError
from oncall_agent.store.tables import TemplateCount

SPAN = "*"  # the pseudo-fingerprint counting every line examined: the source's span
_TABLE = TemplateCount.__table__  # type: ignore[attr-defined]

Series = dict[int, int]


def _upsert(dialect: str, rows: list[dict[str, Any]]) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE count = count + excluded.count, for DIALECT."""
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        raise StoreError(f"baselines support SQLite and PostgreSQL stores, not {dialect!r}")
    statement = module.insert(_TABLE).values(rows)
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.source_key, _TABLE.c.fingerprint, _TABLE.c.bucket],
        set_={"count": _TABLE.c.count + statement.excluded["count"]},
    )


def add_counts(session: Session, source_key: str, counts: Mapping[str, Series]) -> None:
    """Add COUNTS (fingerprint -> bucket -> lines) to SOURCE_KEY's baseline (safe to race)."""
    rows = [
        {"source_key": source_key, "fingerprint": fp, "bucket": bucket, "count": n}
        for fp, series in counts.items()
        for bucket, n in series.items()
    ]
    if rows:
        session.execute(_upsert(session.get_bind().dialect.name, rows))


def load_series(
    session: Session, source_key: str, fingerprints: Iterable[str], since: int
) -> dict[str, Series]:
    """Bucket counts from bucket SINCE on, per fingerprint of SOURCE_KEY (with SPAN's)."""
    wanted = sorted({*fingerprints, SPAN})
    table = _TABLE.c
    query = select(table.fingerprint, table.bucket, table.count).where(
        table.source_key == source_key, table.fingerprint.in_(wanted), table.bucket >= since
    )
    found: dict[str, Series] = {}
    for fingerprint, bucket, count in session.execute(query):
        found.setdefault(fingerprint, {})[bucket] = count
    return found


def observed_from(session: Session, source_key: str) -> int | None:
    """The first bucket SOURCE_KEY's baseline holds (when it was first observed)."""
    table = _TABLE.c
    query = select(func.min(table.bucket)).where(
        table.source_key == source_key, table.fingerprint == SPAN
    )
    value = session.execute(query).scalar_one_or_none()
    return None if value is None else int(value)


def prune(session: Session, source_key: str, before: int) -> None:
    """Forget SOURCE_KEY's counts older than bucket BEFORE (the baseline's look-back)."""
    session.execute(
        delete(TemplateCount).where(
            col(TemplateCount.source_key) == source_key, col(TemplateCount.bucket) < before
        )
    )
