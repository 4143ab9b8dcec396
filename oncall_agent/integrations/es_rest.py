"""The real Elasticsearch backend: the official client, its retries off, its errors translated.

The source backs off itself (it knows what a retry means for its cursor), so the client makes
one attempt per call, each under a request timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import elastic_transport
from elasticsearch import ApiError, Elasticsearch

from oncall_agent.errors import ConfigError, SourceError, SourceUnavailable
from oncall_agent.integrations.es_client import PageRequest, PitExpired, SearchHit, SearchPage

_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


def connect(
    hosts: Sequence[str],
    *,
    api_key: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    request_timeout_s: float = 10.0,
    verify_certs: bool = True,
    ca_certs: str | None = None,
) -> Elasticsearch:
    """An official client for HOSTS with a request timeout and no retries of its own."""
    options: dict[str, Any] = {"ca_certs": ca_certs} if ca_certs else {}
    return Elasticsearch(
        list(hosts),
        api_key=api_key,
        basic_auth=basic_auth,
        request_timeout=request_timeout_s,
        max_retries=0,
        retry_on_timeout=False,
        verify_certs=verify_certs,
        **options,
    )


class ElasticsearchBackend:
    """SearchBackend over the official `elasticsearch` client."""

    def __init__(self, client: Elasticsearch) -> None:
        """Use CLIENT (built by `connect`, or by the caller with its own settings)."""
        self.client = client

    def open_pit(self, index: str, keep_alive: str) -> str:
        """Open a point in time over INDEX; SourceError if no index matches."""
        try:
            response = self.client.open_point_in_time(index=index, keep_alive=keep_alive)
        except (ApiError, elastic_transport.TransportError) as exc:
            raise translate_error(exc, f"opening a point in time over {index!r}") from exc
        return str(response["id"])

    def close_pit(self, pit_id: str) -> None:
        """Close PIT_ID; a missing one or a cluster that is down is ignored (it expires anyway)."""
        try:
            self.client.close_point_in_time(id=pit_id)
        except (ApiError, elastic_transport.TransportError):
            return

    def search_page(self, request: PageRequest) -> SearchPage:
        """One page of hits sorted as REQUEST says, after its search_after values."""
        body: dict[str, Any] = {
            "pit": {"id": request.pit_id, "keep_alive": request.keep_alive},
            "query": request.query,
            "sort": request.sort,
            "size": request.size,
            "track_total_hits": False,
        }
        if request.search_after is not None:
            body["search_after"] = request.search_after
        if request.source_fields is not None:
            body["_source"] = request.source_fields
        try:
            response = self.client.search(body=body)
        except (ApiError, elastic_transport.TransportError) as exc:
            if isinstance(exc, ApiError) and exc.meta.status == 404:
                raise PitExpired(f"point in time is gone: {_reason(exc)}") from exc
            raise translate_error(exc, "searching a page") from exc
        hits = [_hit(raw) for raw in response["hits"]["hits"]]
        return SearchPage(hits=hits, pit_id=str(response.get("pit_id", request.pit_id)))


def _hit(raw: dict[str, Any]) -> SearchHit:
    """A SearchHit from one element of hits.hits."""
    return SearchHit(
        index=str(raw.get("_index", "")),
        doc_id=str(raw.get("_id", "")),
        source=dict(raw.get("_source") or {}),
        sort=list(raw.get("sort") or []),
    )


def translate_error(exc: Exception, doing: str) -> SourceError | ConfigError:
    """The project error for a client error raised while DOING something."""
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status in _TRANSIENT_STATUS:
            return SourceUnavailable(f"Elasticsearch answered {status} {doing}: {_reason(exc)}")
        if status in (401, 403):
            return ConfigError(
                f"Elasticsearch refused the credentials ({status}) {doing}: {_reason(exc)}; "
                "check api_key or username/password in the ElasticsearchSource block"
            )
        return SourceError(
            f"Elasticsearch refused the request ({status}) {doing}: {_reason(exc)}; check the "
            "block's index_pattern, query, timestamp_field and tiebreaker_field (a sortable "
            "keyword or numeric field)"
        )
    return SourceUnavailable(f"Elasticsearch is unreachable {doing}: {type(exc).__name__}: {exc}")


def _reason(exc: ApiError) -> str:
    """The most specific reason Elasticsearch gave, with its error type."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        cause = causes[0] if isinstance(causes[0], dict) else error
        return f"{cause.get('type', 'error')}: {cause.get('reason', '')}".strip()
    return str(exc.message)
