"""Reading one open log file from a cursor entry in big chunks, into raw events.

The file is read in chunks of CHUNK_BYTES. A selector (a detection engine) names the lines of
each chunk that may alert; only those lines (with their continuation lines) become events.
Everything else is consumed without a Python-level loop over lines: line numbers stay exact by
counting newlines (`bytes.count`) over what is skipped, and over-long lines and invalid UTF-8
are counted per chunk. Without a selector every line becomes an event.

The entry's offset always sits at an event start, `line_no` being the number of lines before
it. The last event read is held back (the entry stays at its start, so it is re-read) until a
line that starts a new event follows it; at the end of the file, an event that may still grow
(see `multiline.may_continue`) stays held until `flush_due()` says the file has been quiet long
enough, and so does a last line without its newline. Once a partial line is flushed, `line_no` is
left one short, so that the rest of that line, when it comes, gets the same number. A line
longer than the cap is cut, and what follows up to its newline is skipped (`skip`), across reads.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from oncall_agent.shutdown import stop_requested
from oncall_agent.sources.multiline import (
    MultilineRules,
    Span,
    event_spans,
    last_event_start,
    line_bounds,
    line_starts,
    may_continue,
)

CHUNK_BYTES = 1024 * 1024
Entry = dict[str, Any]
_NON_ASCII = re.compile(rb"[\x80-\xff]")


class LineSelector(Protocol):
    """Names the lines of a chunk worth turning into events (see detection.engine)."""

    def select_lines(self, chunk: bytes) -> list[int]:
        """Sorted start offsets, in CHUNK (complete lines), of the lines that may matter."""
        ...


@dataclass
class ReadStats:
    """What one read did, for the run's report."""

    files: int = 0
    lines: int = 0
    bytes_read: int = 0
    invalid_utf8_lines: int = 0
    truncated_lines: int = 0
    truncated_bytes: int = 0
    partial_lines_held: int = 0
    partial_lines_flushed: int = 0
    events_held: int = 0  # last events kept back for continuation lines that may follow
    multiline_events: int = 0
    restarts: list[str] = field(default_factory=list)  # "path: why it was read from the start"


@dataclass
class RawEvent:
    """An event as bytes: where it starts, its first line's number, its lines (capped)."""

    offset: int
    line_no: int
    lines: list[bytes]
    cut: int  # bytes cut from its lines by the line cap


@dataclass
class ReadLimits:
    """How a file is read: line cap, multi-line rules, the selector, when to flush the tail."""

    max_line_bytes: int
    multiline: MultilineRules | None
    selector: LineSelector | None
    flush_due: Callable[[], bool]


