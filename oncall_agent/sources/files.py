"""Tailing log files from a persisted cursor, at least once, with bounded memory.

The cursor holds, per file, its identity (device, inode, a hash of its first bytes) and the
byte offset after the last complete line read. On the next read:
- same identity, size >= offset: go on from the offset (a restart neither re-reads nor skips);
- same inode but size < offset (copytruncate) or other first bytes: read from the start;
- another inode under the name (replaced or rotated): read the new file from the start, and
  drain the old one if it is still in its folder under another name (rename rotation loses
  nothing); a known file found under a new name goes on from its offset.
A last line without its newline is held back (re-read next time) unless it is already longer
than the line cap. The caller saves `ReadBatch.cursor` only after storing what it covers.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from oncall_agent.errors import SourceError
from oncall_agent.models import LogEvent
from oncall_agent.sources.parsing import parse_line

CURSOR_VERSION = 1
HEAD_BYTES = 1024  # how much of a file's start identifies it
CHUNK_BYTES = 256 * 1024
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
Entry = dict[str, Any]


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
    restarts: list[str] = field(default_factory=list)  # "path: why it was read from the start"


@dataclass
class ReadBatch:
    """Events read, the cursor to save once they are stored, and what happened."""

    events: list[LogEvent]
    cursor: dict[str, Any]
    stats: ReadStats


@dataclass
class _Line:
    """One line: where it starts, the bytes kept (at most the cap), how many were cut."""

    offset: int
    data: bytes
    cut: int


@lru_cache(maxsize=1024)
def _stem(path: str) -> str:
    """The file name without its extension: the service when nothing else names one."""
    return Path(path).stem


def _identity(stat: os.stat_result) -> tuple[int, int]:
    """Device and inode: who a file is, whatever its name."""
    return (stat.st_dev, stat.st_ino)


def _head_hash(handle: BinaryIO, length: int) -> str:
    """Hash of the first LENGTH bytes of the file."""
    handle.seek(0)
    return hashlib.sha256(handle.read(length)).hexdigest()[:32]


def _same_inode(entry: Entry, stat: os.stat_result) -> bool:
    """Whether ENTRY was written for the file with this device and inode."""
    return (entry.get("dev"), entry.get("inode")) == _identity(stat)


def _same_head(entry: Entry, stat: os.stat_result, handle: BinaryIO) -> bool:
    """Whether the file still starts with the bytes ENTRY saw."""
    length = int(entry.get("head_len", 0))
    if length == 0:
        return True
    return stat.st_size >= length and _head_hash(handle, length) == entry.get("head")


def _fresh(stat: os.stat_result) -> Entry:
    """A cursor entry for reading a file from its start."""
    dev, inode = _identity(stat)
    return {"dev": dev, "inode": inode, "head": "", "head_len": 0, "offset": 0, "line_no": 0}


def _replaced_note(path: str, entry: Entry, old: dict[str, Entry]) -> str:
    """Why PATH is read from the start: rotated away (and where to), or replaced."""
    for other_path, other in old.items():
        if other.get("rotated") and (other.get("dev"), other.get("inode")) == (
            entry.get("dev"),
            entry.get("inode"),
        ):
            return f"{path}: rotated; the previous file is drained from {other_path}"
    return f"{path}: replaced by another file (new inode)"


class FileSource:
    """Log files (paths or glob patterns) read incrementally from a cursor."""

    def __init__(
        self,
        paths: list[str],
        service: str | None = None,
        max_line_bytes: int = 65536,
        line_filter: Callable[[str], bool] | None = None,
    ) -> None:
        """Read PATHS; SERVICE overrides the parsed one; LINE_FILTER may drop lines early."""
        if not paths:
            raise SourceError("file source: no paths given; pass at least one file or glob")
        if max_line_bytes < 1:
            raise SourceError(f"file source: max_line_bytes must be >= 1, got {max_line_bytes}")
        self.paths = list(paths)
        self.service = service
        self.max_line_bytes = max_line_bytes
        # An optimisation hook (such as PatternSet.may_match): a line it rejects is consumed
        # and counted, but never parsed nor turned into an event.
        self.line_filter = line_filter

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

    def read(self, cursor: dict[str, Any], max_bytes: int = DEFAULT_MAX_BYTES) -> ReadBatch:
        """New complete lines since CURSOR (stopping past MAX_BYTES) and the cursor after them."""
        old: dict[str, Entry] = {p: dict(e) for p, e in (cursor or {}).get("files", {}).items()}
        current = self.expand()
        rotated = self._rotated(old, current)
        stats = ReadStats()
        events: list[LogEvent] = []
        files: dict[str, Entry] = {}
        for path in rotated + current:
            if stats.bytes_read >= max_bytes:
                if path in old:
                    files[path] = old[path]  # not reached this time: keep where it was
                continue
            entry = self._read_file(path, old, path in rotated, events, stats, max_bytes)
            if entry is not None:
                files[path] = entry
        return ReadBatch(events, {"version": CURSOR_VERSION, "files": files}, stats)

    def _rotated(self, old: dict[str, Entry], current: list[str]) -> list[str]:
        """Files renamed away from a watched name that may still hold unread lines."""
        rotated = [p for p, e in old.items() if e.get("rotated") and p not in current]
        for path, previous in list(old.items()):
            moved = None if previous.get("rotated") else self._find_moved(path, previous)
            if moved and moved not in current:
                old[moved] = {**previous, "rotated": True}
                if moved not in rotated:
                    rotated.append(moved)
        return rotated

    @staticmethod
    def _find_moved(path: str, entry: Entry) -> str | None:
        """Where ENTRY's file went if PATH is gone or is now another file (same folder)."""
        try:
            if _same_inode(entry, os.stat(path)):
                return None
        except FileNotFoundError:
            pass  # renamed away and not created again yet
        except OSError:
            return None
        try:
            with os.scandir(os.path.dirname(path)) as listing:
                for item in listing:
                    # DirEntry.inode() needs no system call: stat only the likely one.
                    if item.inode() == entry.get("inode") and _same_inode(
                        entry, item.stat(follow_symlinks=False)
                    ):
                        return os.path.abspath(item.path)
        except OSError:
            return None
        return None

    def _read_file(
        self,
        path: str,
        old: dict[str, Entry],
        rotated: bool,
        events: list[LogEvent],
        stats: ReadStats,
        max_bytes: int,
    ) -> Entry | None:
        """Append one file's new lines to EVENTS; its new cursor entry (None: forget it)."""
        try:
            with open(path, "rb") as handle:
                stat = os.fstat(handle.fileno())
                entry = self._resume(path, stat, handle, old, stats)
                if entry is None:
                    return None
                stats.files += 1
                budget = max_bytes - stats.bytes_read
                for line in self._scan(handle, entry, budget, stats):
                    self._emit(path, line, entry, events, stats)
                self._refresh_head(handle, entry)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceError(f"file source: cannot read {path}: {exc}") from exc
        entry.pop("rotated", None)
        return (entry | {"rotated": True}) if rotated else entry

    @staticmethod
    def _resume(
        path: str,
        stat: os.stat_result,
        handle: BinaryIO,
        old: dict[str, Entry],
        stats: ReadStats,
    ) -> Entry | None:
        """The entry to go on from: this path's, a moved file's, or a fresh one."""
        entry = old.get(path)
        if entry is not None and _same_inode(entry, stat):
            if stat.st_size < int(entry["offset"]):
                stats.restarts.append(f"{path}: truncated below the saved offset")
            elif not _same_head(entry, stat, handle):
                stats.restarts.append(f"{path}: rewritten (its first bytes changed)")
            else:
                return dict(entry)
            return None if entry.get("rotated") else _fresh(stat)
        for other in old.values():
            if _same_inode(other, stat) and _same_head(other, stat, handle):
                return dict(other)  # the same file under a new name
        if entry is not None:
            if entry.get("rotated"):
                return None  # a rotated name now holds a file we never watched
            stats.restarts.append(_replaced_note(path, entry, old))
        return _fresh(stat)

    @staticmethod
    def _refresh_head(handle: BinaryIO, entry: Entry) -> None:
        """Grow the identifying head hash as the file grows, up to HEAD_BYTES."""
        length = min(HEAD_BYTES, os.fstat(handle.fileno()).st_size)
        if length > int(entry["head_len"]):
            entry["head_len"] = length
            entry["head"] = _head_hash(handle, length)

    def _scan(
        self, handle: BinaryIO, entry: Entry, budget: int, stats: ReadStats
    ) -> Iterator[_Line]:
        """Lines from the entry's offset, read in chunks and capped; moves the entry's offset."""
        start = pos = base = int(entry["offset"])
        skipping = bool(entry.pop("skip", False))  # discarding the rest of an over-long line
        kept, cut = bytearray(), 0
        handle.seek(pos)
        while pos - start < budget and (chunk := handle.read(CHUNK_BYTES)):
            index = 0
            while index < len(chunk) and pos - start < budget:
                newline = chunk.find(b"\n", index)
                end = len(chunk) if newline < 0 else newline
                take = min(0 if skipping else max(0, self.max_line_bytes - len(kept)), end - index)
                kept += chunk[index : index + take]
                cut += end - index - take
                if newline < 0:
                    break
                if skipping:
                    stats.truncated_bytes += cut
                else:
                    yield _Line(pos, bytes(kept), cut)
                pos, index = base + newline + 1, newline + 1
                kept, cut, skipping = bytearray(), 0, False
            base += len(chunk)
        stats.bytes_read += pos - start
        entry["offset"] = pos
        if skipping or cut:
            yield from self._overlong_tail(entry, _Line(pos, bytes(kept), cut), skipping, stats)
        elif kept:
            stats.partial_lines_held += 1  # no newline yet: read again next time

    @staticmethod
    def _overlong_tail(
        entry: Entry, line: _Line, skipping: bool, stats: ReadStats
    ) -> Iterator[_Line]:
        """A last line already over the cap, no newline yet: emit it now, discard the rest."""
        if skipping:
            stats.truncated_bytes += line.cut
        else:
            yield line
        consumed = len(line.data) + line.cut
        entry["offset"] = line.offset + consumed
        entry["skip"] = True  # what follows, up to the newline, belongs to this line
        stats.bytes_read += consumed

    def _emit(
        self, path: str, line: _Line, entry: Entry, events: list[LogEvent], stats: ReadStats
    ) -> None:
        """Count LINE; decode, filter and parse it; append its event."""
        entry["line_no"] = int(entry["line_no"]) + 1
        stats.lines += 1
        if line.cut:
            stats.truncated_lines += 1
            stats.truncated_bytes += line.cut
        text = self._decode(line, stats).rstrip("\r")
        if not text.strip() or (self.line_filter is not None and not self.line_filter(text)):
            return
        parsed = parse_line(text)
        events.append(
            LogEvent(
                source=f"file:{path}",
                message=parsed.message,
                service=self.service or parsed.service or _stem(path),
                timestamp=parsed.timestamp,
                level=parsed.level,
                path=path,
                line_no=int(entry["line_no"]),
                offset=line.offset,
                truncated_bytes=line.cut,
            )
        )

    @staticmethod
    def _decode(line: _Line, stats: ReadStats) -> str:
        """UTF-8 text of LINE; invalid bytes become U+FFFD (a cap splitting a character is not)."""
        try:
            return line.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if line.cut and exc.reason == "unexpected end of data":
                return line.data[: exc.start].decode("utf-8", "replace")
            stats.invalid_utf8_lines += 1
            return line.data.decode("utf-8", "replace")
