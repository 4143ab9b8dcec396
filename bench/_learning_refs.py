"""The two references of issue 8, fitted on the same training rows as the agent.

- TF-IDF + logistic regression majority classifier: predicts the fix people used most for text
  like this (title, description, service), confidence = its predicted class probability.
- The original design's formula: the same prediction, confidence = (0.5 + success rate) / 2,
  the success rate being that fix's record on that service over the whole history.
Neither abstains, except that a confidence under the policy's approve threshold escalates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bench._learning_score import Answer
from oncall_agent.learning.examples import incident_text
from oncall_agent.learning.synth import SynthRow

APPROVE_THRESHOLD = 0.4


def _texts(rows: Sequence[SynthRow]) -> list[str]:
    """Title, description and the service as a token."""
    return [f"{incident_text(r.title, r.description)} svc_{r.service}" for r in rows]


def _decision(confidence: float) -> str:
    """Escalate under the approve threshold, else ask."""
    return "escalate" if confidence < APPROVE_THRESHOLD else "ask_approval"


def references(
    train: Sequence[SynthRow], test: Sequence[SynthRow]
) -> tuple[list[Answer], list[Answer]]:
    """(majority classifier answers, formula answers) for TEST."""
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    x = vectorizer.fit_transform(_texts(train))
    labels = [r.solution for r in train]
    clf = LogisticRegression(max_iter=2000).fit(x, labels)
    proba = clf.predict_proba(vectorizer.transform(_texts(test)))
    best = proba.argmax(axis=1)
    predicted = [str(clf.classes_[i]) for i in best]
    wins: Counter[tuple[str, str]] = Counter()
    tries: Counter[tuple[str, str]] = Counter()
    for r in train:
        tries[(r.service, r.solution)] += 1
        wins[(r.service, r.solution)] += int(r.success)
    lr, formula = [], []
    for r, fix, p in zip(test, predicted, proba[np.arange(len(test)), best], strict=True):
        lr.append(Answer(fix, float(p), _decision(float(p))))
        n = tries[(r.service, fix)]
        rate = wins[(r.service, fix)] / n if n else 0.0
        conf = (0.5 + rate) / 2
        formula.append(Answer(fix, conf, _decision(conf)))
    return lr, formula
