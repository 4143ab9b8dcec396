"""The learned model in analysis: with a current model the confidence is its calibrated
probability (with parts); with none, the knowledge base's formula as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from oncall_agent.learning.importer import import_history
from oncall_agent.learning.records import read_history
from oncall_agent.learning.synth import generate, write_csv
from oncall_agent.learning.training import retrain
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Incident, utcnow

pytestmark = pytest.mark.integration


def _open_incident(engine: Engine, title: str, description: str, service: str) -> int:
    """Store an open, detected incident and return its id."""
    now = utcnow()
    with session_scope(engine) as session:
        row = Incident(
            fingerprint="f" * 40, active_fingerprint="f" * 40, title=title, service=service,
            severity="error", category="error", status="open", template=title,
            first_seen=now, last_seen=now, occurrences=1, description=description,
        )  # fmt: skip
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def test_analysis_uses_the_current_model_and_shows_its_parts(
    engine: Engine, tmp_path: Path
) -> None:
    """Before retraining, the formula; after, the model's calibrated probability for an
    imported entry, with the evidence in the explanation."""
    history = generate(23, "a", days=150, scale=0.25)
    write_csv(history.train, tmp_path / "train.csv")
    import_history(engine, read_history(tmp_path / "train.csv"))
    seen = next(r for r in history.test if not r.problem.unseen)
    incident_id = _open_incident(engine, seen.title, seen.description, seen.service)
    before = analyze_incident(engine, incident_id)
    assert before.confidence_parts == {}
    retrain(engine, tmp_path / "models")
    after = analyze_incident(engine, incident_id)
    assert after.entry_key is not None and after.entry_key.startswith("hist-")
    assert after.confidence is not None and 0.0 < after.confidence <= 1.0
    assert "learned model v1" in after.confidence_explanation
    assert set(after.confidence_parts) >= {"recent_success_rate", "best_similarity"}
