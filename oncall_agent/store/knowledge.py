"""Repository functions for knowledge entries (they take a Session; the caller commits)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import Insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oncall_agent.detection.regex_safety import check_regex
from oncall_agent.errors import ConfigError, StoreError
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.knowledge.templates import learned_key, template_pattern
from oncall_agent.models import ActionSpec, AutonomyMode, RiskClass
from oncall_agent.store.audit import audit
from oncall_agent.store.tables import ActionOutcomeCount, KnowledgeEntry, utcnow

# What a person or a file defines; successes/failures are observed, never overwritten by import.
_CONTENT_FIELDS = (
    "title", "description", "patterns", "services", "categories", "tags",
    "solution", "action", "risk", "autonomy", "alternatives",
)  # fmt: skip


def _content(spec: KnowledgeEntrySpec) -> dict[str, Any]:
    """The column values of SPEC's content fields (PatternError for a minutes-long regex)."""
    for pattern in spec.patterns:
        check_regex(pattern, f"knowledge entry {spec.key!r}")
    data = spec.model_dump(mode="json")
    return {name: data[name] for name in _CONTENT_FIELDS}


def _insert_if_absent(session: Session, values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists (race-safe: ON CONFLICT DO NOTHING); True if inserted."""
    dialect = session.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(KnowledgeEntry).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(KnowledgeEntry).on_conflict_do_nothing(index_elements=["key"])
    else:
        raise StoreError(f"unsupported database {dialect!r}; use SQLite or PostgreSQL")
    now = utcnow()
    returning = stmt.values(created_at=now, updated_at=now, **values).returning(
        col(KnowledgeEntry.id)
    )
    # RETURNING, not rowcount: through the ORM, PostgreSQL reports rowcount -1 here.
    return session.exec(returning).first() is not None


def _new_row_values(spec: KnowledgeEntrySpec, origin: str) -> dict[str, Any]:
    """Every column of a new row for SPEC."""
    values = _content(spec)
    values.update(key=spec.key, successes=spec.successes, failures=spec.failures, origin=origin)
    return values


def seed_defaults(session: Session) -> int:
    """Insert the default entries whose keys are missing; never touch existing rows."""
    return sum(_insert_if_absent(session, _new_row_values(s, "seed")) for s in DEFAULT_ENTRIES)


def list_entries(session: Session) -> list[KnowledgeEntry]:
    """Every knowledge entry, ordered by key."""
    return list(session.exec(select(KnowledgeEntry).order_by(KnowledgeEntry.key)).all())


def get_entry(session: Session, key: str) -> KnowledgeEntry | None:
    """The entry with KEY, or None."""
    return session.exec(select(KnowledgeEntry).where(KnowledgeEntry.key == key)).first()


def add_entry(session: Session, spec: KnowledgeEntrySpec, origin: str = "human") -> KnowledgeEntry:
    """Store a new entry; an existing key is an error (use upsert_entries to update)."""
    duplicate = f"knowledge entry {spec.key!r} already exists; choose another key or import "
    if get_entry(session, spec.key) is not None:
        raise ConfigError(duplicate + "a file to update it")
    row = KnowledgeEntry(**_new_row_values(spec, origin))
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # another writer added the same key in the meantime
        raise ConfigError(duplicate + "a file to update it") from exc
    return row


def _stored(row: KnowledgeEntry, name: str) -> Any:
    """A content field of ROW as a spec would give it (rows from before alternatives hold None)."""
    value = getattr(row, name)
    return [] if name == "alternatives" and value is None else value


def upsert_entries(
    session: Session, specs: list[KnowledgeEntrySpec], origin: str = "import"
) -> tuple[int, int]:
    """Create missing entries and update changed ones; returns (created, updated)."""
    created = updated = 0
    for spec in specs:
        row = get_entry(session, spec.key)
        if row is None:
            session.add(KnowledgeEntry(**_new_row_values(spec, origin)))
            created += 1
            continue
        content = _content(spec)
        if any(_stored(row, name) != value for name, value in content.items()):
            for name, value in content.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            session.add(row)
            updated += 1
    session.flush()
    return created, updated


def to_spec(row: KnowledgeEntry) -> KnowledgeEntrySpec:
    """The validated spec of a stored entry."""
    data = {name: getattr(row, name) for name in _CONTENT_FIELDS}
    data.update(key=row.key, successes=row.successes, failures=row.failures)
    lists = ("patterns", "services", "categories", "tags", "alternatives")
    data.update({name: data[name] or [] for name in lists})
    try:
        return KnowledgeEntrySpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            f"stored knowledge entry {row.key!r} is invalid: {exc}; fix it with `oncall kb import`"
        ) from exc


def record_outcome(
    session: Session, entry_id: int, success: bool, action: str | None = None
) -> None:
    """Add one success or failure to an entry (and to ACTION's own record), atomically in SQL."""
    column = KnowledgeEntry.successes if success else KnowledgeEntry.failures
    stmt = (
        update(KnowledgeEntry)
        .where(col(KnowledgeEntry.id) == entry_id)
        .values({column: column + 1, KnowledgeEntry.updated_at: utcnow()})
        # "fetch" gives rows already loaded in this session the new counts from the database.
        .execution_options(synchronize_session="fetch")
    )
    if not session.exec(stmt).rowcount:
        raise StoreError(f"knowledge entry id {entry_id} does not exist")
    if action:
        record_action_outcome(session, entry_id, action, success)


def _upsert_action_count(session: Session, entry_id: int, action: str) -> None:
    """Make sure ACTION's record row exists (race-safe: ON CONFLICT DO NOTHING)."""
    dialect = session.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(ActionOutcomeCount).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(ActionOutcomeCount).on_conflict_do_nothing()
    else:
        raise StoreError(f"unsupported database {dialect!r}; use SQLite or PostgreSQL")
    session.execute(
        stmt.values(
            knowledge_entry_id=entry_id, action=action, successes=0, failures=0, updated_at=utcnow()
        )
    )


def record_action_outcome(session: Session, entry_id: int, action: str, success: bool) -> None:
    """Add one success or failure to one action of an entry (an A/B arm), atomically in SQL."""
    _upsert_action_count(session, entry_id, action)
    column = ActionOutcomeCount.successes if success else ActionOutcomeCount.failures
    session.execute(
        update(ActionOutcomeCount)
        .where(
            col(ActionOutcomeCount.knowledge_entry_id) == entry_id,
            col(ActionOutcomeCount.action) == action,
        )
        .values({column: column + 1, ActionOutcomeCount.updated_at: utcnow()})
        .execution_options(synchronize_session="fetch")
    )


def action_records(session: Session, entry_id: int) -> dict[str, tuple[int, int]]:
    """Per action of an entry, its (successes, failures); actions never tried are absent."""
    query = select(ActionOutcomeCount).where(ActionOutcomeCount.knowledge_entry_id == entry_id)
    return {row.action: (row.successes, row.failures) for row in session.exec(query).all()}


def _learned_spec(
    *,
    title: str,
    service: str,
    category: str,
    template: str,
    solution: str,
    action: ActionSpec | None,
) -> KnowledgeEntrySpec:
    """The spec of an entry learned from a person's resolution (never autonomous)."""
    pattern = template_pattern(template or title)
    return KnowledgeEntrySpec(
        key=learned_key(title, service, category, template),
        title=title[:500],
        description=f"Learned from a person's fix for this incident on {service or 'a service'}.",
        patterns=[pattern] if pattern else [],
        services=[service] if service else [],
        categories=[category] if category else [],
        tags=["learned"],
        solution=solution,
        action=action,
        # Unknown blast radius: a person approves until they choose to raise autonomy.
        risk=RiskClass.MEDIUM,
        autonomy=AutonomyMode.APPROVE if action else AutonomyMode.SHADOW,
    )  # fmt: skip


def entry_from_resolution(
    session: Session,
    *,
    title: str,
    service: str,
    category: str,
    template: str,
    solution: str,
    success: bool,
    action: ActionSpec | None,
) -> KnowledgeEntry:
    """Turn a resolution of an unmatched incident into an entry, counting its outcome."""
    if not title.strip() or not solution.strip():
        raise ConfigError("a resolution needs an incident title and the solution that was used")
    spec = _learned_spec(
        title=title, service=service, category=category, template=template,
        solution=solution, action=action,
    )  # fmt: skip
    # The same kind of incident resolved again reuses its entry and keeps any human edits.
    _insert_if_absent(session, _new_row_values(spec, "learned"))
    row = get_entry(session, spec.key)
    if row is None or row.id is None:
        raise StoreError(f"learned knowledge entry {spec.key!r} was not stored")
    record_outcome(session, row.id, success)
    return row


def set_autonomy(
    session: Session, key: str, mode: AutonomyMode, *, actor: str, reason: str
) -> KnowledgeEntry:
    """A person changes an entry's autonomy (the only way it changes); audited."""
    if not actor.strip():
        raise ConfigError("say who changes the autonomy (--by NAME): it goes to the audit trail")
    row = get_entry(session, key)
    if row is None:
        raise ConfigError(f"no knowledge entry {key!r}: see `oncall kb list`")
    before = row.autonomy
    row.autonomy = mode.value
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    audit(
        session,
        "autonomy_changed",
        actor=actor,
        entry=key,
        before=before,
        after=mode.value,
        reason=reason,
    )
    return row
