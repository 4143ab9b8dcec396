"""Which confidence the agent uses now: the learned model's version, or the formula."""

from __future__ import annotations

from sqlmodel import select

from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import ModelVersion

# Queried here rather than through the registry: `oncall status` should not import scikit-learn.
CURRENT = "current"


def confidence_source() -> str:
    """One line for `oncall status`."""
    with session_scope() as session:
        row = session.exec(select(ModelVersion).where(ModelVersion.status == CURRENT)).first()
    if row is None:
        return "knowledge-base formula (no learned model yet: `oncall retrain`)"
    top1 = (row.metrics or {}).get("top1")
    score = f", holdout top-1 {top1:.2f}" if isinstance(top1, float) else ""
    return f"learned model v{row.version} ({row.rows} incidents{score}, sha256 {row.sha256[:12]})"
