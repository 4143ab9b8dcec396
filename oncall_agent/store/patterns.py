"""User-defined alert patterns in the store, and the pattern set detection runs with."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from oncall_agent.detection.patterns import (
    DEFAULT_PATTERNS,
    AlertPattern,
    PatternSet,
    compile_patterns,
)
from oncall_agent.detection.regex_safety import check_regex
from oncall_agent.errors import ConfigError, PatternError, StoreError
from oncall_agent.models import Severity
from oncall_agent.store.tables import AlertPatternRow

log = logging.getLogger(__name__)
_DEFAULT_NAMES = frozenset(p.name for p in DEFAULT_PATTERNS)


def _to_pattern(row: AlertPatternRow) -> AlertPattern:
    """The domain pattern of a stored row."""
    return AlertPattern(
        name=row.name,
        regex=row.regex,
        category=row.category,
        severity=Severity(row.severity),
        services=list(row.services or []),
    )


def list_user_patterns(session: Session, *, enabled_only: bool = True) -> list[AlertPattern]:
    """User patterns in the order they were added (only enabled ones unless told otherwise)."""
    query = select(AlertPatternRow).order_by(col(AlertPatternRow.id))
    if enabled_only:
        query = query.where(col(AlertPatternRow.enabled).is_(True))
    try:
        rows = session.exec(query).all()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot list alert patterns: {exc}") from exc
    return [_to_pattern(row) for row in rows]


def add_user_pattern(session: Session, pattern: AlertPattern) -> None:
    """Store PATTERN after checking that it compiles and that its name is free."""
    compile_patterns([pattern], suppressions=[])  # raises PatternError naming the regex
    check_regex(pattern.regex, f"alert pattern {pattern.name!r}")  # no minutes-long lines
    if pattern.name in _DEFAULT_NAMES:
        raise ConfigError(f"alert pattern {pattern.name!r} is a built-in name; choose another")
    existing = session.exec(select(AlertPatternRow).where(AlertPatternRow.name == pattern.name))
    if existing.first() is not None:
        raise ConfigError(f"alert pattern {pattern.name!r} already exists; choose another name")
    session.add(
        AlertPatternRow(
            name=pattern.name,
            regex=pattern.regex,
            category=pattern.category,
            severity=pattern.severity.value,
            services=list(pattern.services),
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:  # another writer took the name between check and insert
        session.rollback()
        raise ConfigError(f"alert pattern {pattern.name!r} already exists") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot store alert pattern {pattern.name!r}: {exc}") from exc


def load_pattern_set(session: Session) -> PatternSet:
    """Enabled user patterns (tried first) then the built-in ones, compiled once.

    A stored pattern that no longer compiles is skipped with a warning naming it, so one bad
    row cannot stop detection.
    """
    usable: list[AlertPattern] = []
    for pattern in list_user_patterns(session):
        try:
            compile_patterns([pattern], suppressions=[])
        except PatternError as exc:
            log.warning("skipping alert pattern %r: %s", pattern.name, exc)
            continue
        if pattern.name in _DEFAULT_NAMES:
            log.warning("skipping alert pattern %r: the name is now a built-in one", pattern.name)
            continue
        usable.append(pattern)
    return compile_patterns([*usable, *DEFAULT_PATTERNS])
