"""`oncall scan`: what the agent would open and decide for some log files, without side effects.

Nothing is executed or stored and no database is needed: the built-in patterns, the built-in
knowledge entries and the default policy stand in for the store's. Files are streamed through
the file source with the pattern prefilter as its line filter, so memory holds one read batch
and one draft per kind of problem (plus, with `with_lines`, the line numbers of each).

With the rules' `baseline` (the default) the files are their own history (see
`detection.baseline`): a kind of problem present from the files' start at a steady rate is
chatter and is held back, with the reason, instead of opened.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from oncall_agent.detection.baseline import WindowBaseline
from oncall_agent.detection.defaults import DEFAULT_PATTERNS
from oncall_agent.detection.grouping import IncidentGrouper
from oncall_agent.detection.source_rules import DetectionRules, RuledDetector
from oncall_agent.errors import ConfigError
from oncall_agent.gc_tuning import fewer_collections
from oncall_agent.models import Detection, IncidentDraft, LogEvent
from oncall_agent.scan_advice import Advice, advise
from oncall_agent.settings import get_settings
from oncall_agent.sources.files import FileSource, ReadStats
from oncall_agent.sources.parsing import check_parser, parse_line

FIELDS = (
    "fingerprint", "title", "service", "severity", "category", "count",
    "first_seen", "last_seen", "action", "decision", "confidence", "entry", "reasons", "why",
)  # fmt: skip


@dataclass(frozen=True)
class ScanOptions:
    """How to read the files: service override, parser, detection rules, line lists."""

    service: str | None = None
    parser: str = "auto"
    rules: DetectionRules = field(default_factory=DetectionRules)
    with_lines: bool = False
    max_line_bytes: int = field(default_factory=lambda: get_settings().max_line_bytes)


@dataclass
class ScanIncident:
    """One incident the agent would open, what it would do, and the lines grouped into it."""

    draft: IncidentDraft
    timed: bool = False  # whether any of its lines had a timestamp
    lines: list[tuple[str, int]] = field(default_factory=list)
    advice: Advice | None = None
    why: str | None = None  # the baseline's verdict: why it opens, or why it is held back

    def to_json(self, with_lines: bool = False) -> dict[str, Any]:
        """The object `oncall scan --json` prints (with `lines` only when asked)."""
        draft, advice = self.draft, self.advice or Advice()
        row: dict[str, Any] = {
            "fingerprint": draft.fingerprint,
            "title": draft.title,
            "service": draft.service,
            "severity": draft.severity.value,
            "category": draft.category,
            "count": draft.count,
            "first_seen": draft.first_seen.isoformat() if self.timed else None,
            "last_seen": draft.last_seen.isoformat() if self.timed else None,
            "action": advice.action,
            "decision": advice.decision.value,
            "confidence": advice.confidence,
            "entry": advice.entry,
            "reasons": list(advice.reasons),
            "why": self.why,
        }
        if with_lines:
            row["lines"] = [{"file": path, "line": number} for path, number in self.lines]
        return row


@dataclass
class ScanResult:
    """The incidents of a scan, most severe first, and what reading the files found."""

    incidents: list[ScanIncident]
    stats: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    held_back: list[ScanIncident] = field(default_factory=list)  # steady chatter, not opened


def check_paths(paths: list[str]) -> None:
    """Raise a ConfigError naming every path that is missing, a folder, or unreadable."""
    problems = []
    for path in paths:
        if not os.path.exists(path):
            problems.append(f"{path}: no such file")
        elif os.path.isdir(path):
            problems.append(f"{path}: is a folder; give the log files in it (e.g. {path}/*.log)")
        else:
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                problems.append(f"{path}: cannot be read ({exc.strerror or exc})")
    if not paths:
        problems.append("no file given; pass at least one log file")
    if problems:
        raise ConfigError("cannot scan: " + "; ".join(problems))


class _Scan:
    """One scan in progress: the detector, the grouper, and the incidents by fingerprint."""

    def __init__(self, options: ScanOptions, on_bytes: Callable[[int], None] | None) -> None:
        """Prepare to scan with OPTIONS, reporting bytes read to ON_BYTES."""
        self.options = options
        self.on_bytes = on_bytes
        self.detector = _detector(options.rules.model_dump_json())
        self.grouper = IncidentGrouper(samples=get_settings().samples_per_incident)
        self.incidents: dict[str, ScanIncident] = {}
        self.baseline = WindowBaseline() if options.rules.baseline else None
        self.stats: dict[str, int] = {}
        self.notes: list[str] = []

    def file(self, path: str) -> None:
        """Stream the file at PATH (as given) through detection and grouping."""
        source = FileSource(
            [glob.escape(path)],  # a name with [ or * is a file here, not a pattern
            service=self.options.service,
            max_line_bytes=self.options.max_line_bytes,
            flush_after_s=0,  # a scan reads files as they are: the last event is complete
        )
        if self.baseline is not None:
            for moment in file_span(path, self.options.parser):
                self.baseline.observe(moment)
        for events in self._batches(source):
            self._count(path, self.detector.detect_many(self._reparsed(events)))

    def _batches(self, source: FileSource) -> Iterator[list[LogEvent]]:
        """The events of SOURCE batch by batch, to the end of its files."""
        cursor: dict[str, Any] = {}
        while True:
            # The detector's engine selects the lines that may alert; only those become events.
            batch = source.read(cursor, selector=self.detector.engine)
            self._add_stats(batch.stats)
            if self.on_bytes is not None:
                self.on_bytes(batch.stats.bytes_read)
            if not batch.events and batch.cursor == cursor:
                break
            cursor = batch.cursor
            yield batch.events

    def _reparsed(self, events: list[LogEvent]) -> list[LogEvent]:
        """EVENTS read again with the chosen parser (the file source reads with "auto")."""
        if self.options.parser == "auto":
            return events
        return [_reparse(event, self.options.parser, self.options.service) for event in events]

    def _count(self, path: str, detections: list[Detection]) -> None:
        """Group DETECTIONS into incidents; remember their lines if asked."""
        for detection in detections:
            draft = self.grouper.add(detection)
            incident = self.incidents.get(draft.fingerprint)
            if incident is None:
                incident = self.incidents[draft.fingerprint] = ScanIncident(draft)
                _fill_attributes(draft, detection.event)
            incident.timed = incident.timed or detection.event.timestamp is not None
            if self.baseline is not None and detection.event.timestamp is not None:
                self.baseline.add(draft.fingerprint, detection.event.timestamp)
            if self.options.with_lines and detection.event.line_no is not None:
                incident.lines.append((path, detection.event.line_no))

    def _add_stats(self, stats: ReadStats) -> None:
        """Sum the reader's counters and keep its notes (files read again from the start)."""
        for name, value in vars(stats).items():
            if isinstance(value, int):
                self.stats[name] = self.stats.get(name, 0) + value
        self.notes += list(stats.restarts)


