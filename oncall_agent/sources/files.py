"""Tailing log files from a persisted cursor, at least once, with bounded memory.

The cursor holds, per file, its identity (device, inode, a hash of its first bytes) and the
byte offset after the last event read. When a watched file is opened again:
- same identity, size >= offset: go on from the offset (a restart neither re-reads nor skips);
- same inode but size < offset (copytruncate) or other first bytes: read from the start, after
  draining the unread tail from the copy beside it (same first bytes), if there is one;
- another inode (rotated or replaced): read the new file from the start, after draining the
  old one if it is still in the folder under another name. Rotated files stay in the cursor
  (marked "rotated") while they exist, since a writer may append to them until it reopens.
Reading itself (chunks, caps, multi-line events, the held-back last event) is `file_reader`'s.
The caller saves `ReadBatch.cursor` only after storing what it covers.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from oncall_agent.errors import SourceError
from oncall_agent.models import LogEvent
from oncall_agent.shutdown import stop_requested
from oncall_agent.sources.file_identity import (
    Entry,
    find_inode,
    fresh_entry,
    head_hash,
    open_rotated,
    predecessor,
    refresh_head,
    same_head,
    same_inode,
    same_inode_anywhere,
    unseen_siblings,
)
from oncall_agent.sources.file_reader import (
    FileReader,
    LineSelector,
    RawEvent,
    ReadLimits,
    ReadStats,
)
from oncall_agent.sources.multiline import DEFAULT_FLUSH_AFTER_S, MultilineRules
from oncall_agent.sources.parsing import check_parser, parse_line
from oncall_agent.sources.scope import NO_SCOPE, TargetScope

__all__ = ["DEFAULT_MAX_BYTES", "FileSource", "LineSelector", "ReadBatch", "ReadStats"]

CURSOR_VERSION = 1
DEFAULT_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class ReadBatch:
    """Events read, the cursor to save once they are stored, and what happened."""

    events: list[LogEvent]
    cursor: dict[str, Any]
    stats: ReadStats


@dataclass
class _Pass:
    """One read in progress: the saved entries, the files done so far, the byte budget."""

    old: dict[str, Entry]
    current: list[str]
    since: float | None
    max_bytes: int
    selector: LineSelector | None
    started: float = field(default_factory=time.time)
    stats: ReadStats = field(default_factory=ReadStats)
    events: list[LogEvent] = field(default_factory=list)
    files: dict[str, Entry] = field(default_factory=dict)


@lru_cache(maxsize=1024)
def _stem(path: str) -> str:
    """The file name without its extension: the service when nothing else names one."""
    return Path(path).stem


def _decode(data: bytes, cap: int) -> str:
    """UTF-8 text of one line; invalid bytes become U+FFFD (a cap splitting a character: cut)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(data) >= cap and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8", "replace")
        return data.decode("utf-8", "replace")


