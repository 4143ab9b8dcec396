"""The learned model in the resolution path: which entry's fix to propose, and the calibrated
probability that it resolves this incident. No model (a fresh install) → None, and analysis
keeps the knowledge base's formula. The model is loaded once per process (cached by hash)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Incident, ModelVersion


@dataclass(frozen=True)
class LearnedChoice:
    """The entry the model proposes, its calibrated confidence, and the evidence behind it."""

    entry_key: str
    confidence: float
    version: int
    explanation: str
    parts: dict[str, float] = field(default_factory=dict)


def learned_choice(
    engine: Engine, incident: Incident, entry_keys: set[str]
) -> LearnedChoice | None:
    """The model's best fix that is a knowledge entry, or None (no model, nothing like it)."""
    with session_scope(engine) as session:
        if (
            session.exec(select(ModelVersion.id).where(ModelVersion.status == "current")).first()
            is None
        ):
            return None  # a fresh install: no scikit-learn import, today's formula
    import numpy as np  # with scikit-learn below: only when a model exists

    from oncall_agent.learning.examples import days_since_epoch, incident_text
    from oncall_agent.learning.registry import current_model

    loaded = current_model(engine)
    if loaded is None:
        return None
    version, model = loaded
    assert model.index is not None
    text = incident_text(incident.title, incident.description, incident.template)
    ev = model.index.evidence(
        [text], np.array([incident.service], dtype=object),
        np.array([days_since_epoch(incident.last_seen)]),
    )[0]  # fmt: skip
    if not ev.solutions or ev.best_similarity < model.novelty_floor:
        return None  # a problem the history never showed: the model has no opinion
    scored = []
    for i, solution in enumerate(ev.solutions):
        key = model.entries.get((incident.service, solution)) or solution
        if key in entry_keys:
            scored.append((model.probability(ev, i), i, key))
    if not scored:
        return None
    p, i, key = max(scored)
    parts = {
        "best_similarity": round(ev.best_similarity, 3),
        "recent_success_rate": round(float(ev.posterior[i]), 3),
        "weighted_outcomes": round(float(ev.weight[i]), 2),
        "share_of_neighbours": round(float(ev.share[i]), 3),
    }
    explanation = (
        f"confidence {p:.2f} = learned model v{version.version}'s calibrated probability that "
        f"{key} resolves it: recency-weighted success rate {parts['recent_success_rate']:.2f} "
        f"over {parts['weighted_outcomes']:g} weighted outcomes on similar incidents (best "
        f"similarity {parts['best_similarity']:.2f}, {parts['share_of_neighbours']:.0%} of them "
        "used this fix)"
    )
    return LearnedChoice(key, p, version.version, explanation, parts)
