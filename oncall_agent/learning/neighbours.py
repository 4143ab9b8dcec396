"""Which past incidents look like this one, and how each fix fared on them (recent ones count
more).

Similarity is cosine over TF-IDF of the incident's text, within the same service (the same words
mean different fixes on different services). The neighbours are every past incident of the
service at least `relative` x the best similarity: the "same kind of problem". Each fix's record
among them is a Beta posterior over outcomes weighted by (similarity / best)^2 x 0.5^(age /
half_life), age counted from the newest neighbour: a fix that stopped working loses its place
as its recent failures outweigh its old successes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from oncall_agent.learning.examples import ExampleTable

CHUNK = 256


@dataclass(frozen=True)
class NeighbourParams:
    """How neighbours are chosen and weighed (documented defaults, not tuned per data set)."""

    half_life_days: float = 30.0
    relative: float = 0.6
    prior_success: float = 1.0
    prior_failure: float = 1.0


@dataclass(frozen=True)
class Evidence:
    """How each candidate fix fared on the neighbours of one incident."""

    best_similarity: float
    solutions: list[str]
    posterior: np.ndarray  # weighted posterior mean of success, per solution
    weight: np.ndarray  # weighted number of outcomes, per solution
    share: np.ndarray  # share of the neighbourhood's weight that used this solution
    similarity: np.ndarray  # weighted mean similarity of the neighbours that used this solution

    def features(self, i: int) -> list[float]:
        """The calibrator's inputs for candidate I."""
        p = min(max(float(self.posterior[i]), 1e-3), 1 - 1e-3)
        return [
            float(np.log(p / (1 - p))),
            self.best_similarity,
            float(self.similarity[i]),
            float(np.log1p(self.weight[i])),
            float(self.share[i]),
        ]


def make_vectorizer() -> TfidfVectorizer:
    """Words, sublinear counts; masked ids and numbers are not words."""
    return TfidfVectorizer(
        sublinear_tf=True,
        ngram_range=(1, 1),
        min_df=2,
        max_df=0.5,
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b",  # noqa: S106  (a regex, not a password)
        dtype=np.float32,
    )


class NeighbourIndex:
    """Past incidents grouped by service, searchable by text similarity."""

    def __init__(
        self,
        vectorizer: TfidfVectorizer,
        table: ExampleTable,
        params: NeighbourParams,
        vectors: sp.csr_matrix | None = None,
    ) -> None:
        self.vectorizer, self.params = vectorizer, params
        self.solutions = sorted({s for s in table.solutions if s})
        self._ids = {s: i for i, s in enumerate(self.solutions)}
        self.matrix = sp.csr_matrix((0, len(vectorizer.vocabulary_)), dtype=np.float32)
        self.services = np.array([], dtype=object)
        self.days = np.array([], dtype=float)
        self.sol = np.array([], dtype=np.int64)
        self.success = np.array([], dtype=float)
        self.by_service: dict[str, np.ndarray] = {}
        self._known: dict[str, sp.csr_matrix] = {}
        self.add(table, vectors)

    def add(self, table: ExampleTable, vectors: sp.csr_matrix | None = None) -> None:
        """Learn from more past incidents (rows without a solution are skipped)."""
        keep = np.array([s is not None for s in table.solutions], dtype=bool)
        if not keep.any():
            return
        rows = table.subset(np.flatnonzero(keep))
        if vectors is None:
            vectors = self.vectorizer.transform(rows.texts)
        else:
            vectors = vectors[np.flatnonzero(keep)]
        for s in rows.solutions:
            if s is not None and s not in self._ids:
                self._ids[s] = len(self.solutions)
                self.solutions.append(s)
        offset = self.matrix.shape[0]
        self.matrix = sp.vstack([self.matrix, vectors]).tocsr()
        self.services = np.concatenate([self.services, rows.services])
        self.days = np.concatenate([self.days, rows.days])
        ids = [self._ids[s] for s in rows.solutions if s is not None]
        self.sol = np.concatenate([self.sol, ids])
        self.success = np.concatenate([self.success, rows.success])
        for service, positions in _groups(rows.services).items():
            old = self.by_service.get(service, np.array([], dtype=np.int64))
            self.by_service[service] = np.concatenate([old, positions + offset])
            self._known.pop(service, None)

    def _service_matrix(self, service: str) -> sp.csr_matrix:
        """The vectors of SERVICE's past incidents (cached until more are added)."""
        if service not in self._known:
            self._known[service] = self.matrix[self.by_service[service]].tocsr()
        return self._known[service]

    def evidence(
        self,
        texts: list[str],
        services: np.ndarray,
        days: np.ndarray,
        vectors: sp.csr_matrix | None = None,
    ) -> list[Evidence]:
        """The evidence for each query incident (in order)."""
        out: list[Evidence | None] = [None] * len(texts)
        queries = self.vectorizer.transform(texts) if vectors is None else vectors
        for service, where in _groups(services).items():
            members = self.by_service.get(service)
            if members is None:
                continue
            known = self._service_matrix(service)
            for start in range(0, len(where), CHUNK):
                part = where[start : start + CHUNK]
                # sparse x dense is far cheaper than sparse x sparse for a dense-ish result
                sims = (known @ queries[part].toarray().T).T
                for row, i in enumerate(part):
                    out[i] = self._weigh(sims[row], members, float(days[i]))
        return [e if e is not None else _empty() for e in out]

    def _weigh(self, sims: np.ndarray, members: np.ndarray, now: float) -> Evidence:
        """Per-fix weighted outcomes among the neighbours with similarity SIMS."""
        best = float(sims.max()) if sims.size else 0.0
        if best <= 0.0:
            return _empty()
        near = np.flatnonzero(sims >= self.params.relative * best)
        rows = members[near]
        close = sims[near].astype(float)
        # Age counts from the newest neighbour, not from now: a quiet month weakens nothing.
        newest = min(now, float(self.days[rows].max()))
        age = np.maximum(newest - self.days[rows], 0.0)
        weight = (close / best) ** 2 * 0.5 ** (age / self.params.half_life_days)
        outcome = self.success[rows]
        known = ~np.isnan(outcome)
        sol = self.sol[rows]
        n = len(self.solutions)
        wins = np.bincount(sol[known], weight[known] * outcome[known], minlength=n)
        tries = np.bincount(sol[known], weight[known], minlength=n)
        used = np.bincount(sol, weight, minlength=n)
        present = np.flatnonzero(used > 0)
        mean_sim = np.bincount(sol, weight * close, minlength=n)[present] / used[present]
        p = self.params
        posterior = (wins[present] + p.prior_success) / (
            tries[present] + p.prior_success + p.prior_failure
        )
        return Evidence(
            best_similarity=best,
            solutions=[self.solutions[j] for j in present],
            posterior=posterior,
            weight=tries[present],
            share=used[present] / used.sum(),
            similarity=mean_sim,
        )


def _groups(services: np.ndarray) -> dict[str, np.ndarray]:
    """Positions of each service in SERVICES."""
    groups: dict[str, list[int]] = {}
    for position, service in enumerate(services):
        groups.setdefault(str(service), []).append(position)
    return {service: np.array(p, dtype=np.int64) for service, p in groups.items()}


def _empty() -> Evidence:
    """No neighbour at all (an unknown service, or no shared word)."""
    none = np.array([], dtype=float)
    return Evidence(0.0, [], none, none, none, none)
