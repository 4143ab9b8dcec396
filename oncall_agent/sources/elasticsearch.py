"""Polling Elasticsearch for log documents: nothing missed, nothing read twice, gaps reported.

One *pass* reads, in a point in time (PIT), every document whose timestamp lies in
[high - look_back, now + future_allowance], sorted by (timestamp, tiebreaker), page by page with
`search_after`. `high` is the newest timestamp read so far; the overlap of `look_back` picks up
documents that arrived late, and the tiebreaker values of the documents inside the window
(`seen`, kept in the cursor and pruned to the window) drop the ones already read. The cursor
holds the pass in progress (PIT id and last sort values), so a restart mid-pass goes on where
the stored events end; an expired PIT is reopened and the pass continues after the same sort
values. The caller saves `EsBatch.cursor` in the transaction that stores the events.

A cluster that cannot be reached is retried a few times within a read, then backed off across
reads (doubling up to a cap); the outage start is kept in the cursor, and the first read that
succeeds reports the gap. Documents indexed more than `look_back_s` late are not read: that is
the window's documented limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oncall_agent.errors import SourceError, SourceUnavailable
from oncall_agent.integrations.es_client import PageRequest, PitExpired, SearchBackend, SearchPage
from oncall_agent.integrations.es_documents import EsFields, hit_to_event
from oncall_agent.models import LogEvent
from oncall_agent.sources.scope import TargetScope

log = logging.getLogger(__name__)
T = TypeVar("T")
CURSOR_VERSION = 1


class EsSourceConfig(BaseModel):
    """What to read and how: the index, query, fields and the timing of the poller."""

    model_config = ConfigDict(extra="forbid")

    index: str = Field(min_length=1)
    query: dict[str, Any] = Field(default_factory=lambda: {"match_all": {}})
    fields: EsFields = Field(default_factory=EsFields)
    look_back_s: float = Field(default=300.0, ge=0)
    start_window_s: float = Field(default=3600.0, ge=0)
    future_allowance_s: float = Field(default=60.0, ge=0)
    page_size: int = Field(default=500, ge=1, le=10_000)
    pit_keep_alive: str = Field(default="2m", pattern=r"^\d+[smhd]$")
    retry_delays_s: list[float] = Field(default_factory=lambda: [0.5, 2.0])
    backoff_initial_s: float = Field(default=5.0, ge=0)
    backoff_max_s: float = Field(default=300.0, ge=0)
    # Which document services and attribute values actions may use (default: none).
    scope: TargetScope = Field(default_factory=TargetScope)


class _Scan(BaseModel):
    """A pass in progress: its PIT, its time range and the sort values of its last hit."""

    pit_id: str
    floor_ms: int
    ceiling_ms: int
    search_after: list[Any] | None = None


class _Outage(BaseModel):
    """Since when the cluster could not be reached, and the first error seen."""

    since: float
    error: str


class EsCursor(BaseModel):
    """The persisted state of an Elasticsearch source (a JSON object in the store)."""

    version: int = CURSOR_VERSION
    high_ms: int | None = None
    seen: dict[str, int] = Field(default_factory=dict)
    scan: _Scan | None = None
    outage: _Outage | None = None


@dataclass
class EsReadStats:
    """What one read did; the notes say in words what a person should know."""

    pages: int = 0
    hits: int = 0
    duplicates_skipped: int = 0
    missing_tiebreaker: int = 0
    pit_reopened: int = 0
    failed_attempts: int = 0
    unavailable: int = 0
    outages_ended: int = 0
    gap_s: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class EsBatch:
    """New events, the cursor to save once they are stored, and what happened."""

    events: list[LogEvent]
    cursor: dict[str, Any]
    stats: EsReadStats


class ElasticsearchLogSource:
    """Reads log documents from Elasticsearch from a persisted cursor (see the module doc)."""

    def __init__(
        self,
        backend: SearchBackend,
        config: EsSourceConfig,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Read through BACKEND as CONFIG says; CLOCK and SLEEP are injectable for tests."""
        self.backend = backend
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self._backoff_s = 0.0
        self._next_try_at = 0.0

    @property
    def source_key(self) -> str:
        """A default key for this source's cursor (blocks give a key of their own)."""
        return f"elasticsearch:{self.config.index}"

    def read(self, cursor: dict[str, Any], selector: Any = None) -> EsBatch:
        """The next page of new events after CURSOR, or an empty batch while the cluster is down.

        SELECTOR (the file source's line pre-filter) is accepted and unused: the block's query
        already chooses the documents, on the cluster.
        """
        state = _load(cursor)
        stats = EsReadStats()
        if state.outage is not None and self.clock() < self._next_try_at:
            stats.unavailable = 1  # backing off: do not hammer a cluster that is down
            return EsBatch([], _dump(state), stats)
        try:
            events = self._call(lambda: self._read_new(state, stats), stats)
        except SourceUnavailable as exc:
            return self._down(state, exc, stats)
        self._backoff_s, self._next_try_at = 0.0, 0.0
        if state.outage is not None:
            self._report_gap(state.outage, stats)
            state.outage = None
        return EsBatch(events, _dump(state), stats)

    def _call(self, attempt: Callable[[], T], stats: EsReadStats) -> T:
        """ATTEMPT, retried after each of the configured delays while the cluster is down."""
        for delay in [*self.config.retry_delays_s, None]:
            try:
                return attempt()
            except SourceUnavailable:
                stats.failed_attempts += 1
                if delay is None:
                    raise
                self.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _read_new(self, state: EsCursor, stats: EsReadStats) -> list[LogEvent]:
        """Pages until one holds new events or the pass ends.

        Pages of the look-back overlap hold only documents read before; returning after each
        would change the cursor without events, and a caller reading until nothing changes
        would never stop. A pass always ends: its PIT is frozen and search_after only advances.
        """
        while True:
            events = self._read_page(state, stats)
            if events or state.scan is None:
                return events

    def _read_page(self, state: EsCursor, stats: EsReadStats) -> list[LogEvent]:
        """Search the next page of the current pass (starting one if needed) and take it in."""
        scan = state.scan or self._start_pass(state)
        state.scan = scan
        page = self._search(scan, stats)
        scan.pit_id = page.pit_id
        stats.pages += 1
        stats.hits += len(page.hits)
        events = self._take_new(page, state, stats)
        if page.hits:
            scan.search_after = list(page.hits[-1].sort)
        if len(page.hits) < self.config.page_size:
            self._finish_pass(state, scan)
        return events

    def _start_pass(self, state: EsCursor) -> _Scan:
        """Open a PIT over the window: from high - look_back (or the start window) to now."""
        now_ms = int(self.clock() * 1000)
        if state.high_ms is None:
            floor_ms = now_ms - int(self.config.start_window_s * 1000)
        else:
            floor_ms = state.high_ms - int(self.config.look_back_s * 1000)
        ceiling_ms = now_ms + int(self.config.future_allowance_s * 1000)
        pit_id = self.backend.open_pit(self.config.index, self.config.pit_keep_alive)
        return _Scan(pit_id=pit_id, floor_ms=floor_ms, ceiling_ms=ceiling_ms)

    def _search(self, scan: _Scan, stats: EsReadStats) -> SearchPage:
        """The next page of SCAN; an expired PIT is reopened once and the page searched again."""
        try:
            return self.backend.search_page(self._request(scan))
        except PitExpired:
            stats.pit_reopened += 1
            scan.pit_id = self.backend.open_pit(self.config.index, self.config.pit_keep_alive)
            return self.backend.search_page(self._request(scan))

    def _request(self, scan: _Scan) -> PageRequest:
        """The search of SCAN's next page."""
        fields = self.config.fields
        window = {"gte": scan.floor_ms, "lte": scan.ceiling_ms, "format": "epoch_millis"}
        query = {"bool": {"filter": [self.config.query, {"range": {fields.timestamp: window}}]}}
        return PageRequest(
            pit_id=scan.pit_id,
            keep_alive=self.config.pit_keep_alive,
            query=query,
            # numeric_type "date": sort values in epoch milliseconds for date_nanos fields too.
            sort=[
                {fields.timestamp: {"order": "asc", "numeric_type": "date"}},
                {fields.tiebreaker: {"order": "asc"}},
            ],
            size=self.config.page_size,
            search_after=scan.search_after,
            source_fields=fields.source_fields(),
        )

    def _take_new(self, page: SearchPage, state: EsCursor, stats: EsReadStats) -> list[LogEvent]:
        """Events for the hits not seen before; SEEN and HIGH_MS move with them."""
        events = []
        for hit in page.hits:
            if len(hit.sort) < 2 or hit.sort[1] is None or not isinstance(hit.sort[0], int):
                stats.missing_tiebreaker += 1  # no usable sort values: cannot be deduplicated
                continue
            timestamp_ms, key = hit.sort[0], str(hit.sort[1])
            if key in state.seen:
                stats.duplicates_skipped += 1
                continue
            state.seen[key] = timestamp_ms
            state.high_ms = max(state.high_ms or timestamp_ms, timestamp_ms)
            config = self.config
            events.append(hit_to_event(hit, config.fields, config.index, config.scope))
        return events

    def _finish_pass(self, state: EsCursor, scan: _Scan) -> None:
        """Close the pass: release its PIT and keep only the ids inside the next window."""
        self.backend.close_pit(scan.pit_id)
        state.scan = None
        if state.high_ms is None:
            # Nothing found yet: the next pass starts where this one did.
            state.high_ms = scan.floor_ms + int(self.config.look_back_s * 1000)
        floor_ms = state.high_ms - int(self.config.look_back_s * 1000)
        state.seen = {key: ts for key, ts in state.seen.items() if ts >= floor_ms}

    def _down(self, state: EsCursor, exc: SourceUnavailable, stats: EsReadStats) -> EsBatch:
        """An empty batch that records the outage; later reads wait longer and longer."""
        now = self.clock()
        if state.outage is None:
            state.outage = _Outage(since=now, error=str(exc)[:500])
            stats.notes.append(f"Elasticsearch is unreachable since {_iso(now)}: {exc}")
            log.warning("Elasticsearch source %s unreachable: %s", self.config.index, exc)
        self._backoff_s = min(
            max(self._backoff_s * 2, self.config.backoff_initial_s), self.config.backoff_max_s
        )
        self._next_try_at = now + self._backoff_s
        stats.unavailable = 1
        return EsBatch([], _dump(state), stats)

    def _report_gap(self, outage: _Outage, stats: EsReadStats) -> None:
        """Say for how long the cluster was away, and that reading resumed where it stopped."""
        now = self.clock()
        stats.outages_ended = 1
        stats.gap_s = max(0, round(now - outage.since))
        note = (
            f"Elasticsearch was unreachable from {_iso(outage.since)} to {_iso(now)} "
            f"({stats.gap_s}s; first error: {outage.error}); reading resumed from the saved "
            f"cursor, so documents indexed meanwhile are read now; documents indexed more "
            f"than {self.config.look_back_s:g}s after their timestamp are not"
        )
        stats.notes.append(note)
        log.warning("%s", note)


def _load(cursor: dict[str, Any]) -> EsCursor:
    """The cursor as a model; SourceError if it was written by something else."""
    if not cursor:
        return EsCursor()
    try:
        state = EsCursor.model_validate(cursor)
    except ValidationError as exc:
        raise SourceError(f"elasticsearch source: the saved cursor is not valid: {exc}") from exc
    if state.version != CURSOR_VERSION:
        raise SourceError(
            f"elasticsearch source: cursor version {state.version} is not {CURSOR_VERSION}"
        )
    return state


def _dump(state: EsCursor) -> dict[str, Any]:
    """The cursor as the JSON object the store keeps (a deep copy)."""
    return state.model_dump(mode="json")


def _iso(epoch_s: float) -> str:
    """An epoch time in seconds as ISO 8601 UTC."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")
