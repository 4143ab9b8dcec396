"""The recommendation model on a generated history with a known truth (no store)."""

from __future__ import annotations

import numpy as np
import pytest

from oncall_agent.learning.examples import Example, to_table
from oncall_agent.learning.recommender import Recommender
from oncall_agent.learning.synth import SynthHistory, generate


def _fit(history: SynthHistory) -> tuple[Recommender, list]:  # type: ignore[type-arg]
    """A model fitted on the history and its answers to the test rows (in order)."""
    train = [Example(r.timestamp, r.title, r.description, r.service, r.solution, r.success)
             for r in history.train]  # fmt: skip
    model = Recommender().fit(to_table(train))
    test = to_table([Example(r.timestamp, r.title, r.description, r.service, None, None)
                     for r in history.test])  # fmt: skip
    return model, model.recommend(test.texts, test.services, test.days)


@pytest.fixture(scope="module")
def fitted() -> tuple[SynthHistory, list]:  # type: ignore[type-arg]
    """A year of history at 0.3x the rates (seed 5, vocabulary b) and the answers after it."""
    history = generate(5, "b", scale=0.3)
    return history, _fit(history)[1]


def test_seen_problems_get_the_fix_that_works_best_now(fitted) -> None:  # type: ignore[no-untyped-def]
    """On problems the history shows, most answers are the best fix at the incident's time."""
    history, answers = fitted
    pairs = [(r, a) for r, a in zip(history.test, answers, strict=True) if not r.problem.unseen]
    hits = [a.solution == r.problem.best_fix(r.timestamp) for r, a in pairs]
    assert np.mean(hits) >= 0.8  # a short history: the bench holds the 0.90 target


def test_never_seen_problems_get_no_recommendation(fitted) -> None:  # type: ignore[no-untyped-def]
    """Problems that appear only after the history get no solution and a low confidence."""
    history, answers = fitted
    unseen = [a for r, a in zip(history.test, answers, strict=True) if r.problem.unseen]
    assert unseen and np.mean([a.solution is None for a in unseen]) >= 0.9
    assert all(a.confidence < 0.4 for a in unseen if a.solution is None)


def test_a_fix_that_stopped_working_loses_its_place(fitted) -> None:  # type: ignore[no-untyped-def]
    """Where the usual fix stopped working, the answer is the fix that works now."""
    history, answers = fitted
    drifted = [(r, a) for r, a in zip(history.test, answers, strict=True) if r.problem.drift_at]
    assert drifted
    assert np.mean([a.solution == r.problem.best_fix(r.timestamp) for r, a in drifted]) >= 0.7
    assert np.mean([a.solution == r.problem.usual for r, a in drifted]) <= 0.2


def test_confidence_is_a_probability_with_its_parts(fitted) -> None:  # type: ignore[no-untyped-def]
    """Each answer's confidence is in [0, 1] and names the evidence behind it."""
    _, answers = fitted
    assert all(0.0 <= a.confidence <= 1.0 for a in answers)
    assert all("recent_success_rate" in a.parts for a in answers if a.solution)
