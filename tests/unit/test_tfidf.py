"""The pure-Python TF-IDF similarity equals scikit-learn's on the knowledge base's own texts."""

from __future__ import annotations

import pytest

from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.matcher import _entry_document
from oncall_agent.knowledge.tfidf import similarities

QUERIES = [
    "database: connection pool exhausted in api\nconnection pool exhausted size=<NUM>",
    "disk: disk full in orders could not write <PATH>: No space left on device",
    "spark: executor out of memory in spark-driver Container killed by YARN",
    "the and of",  # stop words only
    "zzqx unknown words nowhere else",
]


@pytest.mark.parametrize("query", QUERIES)
def test_similarities_equal_scikit_learn(query: str) -> None:
    """Cosine similarities of a query with every built-in entry agree with scikit-learn's."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    documents = [_entry_document(e) for e in DEFAULT_ENTRIES]
    matrix = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(
        [query, *documents]
    )
    expected = [float(x) for x in cosine_similarity(matrix[0:1], matrix[1:])[0]]
    assert similarities(query, documents) == pytest.approx(expected, abs=1e-12)
    assert any(x > 0 for x in expected) == (query.split()[0] not in ("the", "zzqx"))


def test_nothing_to_compare_gives_zeros() -> None:
    """Texts made only of stop words compare as 0 with everything."""
    assert similarities("the of", ["and the", "of"]) == [0.0, 0.0]
