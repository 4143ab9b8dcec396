"""Multi-line events: stack traces and continuation lines join the line that started them.

A continuation line is one that starts with a space or a tab, "at ", "Caused by:", "... N more",
Python's "Traceback (most recent call last):" (logging writes it after the record's line),
"During handling of the above exception" or "The above exception was the direct cause", a Java
exception line ("java.io.IOException: boom"), or is blank; after a traceback's indented lines,
also the exception line that ends it ("ValueError: x"). Every other line starts an event.

An event holds at most `max_lines` lines and `max_bytes` bytes (Filebeat's 500 lines; 64 KiB):
past that, the next continuation line starts a new event, so nothing is dropped.

Where events end is only known once the next line is there: the reader keeps the last event of
what it has read for the next read (re-reading it from its start, so the cursor never holds
event text) until a line that starts a new event follows. At the end of the file, an event
that may still grow (it already has continuation lines, or its last line opens a trace: an
exception name, "Traceback (most recent call last):", a trailing colon) is held until the file
has been quiet for `flush_after_s`; any other last event is complete as it stands, so a plain
last line is not delayed. Finding events costs a regex over the chunk plus some work per
continuation line: the lines of ordinary logs are never visited one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_MAX_LINES = 500
DEFAULT_MAX_BYTES = 64 * 1024
DEFAULT_FLUSH_AFTER_S = 5.0

# Each regex starts with the newline before the line it finds: `re` then skips ahead with a
# fast literal search instead of trying `^` at every byte. Lookaheads keep the next newline
# unconsumed, so that a continuation line right after a blank one is found too.
_CONTINUATION = re.compile(
    rb"\n(?:[ \t]|(?=\r?\n)|at |Caused by:|\.\.\. \d+ (?:more|common frames omitted)"
    rb"|During handling of the above exception|The above exception was the direct cause"
    rb"|Traceback \(most recent call last\):"
    # Java's exception line after the log record's own line: java.io.IOException: boom
    rb"|(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)(?::|(?=\r?\n)))"
)
_TRACEBACK = re.compile(rb"\nTraceback \(most recent call last\):")
_EXCEPTION_LINE = re.compile(rb"[A-Za-z_][\w.]*(?::|\r?\n)")
# A last line after which continuation lines are likely: a trace has begun.
_OPENER = re.compile(rb"Traceback \(most recent call last\):|(?:Exception|Error|Throwable)\b|:\s*$")
_TRACEBACK_HEADER = b"Traceback (most recent call last):"
Span = tuple[int, int]


@dataclass(frozen=True)
class MultilineRules:
    """Bounds of one multi-line event."""

    max_lines: int = DEFAULT_MAX_LINES
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        """Refuse bounds that would make no event at all."""
        if self.max_lines < 1 or self.max_bytes < 1:
            raise ValueError(
                f"multiline bounds must be >= 1 (max_lines={self.max_lines}, "
                f"max_bytes={self.max_bytes})"
            )


def line_bounds(chunk: bytes, position: int) -> tuple[int, int]:
    """Start and end (after its newline, or the chunk's end) of the line holding POSITION."""
    start = chunk.rfind(b"\n", 0, position) + 1
    end = chunk.find(b"\n", position)
    return start, (len(chunk) if end < 0 else end + 1)


def line_starts(chunk: bytes) -> list[int]:
    """The start offset of every line of CHUNK."""
    if not chunk:
        return []
    starts = [0]
    find, last = chunk.find, len(chunk) - 1
    pos = find(b"\n")
    while 0 <= pos < last:
        starts.append(pos + 1)
        pos = find(b"\n", pos + 1)
    return starts


def _line_end(region: bytes, start: int) -> int:
    """The offset just past the newline of the line starting at START."""
    return region.find(b"\n", start) + 1 or len(region)


def _previous_start(region: bytes, start: int) -> int:
    """The start of the line before the one starting at START (START > 0)."""
    return region.rfind(b"\n", 0, start - 1) + 1


def _is_blank(region: bytes, start: int) -> bool:
    """Whether the line at START holds only whitespace."""
    return not region[start : _line_end(region, start)].strip()


def _traceback_lines(region: bytes, continuation: set[int]) -> None:
    """Add the exception line that ends each Python traceback ("ValueError: x")."""
    headers = [m.start() + 1 for m in _TRACEBACK.finditer(region)]
    if region.startswith(_TRACEBACK_HEADER):
        headers.insert(0, 0)
    for start in headers:
        line, indented = _line_end(region, start), False
        while line < len(region) and line in continuation:
            indented = indented or not _is_blank(region, line)
            line = _line_end(region, line)
        if indented and line < len(region) and _EXCEPTION_LINE.match(region, line):
            continuation.add(line)


def continuation_starts(region: bytes) -> list[int]:
    """Sorted starts of REGION's continuation lines (REGION: complete lines; 0 never counts)."""
    found = {m.start() + 1 for m in _CONTINUATION.finditer(region)}
    _traceback_lines(region, found)
    found.discard(0)  # a region always starts an event
    found.discard(len(region))  # the empty "line" after the last newline
    return sorted(found)


def event_spans(region: bytes, rules: MultilineRules) -> list[Span]:
    """The multi-line events of REGION as sorted (start, end) spans, split at the bounds.

    REGION starts at an event start; a line in no span is an event of its own.
    """
    spans: list[Span] = []
    run: list[int] = []  # the current event: its first line's start, then continuation starts
    run_end = -1
    for start in continuation_starts(region):
        if start != run_end:
            _close(region, run, run_end, rules, spans)
            run = [_previous_start(region, start)]
        run.append(start)
        run_end = _line_end(region, start)
    _close(region, run, run_end, rules, spans)
    return spans


def _close(
    region: bytes, run: list[int], end: int, rules: MultilineRules, spans: list[Span]
) -> None:
    """Append RUN's event (line starts up to END) to SPANS, split where it exceeds RULES."""
    if not run:
        return
    first = run[0]
    lines, size = 0, 0
    for start, stop in zip(run, [*run[1:], end], strict=True):
        length = stop - start
        if lines and (lines >= rules.max_lines or size + length > rules.max_bytes):
            spans.append((first, start))
            first, lines, size = start, 0, 0
        lines, size = lines + 1, size + length
    spans.append((first, end))


def may_continue(region: bytes, spans: list[Span]) -> bool:
    """Whether the last event of REGION (complete lines) may still get continuation lines."""
    if spans and spans[-1][1] == len(region):
        return True
    last = region[region.rfind(b"\n", 0, len(region) - 1) + 1 :]
    return _OPENER.search(last) is not None


def last_event_start(region: bytes, spans: list[Span]) -> int:
    """Where the last event of REGION (complete lines) starts."""
    if spans and spans[-1][1] == len(region):
        return spans[-1][0]
    return region.rfind(b"\n", 0, len(region) - 1) + 1
