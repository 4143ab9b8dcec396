"""The recommendation model: which fix for this incident, and the calibrated chance it works.

Fitting (all on past rows, oldest first):
1. a TF-IDF vocabulary and a neighbour index over the history (neighbours.py);
2. a calibrator (logistic regression) from the evidence for the chosen fix to whether it worked,
   fitted on the newest 20 %, replayed in 40 time-ordered chunks, each answered by an index of
   every row before it (as a nightly retrain would have); a row teaches when the chosen fix is
   the one people used (its outcome is known);
3. a novelty floor: the best similarity that 99 % of recurring incidents of that window reached.
The model abstains (no solution) when the calibrated probability is below `abstain_below` or the
incident is less similar to anything past than the novelty floor (a problem never seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression

from oncall_agent.learning.examples import ExampleTable
from oncall_agent.learning.neighbours import (
    Evidence,
    NeighbourIndex,
    NeighbourParams,
    make_vectorizer,
)

ABSTAIN_BELOW = 0.4
CALIBRATION_SHARE = 0.2
CALIBRATION_CHUNKS = 40
# A new incident is "a known problem" when it is as similar to its nearest past incident as
# 99 % of the recurring incidents of the calibration window were to theirs.
NOVELTY_QUANTILE = 0.01
MIN_CALIBRATION_ROWS = 20


@dataclass(frozen=True)
class Recommendation:
    """The fix to propose (None: abstain), its knowledge entry, and the chance it works."""

    solution: str | None
    entry: str | None
    confidence: float
    parts: dict[str, float] = field(default_factory=dict)
    candidate: str | None = None  # the best candidate even when abstaining


def _chosen(ev: Evidence) -> int | None:
    """The candidate with the best weighted success record (None without candidates); between
    equal records (a history without outcomes) the fix most used on such incidents."""
    return int(np.argmax(ev.posterior + 1e-9 * ev.share)) if ev.solutions else None


def calibration_rows(
    evidence: list[Evidence], table: ExampleTable
) -> tuple[list[list[float]], list[int]]:
    """Features and targets for the calibrator from answers to incidents with known outcomes."""
    xs: list[list[float]] = []
    ys: list[int] = []
    for ev, used, ok in zip(evidence, table.solutions, table.success, strict=True):
        i = _chosen(ev)
        if i is None or used is None:
            continue
        if ev.solutions[i] == used and not np.isnan(ok):
            xs.append(ev.features(i))
            ys.append(int(ok))
    return xs, ys


class Recommender:
    """A fitted model: the neighbour index, the calibrator, and solution -> entry keys."""

    def __init__(
        self, params: NeighbourParams | None = None, abstain_below: float = ABSTAIN_BELOW
    ) -> None:
        self.params = params or NeighbourParams()
        self.abstain_below = abstain_below
        self.index: NeighbourIndex | None = None
        self.calibrator: LogisticRegression | None = None
        self.entries: dict[tuple[str, str], str] = {}
        self.novelty_floor = 0.0
        self.data_end: float = 0.0
        self.rows = 0

    def fit(self, table: ExampleTable) -> Recommender:
        """Fit on TABLE (oldest first); the calibrator learns from its newest 20 %, answered by
        an index of the older 80 % (so it sees answers to incidents the index had not seen)."""
        vectorizer = make_vectorizer()
        vectors = vectorizer.fit_transform(table.texts)
        cut = round(len(table) * (1.0 - CALIBRATION_SHARE))
        older, newer = np.arange(cut), np.arange(cut, len(table))
        index = NeighbourIndex(vectorizer, table.subset(older), self.params, vectors[older])
        evidence: list[Evidence] = []
        # Replayed in time order, learning each chunk's outcomes after answering it: the
        # calibrator sees answers as a nightly-retrained model gives them.
        for chunk in np.array_split(newer, max(1, min(CALIBRATION_CHUNKS, len(newer)))):
            part = table.subset(chunk)
            evidence += index.evidence(part.texts, part.services, part.days, vectors[chunk])
            index.add(part, vectors[chunk])
        self.calibrator = _fit_calibrator(evidence, table.subset(newer))
        self.novelty_floor = _novelty_floor(evidence, table.subset(newer))
        self.index = index  # it has learned every row by now
        self.entries = {
            (str(svc), sol): e
            for svc, sol, e in zip(table.services, table.solutions, table.entries, strict=True)
            if sol and e
        }
        self.data_end = float(table.days.max()) if len(table) else 0.0
        self.rows = len(table)
        return self

    def learn(self, table: ExampleTable) -> None:
        """Add outcomes without refitting (the backtest's replay); the vocabulary stays."""
        assert self.index is not None
        self.index.add(table)
        self.entries.update(
            {
                (str(v), s): e
                for v, s, e in zip(table.services, table.solutions, table.entries, strict=True)
                if s and e
            }
        )

    def recommend(
        self, texts: list[str], services: np.ndarray, days: np.ndarray
    ) -> list[Recommendation]:
        """A recommendation per query incident (abstaining when the chance is too low)."""
        assert self.index is not None
        evidence = self.index.evidence(texts, services, days)
        chosen = [_chosen(ev) for ev in evidence]
        # One calibrator call for the batch: scikit-learn's per-call checks cost ~1 ms each.
        pairs = [(ev, i) for ev, i in zip(evidence, chosen, strict=True) if i is not None]
        probs = iter(self._probabilities(pairs))
        return [
            self._answer(ev, str(svc), i, next(probs) if i is not None else 0.0)
            for ev, svc, i in zip(evidence, services, chosen, strict=True)
        ]

    def _probabilities(self, candidates: list[tuple[Evidence, int]]) -> list[float]:
        """The calibrated chance for each (evidence, candidate index)."""
        if not candidates:
            return []
        if self.calibrator is None:
            return [float(ev.posterior[i]) for ev, i in candidates]
        features = np.array([ev.features(i) for ev, i in candidates])
        return [float(p) for p in self.calibrator.predict_proba(features)[:, 1]]

    def probability(self, ev: Evidence, i: int) -> float:
        """The calibrated chance that candidate I of EV fixes the incident."""
        return self._probabilities([(ev, i)])[0]

    def _answer(self, ev: Evidence, service: str, i: int | None, p: float) -> Recommendation:
        """The recommendation from one incident's evidence, its chosen candidate I and P."""
        if i is None:
            return Recommendation(None, None, 0.0, {"best_similarity": 0.0})
        solution = ev.solutions[i]
        parts = {
            "best_similarity": round(ev.best_similarity, 3),
            "fix_similarity": round(float(ev.similarity[i]), 3),
            "recent_success_rate": round(float(ev.posterior[i]), 3),
            "weighted_outcomes": round(float(ev.weight[i]), 2),
            "share_of_neighbours": round(float(ev.share[i]), 3),
        }
        entry = self.entries.get((service, solution))
        parts["novelty_floor"] = round(self.novelty_floor, 3)
        if ev.best_similarity < self.novelty_floor:
            # A problem never seen: the nearest fix belongs to another problem, so no
            # probability of it working is claimed (a low confidence goes with no solution).
            return Recommendation(None, None, 0.0, parts, candidate=solution)
        if p < self.abstain_below:
            return Recommendation(None, None, p, parts, candidate=solution)
        return Recommendation(solution, entry, p, parts, candidate=solution)


def _fit_calibrator(evidence: list[Evidence], rows: ExampleTable) -> LogisticRegression | None:
    """A logistic regression from evidence features to "the chosen fix worked"."""
    xs, ys = calibration_rows(evidence, rows)
    if len(ys) < MIN_CALIBRATION_ROWS or len(set(ys)) < 2:
        return None  # too little to calibrate: the weighted success rate is used as it is
    return LogisticRegression(C=1.0, max_iter=1000).fit(np.array(xs), np.array(ys))


def _novelty_floor(evidence: list[Evidence], rows: ExampleTable) -> float:
    """The best-similarity below which an incident is taken to be a problem never seen."""
    known = [
        ev.best_similarity
        for ev, used in zip(evidence, rows.solutions, strict=True)
        if used is not None and used in ev.solutions
    ]
    return float(np.quantile(known, NOVELTY_QUANTILE)) if known else 0.0