class FileSource:
    """Log files (paths or glob patterns) read incrementally from a cursor."""

    def __init__(
        self,
        paths: list[str],
        service: str | None = None,
        max_line_bytes: int = 65536,
        line_filter: Callable[[str], bool] | None = None,
        multiline: MultilineRules | None = MultilineRules(),
        flush_after_s: float = DEFAULT_FLUSH_AFTER_S,
        parser: str = "auto",
        scope: TargetScope = NO_SCOPE,
    ) -> None:
        """Read PATHS; SERVICE overrides the parsed one; LINE_FILTER may drop events early.

        SCOPE says which parsed services and values actions may use (default: none; a fixed
        SERVICE is always one).

        MULTILINE joins stack traces (None: every line is an event); a trace at the end of a
        file and a last line without newline are held until the file has been quiet for
        FLUSH_AFTER_S (0 for a one-shot scan of files nobody writes). PARSER names the line
        format (see parsing.PARSER_NAMES; "auto" guesses per line).
        """
        if not paths:
            raise SourceError("file source: no paths given; pass at least one file or glob")
        if max_line_bytes < 1:
            raise SourceError(f"file source: max_line_bytes must be >= 1, got {max_line_bytes}")
        if flush_after_s < 0:
            raise SourceError(f"file source: flush_after_s must be >= 0, got {flush_after_s}")
        self.paths = list(paths)
        self.service = service
        self.max_line_bytes = max_line_bytes
        # An optimisation hook (such as PatternSet.may_match): an event it rejects is consumed
        # and counted, but never parsed.
        self.line_filter = line_filter
        self.multiline = multiline
        self.flush_after_s = flush_after_s
        self.parser = check_parser(parser)
        self.scope = scope

    @property
    def source_key(self) -> str:
        """The key this source's cursor is saved under."""
        return "files:" + "|".join(sorted(self.paths))

    def expand(self) -> list[str]:
        """The regular files the paths and globs name now: absolute, sorted, no duplicates."""
        found: set[str] = set()
        for pattern in self.paths:
            matches = glob.glob(pattern) if glob.has_magic(pattern) else [pattern]
            found.update(os.path.abspath(m) for m in matches if os.path.isfile(m))
        return sorted(found)

    def configuration_problems(self) -> list[str]:
        """Paths and globs that name no regular file now (a typo, an unmounted folder)."""
        return [
            f"file source: {pattern!r} matches no file; fix the path or glob in the source block"
            for pattern in self.paths
            if not any(os.path.isfile(m) for m in glob.glob(pattern))
        ]

    def read(
        self,
        cursor: dict[str, Any],
        max_bytes: int = DEFAULT_MAX_BYTES,
        selector: LineSelector | None = None,
    ) -> ReadBatch:
        """New events since CURSOR (stopping past MAX_BYTES) and the cursor after them.

        With a SELECTOR (a detection engine), only the lines it selects become events; the
        others are consumed and counted all the same.
        """
        old = {p: dict(e) for p, e in (cursor or {}).get("files", {}).items()}
        since = (cursor or {}).get("since")
        run = _Pass(old, self.expand(), since, max_bytes=max_bytes, selector=selector)
        for path in self._away_from_watch(run):
            self._read_path(path, run, rotated=True)
        for path in run.current:
            self._read_path(path, run, rotated=False)
        # "since": when watching began, so generations rotated away before the first file
        # was ever read (the log did not exist yet at the first read) are still news.
        since = (cursor or {}).get("since", run.started)
        cursor = {"version": CURSOR_VERSION, "files": run.files, "since": since}
        return ReadBatch(run.events, cursor, run.stats)

    @staticmethod
    def _away_from_watch(run: _Pass) -> list[str]:
        """Known files no watched name holds now (rotated earlier, or renamed away), found again.

        Each is followed to its present name (app.log.1 may have become app.log.2).
        """
        found: dict[str, None] = {}
        for path, entry in list(run.old.items()):
            if path in run.current:
                continue
            try:
                here = same_inode(entry, os.stat(path))
            except OSError:
                here = False
            where = path if here else find_inode(os.path.dirname(path), entry)
            if where and where not in run.current:
                run.old[where] = {**entry, "rotated": True}
                found[where] = None
        return list(found)

    def _read_path(self, path: str, run: _Pass, rotated: bool) -> None:
        """Read one file's new events into RUN (draining its predecessor first)."""
        if path in run.files:
            return  # already drained in this pass
        if run.stats.bytes_read >= run.max_bytes or stop_requested():
            if path in run.old:
                run.files[path] = run.old[path]  # not reached this time: keep where it was
            return
        try:
            opened = open_rotated(path, run.old) if rotated else (path, open(path, "rb"))  # noqa: SIM115
            if opened is None:
                return
            path, handle = opened
            with handle:
                entry = self._read_open(path, handle, run, rotated)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise SourceError(f"file source: cannot read {path}: {exc}") from exc
        if entry is not None:
            entry.pop("rotated", None)
            run.files[path] = (entry | {"rotated": True}) if rotated else entry

    def _read_open(self, path: str, handle: BinaryIO, run: _Pass, rotated: bool) -> Entry | None:
        """Read the open file at PATH from where its entry says; its new entry (None: skip)."""
        stat = os.fstat(handle.fileno())
        drained = None if rotated else self._drain_predecessor(path, stat, handle, run)
        if not rotated and (drained or not same_inode_anywhere(run.old.values(), stat)):
            self._drain_unseen(path, stat, run)
        entry = self._resume(path, stat, handle, run, drained)
        if entry is None:
            return None
        run.stats.files += 1
        refresh_head(handle, entry)  # before reading: the head names what was there at open
        saved, events = dict(entry), len(run.events)
        head = head_hash(handle, int(entry["head_len"]))
        reader = FileReader(handle, entry, self._limits(handle, run, rotated), run.stats)
        for raw in reader.read(run.max_bytes - run.stats.bytes_read):
            if stop_requested():
                # Asked to stop (SIGTERM) mid-chunk: drop this file's events of this read and
                # keep its entry where it was, so what is stored and the cursor still agree.
                del run.events[events:]
                return saved
            self._emit(path, raw, run)
        if self._changed_under_us(handle, entry, head):
            # Truncated (copytruncate) and rewritten while we read: what we read past the
            # truncation is another generation's middle. Drop it; the next read drains the
            # copy from the saved offset, then the new file from its start.
            del run.events[events:]
            run.stats.restarts.append(f"{path}: rewritten while being read; read again next time")
            if not rotated and saved.get("seen") is None:
                saved["seen"] = run.started  # it was looked at (see _drain_unseen)
            return saved
        refresh_head(handle, entry)
        if not rotated and (saved.get("seen") is None or entry["offset"] != saved["offset"]):
            entry["seen"] = run.started  # last read under the watched name (see _drain_unseen)
        return entry

    @staticmethod
    def _changed_under_us(handle: BinaryIO, entry: Entry, head: str) -> bool:
        """Whether the open file shrank below ENTRY's offset or its head changed while read."""
        if os.fstat(handle.fileno()).st_size < int(entry["offset"]):
            return True
        return head_hash(handle, int(entry["head_len"])) != head

    def _limits(self, handle: BinaryIO, run: _Pass, rotated: bool) -> ReadLimits:
        """How to read HANDLE: a rotated file is done being written, so its tail is flushed."""

        def flush_due() -> bool:
            quiet_s = time.time() - os.fstat(handle.fileno()).st_mtime
            return rotated or quiet_s >= self.flush_after_s

        return ReadLimits(self.max_line_bytes, self.multiline, run.selector, flush_due)

    def _drain_predecessor(
        self, path: str, stat: os.stat_result, handle: BinaryIO, run: _Pass
    ) -> str | None:
        """If PATH's saved file moved away (rotation, copy), read its unread tail first."""
        previous = run.old.get(path)
        if previous is None or previous.get("rotated"):
            return None
        found = predecessor(path, previous, stat, handle)
        if not found or found[0] in run.current:
            return None
        if found[0] not in run.files:
            run.old[found[0]] = {**found[1], "rotated": True}
            self._read_path(found[0], run, rotated=True)
        return found[0]

    def _drain_unseen(self, path: str, stat: os.stat_result, run: _Pass) -> None:
        """A watched name rotated (renamed, or copied and truncated): read the generations that
        came and went between two reads, which the cursor never saw.

        Entries keep `seen`, the last read that found them under the watched name and moved;
        a sibling written after the latest of those is a generation we never saw.
        """
        folder, base = os.path.split(path)
        seen = [
            float(e.get("seen", 0.0))
            for p, e in run.old.items()
            if os.path.dirname(p) == folder and os.path.basename(p).startswith(base)
        ]
        after = max(seen, default=0.0) or float(run.since or 0.0)
        if after <= 0:
            return  # never watched before: older files are history, not news
        known = [*run.old.values(), fresh_entry(stat)]  # never the file just opened
        for sibling in unseen_siblings(path, known, after, run.current):
            run.old[sibling] = fresh_entry(os.stat(sibling)) | {"rotated": True}
            run.stats.restarts.append(f"{path}: read {sibling}, rotated before it was seen")
            self._read_path(sibling, run, rotated=True)

    @staticmethod
    def _resume(
        path: str, stat: os.stat_result, handle: BinaryIO, run: _Pass, drained: str | None
    ) -> Entry | None:
        """The entry to go on from: this path's, a moved file's, or a fresh one (None: skip)."""
        entry = run.old.get(path)
        tail = f"; its unread tail was read from {drained}" if drained else ""
        if entry is not None and same_inode(entry, stat):
            if stat.st_size < int(entry["offset"]):
                run.stats.restarts.append(f"{path}: truncated below the saved offset{tail}")
            elif not same_head(entry, stat, handle):
                run.stats.restarts.append(f"{path}: rewritten (its first bytes changed){tail}")
            else:
                return dict(entry)
            return None if entry.get("rotated") else fresh_entry(stat)
        for other in run.old.values():
            if same_inode(other, stat) and same_head(other, stat, handle):
                return {k: v for k, v in other.items() if k != "rotated"}  # renamed file
        if entry is not None:
            if entry.get("rotated"):
                return None  # a rotated name now holds a file we never watched
            why = "rotated" if drained else "replaced by another file (new inode)"
            run.stats.restarts.append(f"{path}: {why}{tail}")
        return fresh_entry(stat)

    def _emit(self, path: str, raw: RawEvent, run: _Pass) -> None:
        """Decode RAW, filter and parse it (its first line), and append its event."""
        texts = [_decode(line, self.max_line_bytes).rstrip("\r") for line in raw.lines]
        kept = [text for text in texts if text.strip()]
        if not kept:
            return
        if self.line_filter is not None and not self.line_filter("\n".join(kept)):
            return
        parsed = parse_line(kept[0], parser=self.parser)
        message = parsed.message if len(kept) == 1 else "\n".join([parsed.message, *kept[1:]])
        named = parsed.service or _stem(path)
        run.events.append(
            LogEvent(
                source=f"file:{path}",
                message=message,
                service=self.service or named,
                timestamp=parsed.timestamp,
                level=parsed.level,
                path=path,
                line_no=raw.line_no,
                offset=raw.offset,
                truncated_bytes=raw.cut,
                attributes=dict(parsed.attributes),
                targets=self.scope.targets(self.service, named, parsed.attributes),
            )
        )
