"""Online template mining: masked messages of one kind become one cluster, seen or not before.

Masking replaces the values it recognises (numbers, ids, addresses, paths); what it cannot
recognise (a user name, a table, a word chosen at run time) still differs between two lines of
one kind. The miner groups masked messages the way Drain does (He et al., ICWS 2017): messages
of equal token count, routed through a short prefix tree of their first tokens, join the most
similar cluster of their leaf if enough of their constant tokens agree with its template;
positions where members differ become `<*>`. Changes from Drain: a token holding a placeholder
is routed as a wildcard, and a placeholder against a placeholder neither agrees nor differs
(similarity counts only the template's constant tokens, so `<UUID>` padding cannot pull two
events together); a message seen before goes straight to its cluster (most lines repeat
exactly once masked), which also keeps it in the cluster it first joined. The tree routes by
two tokens, as the Drain paper's depth 4 does (Drain3's code routes by one: measured worse on
real logs, see bench/README.md).

A cluster's `key` is the masked template of its first message and never changes, so an
incident fingerprinted from it stays one incident while the cluster's template generalises.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

WILDCARD = "<*>"
SIMILARITY = 0.6  # share of a cluster's constant tokens a message must agree with to join it
PREFIX_DEPTH = 2  # leading tokens that route a message in the tree
MAX_CHILDREN = 100  # a node with this many children routes further tokens as wildcards
MAX_CLUSTERS = 20000  # beyond this, messages keep their masked template (memory stays bounded)
EXACT_LIMIT = 50000  # remembered masked messages


def _variable(token: str) -> bool:
    """Whether TOKEN is (or holds) a placeholder, so routes and compares as a variable."""
    return "<" in token and ">" in token


@dataclass
class Cluster:
    """Messages of one kind: their template (generalised as members come), key and size."""

    id: int
    key: str
    tokens: list[str]
    size: int = 0

    @property
    def template(self) -> str:
        """The template as mined so far: constant tokens and `<*>` where members differ."""
        return " ".join(self.tokens)


@dataclass
class _Node:
    """A node of the prefix tree: children by token, or (at a leaf) clusters."""

    children: dict[str, _Node] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)


def _similarity(template: list[str], tokens: list[str]) -> tuple[float, int]:
    """(Share of positions that agree, number of wildcards) of TOKENS against TEMPLATE."""
    agree = wildcards = constant = 0
    for mined, token in zip(template, tokens, strict=True):
        if mined == WILDCARD:
            wildcards += 1
        elif _variable(mined) and _variable(token):
            continue
        else:
            constant += 1
            agree += mined == token
    return (agree / constant if constant else 1.0), wildcards


def _merge(template: list[str], tokens: list[str]) -> None:
    """Generalise TEMPLATE in place: every position where TOKENS differ becomes `<*>`."""
    for index, (mined, token) in enumerate(zip(template, tokens, strict=True)):
        if mined != token and mined != WILDCARD:
            template[index] = WILDCARD


class TemplateMiner:
    """Clusters masked messages online; `add` returns the cluster a message belongs to."""

    def __init__(self, similarity: float = SIMILARITY, depth: int = PREFIX_DEPTH) -> None:
        """Join a cluster at SIMILARITY or more; route by the first DEPTH tokens."""
        self.similarity = similarity
        self.depth = depth
        self._roots: dict[int, _Node] = {}
        self._exact: dict[str, Cluster] = {}
        self._clusters: list[Cluster] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many clusters there are."""
        return len(self._clusters)

    def add(self, message: str) -> Cluster:
        """The cluster MESSAGE (masked, single-spaced) joins, created if none is close enough."""
        known = self._exact.get(message)
        if known is not None:
            known.size += 1
            return known
        with self._lock:
            cluster = self._place(message)
            if len(self._exact) < EXACT_LIMIT:
                self._exact[message] = cluster
        return cluster

    def _place(self, message: str) -> Cluster:
        """Find or create the cluster of a message not seen before."""
        tokens = message.split(" ")
        leaf = self._leaf(tokens)
        best, best_score = None, (-1.0, -1)
        for cluster in leaf.clusters:
            score = _similarity(cluster.tokens, tokens)
            if score > best_score:
                best, best_score = cluster, score
        if best is not None and best_score[0] >= self.similarity:
            _merge(best.tokens, tokens)
            best.size += 1
            return best
        cluster = Cluster(id=len(self._clusters), key=message, tokens=tokens, size=1)
        if len(self._clusters) < MAX_CLUSTERS:
            self._clusters.append(cluster)
            leaf.clusters.append(cluster)
        return cluster

    def _leaf(self, tokens: list[str]) -> _Node:
        """The leaf that TOKENS route to (by their count, then their first tokens)."""
        node = self._roots.setdefault(len(tokens), _Node())
        for token in tokens[: self.depth]:
            step = WILDCARD if _variable(token) else token
            child = node.children.get(step)
            if child is None:
                if len(node.children) >= MAX_CHILDREN:
                    step = WILDCARD
                    child = node.children.get(step)
                if child is None:
                    child = node.children[step] = _Node()
            node = child
        return node

    def clusters(self) -> list[Cluster]:
        """Every cluster, in order of creation."""
        return list(self._clusters)
