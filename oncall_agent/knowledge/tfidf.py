"""TF-IDF cosine similarity in pure Python, as scikit-learn's `TfidfVectorizer(stop_words=
"english", sublinear_tf=True)` and `cosine_similarity` compute it (scikit-learn takes ~1 s to
import; the matcher compares one text with a few dozen short documents).

Tokens: runs of two or more word characters, lower-cased, English stop words left out. Weight of
a token in a document: (1 + ln count) * idf, idf = ln((1 + n) / (1 + document frequency)) + 1
over the n documents fitted together; each document's vector has unit length.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from oncall_agent.knowledge.stop_words import ENGLISH_STOP_WORDS

_TOKEN = re.compile(r"(?u)\b\w\w+\b")

Vector = dict[str, float]


def tokens(text: str) -> list[str]:
    """The tokens of TEXT that count (scikit-learn's default analyzer with English stop words)."""
    return [t for t in _TOKEN.findall(text.lower()) if t not in ENGLISH_STOP_WORDS]


def tfidf_vectors(documents: list[str]) -> list[Vector]:
    """Unit-length TF-IDF vectors of DOCUMENTS, fitted on all of them; [] if no token at all."""
    counts = [Counter(tokens(doc)) for doc in documents]
    frequency: Counter[str] = Counter()
    for count in counts:
        frequency.update(count.keys())
    if not frequency:
        return []
    n = len(documents)
    idf = {t: math.log((1 + n) / (1 + df)) + 1.0 for t, df in frequency.items()}
    vectors = []
    for count in counts:
        vector = {t: (1.0 + math.log(c)) * idf[t] for t, c in count.items()}
        norm = math.sqrt(sum(w * w for w in vector.values()))
        vectors.append({t: w / norm for t, w in vector.items()} if norm else {})
    return vectors


def similarities(text: str, documents: list[str]) -> list[float]:
    """Cosine similarity of TEXT with each of DOCUMENTS (TF-IDF fitted on all of them)."""
    vectors = tfidf_vectors([text, *documents])
    if not vectors:
        return [0.0] * len(documents)
    query = vectors[0]
    return [sum(w * other.get(t, 0.0) for t, w in query.items()) for other in vectors[1:]]