@lru_cache(maxsize=8)
def _detector(rules_json: str) -> RuledDetector:
    """The detector for some rules, built once per process (building one takes a while)."""
    return RuledDetector(DEFAULT_PATTERNS, DetectionRules.model_validate_json(rules_json))


def _reparse(event: LogEvent, parser: str, service: str | None) -> LogEvent:
    """EVENT with time, level and service as PARSER reads its line."""
    parsed = parse_line(event.message, parser=parser)
    stem = os.path.splitext(os.path.basename(event.path or ""))[0]
    return event.model_copy(
        update={
            "timestamp": parsed.timestamp,
            "level": parsed.level,
            "service": service or parsed.service or stem or event.service,
            "attributes": {**parsed.attributes, **event.attributes},
        }
    )


def _fill_attributes(draft: IncidentDraft, event: LogEvent) -> None:
    """Give DRAFT the ids its first line carries (dag_id...), which an action may need."""
    if not draft.attributes:
        draft.attributes = dict(parse_line(event.message).attributes)


def _order(incident: ScanIncident) -> tuple[int, int]:
    """Most severe first, then most frequent."""
    return (-incident.draft.severity.rank, -incident.draft.count)


def scan_files(
    paths: list[str],
    options: ScanOptions | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> ScanResult:
    """The incidents the agent would open for PATHS and what it would decide for each."""
    options = options or ScanOptions()
    check_parser(options.parser)
    check_paths(paths)
    with fewer_collections():
        scan = _Scan(options, on_bytes)
        for path in paths:
            scan.file(path)
    incidents, held_back = _split(scan)
    now = datetime.now(UTC)
    for incident in incidents:
        incident.advice = advise(incident.draft, now)
    return ScanResult(incidents=incidents, stats=scan.stats, notes=scan.notes, held_back=held_back)


def _split(scan: _Scan) -> tuple[list[ScanIncident], list[ScanIncident]]:
    """The incidents that open and those the baseline holds back as chatter, each in order."""
    opened: list[ScanIncident] = []
    held: list[ScanIncident] = []
    for incident in sorted(scan.incidents.values(), key=_order):
        if scan.baseline is not None and incident.timed:
            verdict = scan.baseline.judge(incident.draft.fingerprint)
            incident.why = verdict.why
            if not verdict.opens:
                held.append(incident)
                continue
        opened.append(incident)
    return opened, held


SPAN_PROBE_BYTES = 65536
SPAN_PROBE_LINES = 200


def file_span(path: str, parser: str = "auto") -> list[datetime]:
    """The first and last timestamps of the file at PATH (from its head and tail), if any.

    The baseline must know when a file starts and ends, not only when its alerting lines do.
    """
    with open(path, "rb") as handle:
        head = handle.read(SPAN_PROBE_BYTES).decode("utf-8", "replace").splitlines()
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - SPAN_PROBE_BYTES))
        tail = handle.read(SPAN_PROBE_BYTES).decode("utf-8", "replace").splitlines()
    if size > SPAN_PROBE_BYTES:  # a probe may cut a line: drop the cut ends
        head, tail = head[:-1], tail[1:]
    found: list[datetime] = []
    for lines in (head[:SPAN_PROBE_LINES], tail[::-1][:SPAN_PROBE_LINES]):
        moment = next((t for t in map(_timestamp_of(parser), lines) if t is not None), None)
        if moment is not None:
            found.append(moment)
    return found


def _timestamp_of(parser: str) -> Callable[[str], datetime | None]:
    """A function giving the timestamp PARSER reads in a line."""
    return lambda text: parse_line(text, parser=parser).timestamp


def total_bytes(paths: list[str]) -> int:
    """The size of PATHS together, for a progress bar."""
    return sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
