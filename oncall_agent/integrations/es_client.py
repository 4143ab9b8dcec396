"""Elasticsearch behind a small interface: open and close a point in time, search one page.

The real adapter (`es_rest.ElasticsearchBackend`, over the official `elasticsearch` client) is
imported only by the block that builds it; tests may pass any object with these methods.
Errors an implementation raises:

    connection refused, timeout, 429, 5xx   -> SourceUnavailable  (retry later)
    404 on a point-in-time search           -> PitExpired         (open a new one, go on)
    credentials refused (401, 403)          -> ConfigError        (fix the block)
    anything else (query, mapping)          -> SourceError        (names what to fix)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from oncall_agent.errors import SourceError


class PitExpired(SourceError):
    """The point in time is gone (expired or closed): open a new one and search on from there."""


@dataclass(frozen=True)
class SearchHit:
    """One document of a page: where it lives, its source and its sort values."""

    index: str
    doc_id: str
    source: dict[str, Any]
    sort: list[Any]


@dataclass(frozen=True)
class SearchPage:
    """One page of hits and the point-in-time id to use for the next page."""

    hits: list[SearchHit]
    pit_id: str


@dataclass(frozen=True)
class PageRequest:
    """A search of one page inside a point in time, after the given sort values."""

    pit_id: str
    keep_alive: str
    query: dict[str, Any]
    sort: list[dict[str, Any]]
    size: int
    search_after: list[Any] | None = None
    source_fields: list[str] | None = None


class SearchBackend(Protocol):
    """What the Elasticsearch source needs from a cluster."""

    def open_pit(self, index: str, keep_alive: str) -> str:
        """Open a point in time over INDEX (a name, pattern or comma list); return its id."""
        ...

    def close_pit(self, pit_id: str) -> None:
        """Close a point in time; one that is already gone is fine."""
        ...

    def search_page(self, request: PageRequest) -> SearchPage:
        """The page REQUEST asks for."""
        ...