def count_long_lines(view: bytes, cap: int) -> tuple[int, int]:
    """How many lines of VIEW (complete lines) exceed CAP bytes, and by how many bytes in all.

    Probes every cap/2 bytes for a newline-free window: a line longer than CAP always holds one.
    """
    half = max(cap // 2, 1)
    count = cut = position = 0
    while position + half < len(view):
        if view.find(b"\n", position, position + half + 1) >= 0:
            position += half
            continue
        start, end = line_bounds(view, position)
        if end - 1 - start > cap:
            count, cut = count + 1, cut + end - 1 - start - cap
        position = end
    return count, cut


def count_invalid_utf8(view: bytes, cap: int) -> int:
    """Lines of VIEW whose first CAP bytes are not UTF-8 (a character cut by the cap is fine)."""
    try:
        view.decode("utf-8")
        return 0
    except UnicodeDecodeError:
        pass
    count = position = 0
    while (found := _NON_ASCII.search(view, position)) is not None:
        start, end = line_bounds(view, found.start())
        line = view[start:end].rstrip(b"\n")
        try:
            line[:cap].decode("utf-8")
        except UnicodeDecodeError as exc:
            count += not (len(line) > cap and exc.reason == "unexpected end of data")
        position = end
    return count


class FileReader:
    """Reads raw events from an open file, from where its cursor entry says."""

    def __init__(
        self, handle: BinaryIO, entry: Entry, limits: ReadLimits, stats: ReadStats
    ) -> None:
        """Start at ENTRY's offset; its `skip` mark is taken over."""
        self.handle, self.entry, self.limits, self.stats = handle, entry, limits, stats
        self.pos = int(entry["offset"])
        self.line_no = int(entry["line_no"])
        self.skipping = bool(entry.pop("skip", False))
        self.buf = b""
        self.cut_line: RawEvent | None = None  # an over-long line, emitted once its end is known

    def read(self, budget: int) -> Iterator[RawEvent]:
        """Events until at least BUDGET bytes are consumed or the file ends; updates the entry."""
        start = self.pos
        self.handle.seek(self.pos)
        while True:
            data = self.handle.read(CHUNK_BYTES)
            self.buf += data
            if self.skipping:
                self._skip_rest()
                if self.skipping and data:
                    continue
                yield from self._cut_line_done()
            if not data:
                if not self.skipping:
                    yield from self._at_end()
                break
            yield from self._process(start + budget - self.pos)
            if self.pos - start >= budget or stop_requested():
                break  # a stop request (SIGTERM) ends the batch at this chunk's events
        yield from self._cut_line_done()
        self.stats.bytes_read += self.pos - start
        self.entry["offset"], self.entry["line_no"] = self.pos, self.line_no
        if self.skipping:
            self.entry["skip"] = True

    def _skip_rest(self) -> None:
        """Drop the rest of a cut line, up to and with its newline if it is there yet."""
        newline = self.buf.find(b"\n")
        dropped = len(self.buf) if newline < 0 else newline
        self.stats.truncated_bytes += dropped
        if self.cut_line is not None:
            self.cut_line.cut += dropped
        self.pos += dropped if newline < 0 else newline + 1
        self.buf = b"" if newline < 0 else self.buf[newline + 1 :]
        self.skipping = newline < 0

    def _process(self, remaining: int) -> Iterator[RawEvent]:
        """Emit the complete events of the buffer (all but the last one, which may grow)."""
        cap = self.limits.max_line_bytes
        newline = self.buf.rfind(b"\n")
        if newline < 0:
            if len(self.buf) > cap:
                self._overlong()
            return
        region = self.buf[: newline + 1]
        spans = self._spans(region)
        if self.limits.multiline is None or len(self.buf) - len(region) > cap:
            cut = len(region)  # no event can grow (or an over-long line ends the last one)
        else:
            cut = last_event_start(region, spans)
        if remaining < cut:
            cut = _boundary_after(region, spans, max(remaining, 1))
        yield from self._emit(region, cut, spans)

    def _at_end(self) -> Iterator[RawEvent]:
        """At the end of the file: hold or flush the last event and the partial last line."""
        newline = self.buf.rfind(b"\n")
        flush: bool | None = None
        if newline >= 0:
            region = self.buf[: newline + 1]
            spans = self._spans(region)
            cut = len(region)
            if self.limits.multiline is not None and may_continue(region, spans):
                flush = self.limits.flush_due()
                cut = cut if flush else last_event_start(region, spans)
            yield from self._emit(region, cut, spans)
            if cut < len(region):
                self.stats.events_held += 1
                return
        yield from self._partial_tail(flush)

    def _partial_tail(self, flush: bool | None) -> Iterator[RawEvent]:
        """The last line without its newline: cut if over-long, flushed if quiet, else held."""
        if not self.buf:
            return
        if len(self.buf) > self.limits.max_line_bytes:
            self._overlong()
        elif flush if flush is not None else self.limits.flush_due():
            self.stats.partial_lines_flushed += 1
            yield from self._emit(self.buf + b"\n", len(self.buf) + 1, [], consumed=len(self.buf))
            self.line_no -= 1  # the rest of this line, when it comes, is still this line
        else:
            self.stats.partial_lines_held += 1

    def _overlong(self) -> None:
        """A line past the cap with no newline yet: keep its head, skip the rest up to its end."""
        cap = self.limits.max_line_bytes
        head, rest = self.buf[:cap], len(self.buf) - cap
        self.stats.truncated_lines += 1
        self.stats.truncated_bytes += rest
        self.stats.invalid_utf8_lines += count_invalid_utf8(head + b"\n", cap)
        self.line_no += 1
        self.stats.lines += 1
        selector = self.limits.selector
        if selector is None or selector.select_lines(head + b"\n"):
            self.cut_line = RawEvent(self.pos, self.line_no, [head], rest)
        self.pos += len(self.buf)
        self.buf, self.skipping = b"", True

    def _cut_line_done(self) -> Iterator[RawEvent]:
        """The over-long line being skipped, once its end is found or the read ends."""
        if self.cut_line is not None:
            yield self.cut_line
            self.cut_line = None

    def _spans(self, region: bytes) -> list[Span]:
        """The multi-line events of REGION (none when multi-line joining is off)."""
        rules = self.limits.multiline
        return event_spans(region, rules) if rules is not None else []

    def _emit(
        self, region: bytes, cut: int, spans: list[Span], consumed: int | None = None
    ) -> Iterator[RawEvent]:
        """Emit the selected events of REGION[:CUT] and consume it (CONSUMED bytes of buffer)."""
        if cut <= 0:
            return
        view = region if cut == len(region) else region[:cut]
        self._count(view)
        selector = self.limits.selector
        starts = line_starts(view) if selector is None else selector.select_lines(view)
        span_starts = [s for s, _ in spans]
        counted_at, counted, last_end = 0, self.line_no, 0
        for start in starts:
            if start < last_end:
                continue  # a line of the event just emitted
            first, end = _event_bounds(view, start, spans, span_starts)
            counted += view.count(b"\n", counted_at, first)
            counted_at = first
            yield self._event(view, first, end, counted + 1)
            last_end = end
        counted += view.count(b"\n", counted_at)
        self.stats.lines += counted - self.line_no
        self.line_no = counted
        used = cut if consumed is None else consumed
        self.pos += used
        self.buf = self.buf[used:]

    def _count(self, view: bytes) -> None:
        """Count the over-long lines and invalid UTF-8 of VIEW, whether emitted or not."""
        cap = self.limits.max_line_bytes
        if len(view) > cap:
            lines, cut = count_long_lines(view, cap)
            self.stats.truncated_lines += lines
            self.stats.truncated_bytes += cut
        if not view.isascii():
            self.stats.invalid_utf8_lines += count_invalid_utf8(view, cap)

    def _event(self, view: bytes, first: int, end: int, line_no: int) -> RawEvent:
        """The raw event of VIEW[FIRST:END] (whole lines), each line capped."""
        cap = self.limits.max_line_bytes
        lines, cut = [], 0
        for line in view[first : end - 1].split(b"\n"):
            if len(line) > cap:
                cut += len(line) - cap
                line = line[:cap]
            lines.append(line)
        if len(lines) > 1:
            self.stats.multiline_events += 1
        return RawEvent(self.pos + first, line_no, lines, cut)


def _event_bounds(
    view: bytes, start: int, spans: list[Span], span_starts: list[int]
) -> tuple[int, int]:
    """The event holding the line at START: its span, or the line alone."""
    index = bisect.bisect_right(span_starts, start) - 1
    if index >= 0 and spans[index][1] > start:
        return spans[index]
    return start, view.find(b"\n", start) + 1


def _boundary_after(region: bytes, spans: list[Span], limit: int) -> int:
    """The first event boundary at or after LIMIT bytes into REGION (complete lines)."""
    end = region.find(b"\n", limit - 1) + 1
    index = bisect.bisect_right([s for s, _ in spans], end - 1) - 1
    if index >= 0 and spans[index][1] > end - 1:
        return spans[index][1]
    return end
