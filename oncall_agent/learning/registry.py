"""Saved models: versions in the store, files on disk, and a sha256 checked before every load.

A model file is a pickle: loading one runs code, so a file whose hash differs from the one
recorded when it was saved is refused (it was changed or replaced after training).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import joblib
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from oncall_agent.errors import ConfigError, StoreError
from oncall_agent.learning.recommender import Recommender
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import ModelVersion

CURRENT, CANDIDATE, RETIRED = "current", "candidate", "retired"
_CACHE: dict[tuple[str, str], Recommender] = {}


class ModelIntegrityError(StoreError):
    """A model file's sha256 differs from the one recorded when it was saved."""


def file_sha256(path: Path) -> str:
    """The hex sha256 of PATH's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def list_versions(session: Session) -> list[ModelVersion]:
    """Every saved model version, newest first."""
    return list(session.exec(select(ModelVersion).order_by(col(ModelVersion.version).desc())))


def current_version(session: Session) -> ModelVersion | None:
    """The version in use, or None (no model yet: the knowledge base's formula is used)."""
    return session.exec(select(ModelVersion).where(ModelVersion.status == CURRENT)).first()


def get_version(session: Session, version: int) -> ModelVersion:
    """The row of VERSION, or a ConfigError saying how to list them."""
    row = session.exec(select(ModelVersion).where(ModelVersion.version == version)).first()
    if row is None:
        raise ConfigError(f"no model version {version}; see `oncall models list`")
    return row


def save_model(
    session: Session, model: Recommender, models_dir: Path, *, promote: bool, **fields: Any
) -> ModelVersion:
    """Write MODEL to a new versioned file, record its hash, and make it current if PROMOTE."""
    latest = session.exec(select(ModelVersion.version).order_by(col(ModelVersion.version).desc()))
    version = (latest.first() or 0) + 1
    models_dir.mkdir(parents=True, exist_ok=True)
    path = (models_dir / f"recommender-v{version}.joblib").resolve()
    joblib.dump(model, path, compress=3)
    row = ModelVersion(
        version=version, path=str(path), sha256=file_sha256(path),
        status=CANDIDATE, rows=model.rows, **fields,
    )  # fmt: skip
    session.add(row)
    session.flush()
    if promote:
        _make_current(session, row)
    return row


def _make_current(session: Session, row: ModelVersion) -> None:
    """ROW becomes the one current version; the previous current is retired."""
    for other in session.exec(select(ModelVersion).where(ModelVersion.status == CURRENT)):
        if other.id != row.id:
            other.status = RETIRED
            session.add(other)
    row.status = CURRENT
    session.add(row)
    session.flush()


def rollback(session: Session, version: int | None, *, actor: str) -> ModelVersion:
    """Make VERSION (default: the newest older than the current) current again; audited."""
    current = current_version(session)
    if version is None:
        older = [
            v for v in list_versions(session) if current is None or v.version < current.version
        ]
        if not older:
            raise ConfigError("there is no older model version to roll back to")
        version = older[0].version
    row = get_version(session, version)
    load_model(row)  # refuse a version whose file is gone or changed before switching to it
    _make_current(session, row)
    audit(
        session, "model_rollback", actor=actor, to_version=row.version,
        from_version=current.version if current else None,
    )  # fmt: skip
    return row


def load_model(row: ModelVersion) -> Recommender:
    """The model of ROW, after checking its file's sha256 (cached per path and hash)."""
    key = (row.path, row.sha256)
    if key in _CACHE:
        return _CACHE[key]
    path = Path(row.path)
    if not path.is_file():
        raise ModelIntegrityError(
            f"model v{row.version} file {path} is missing; run `oncall retrain` or "
            "`oncall models rollback`"
        )
    actual = file_sha256(path)
    if actual != row.sha256:
        raise ModelIntegrityError(
            f"model v{row.version} file {path} has sha256 {actual[:12]}..., not the recorded "
            f"{row.sha256[:12]}...: refusing to load it; retrain or roll back to another version"
        )
    model = joblib.load(path)
    if not isinstance(model, Recommender):
        raise ModelIntegrityError(f"{path} does not hold a recommendation model")
    _CACHE[key] = model
    return model


def current_model(engine: Engine) -> tuple[ModelVersion, Recommender] | None:
    """The current model and its row, or None when no model was promoted yet."""
    with session_scope(engine) as session:
        row = current_version(session)
        if row is None:
            return None
        session.expunge(row)
    return row, load_model(row)
