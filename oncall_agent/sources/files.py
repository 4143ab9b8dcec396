"""Tailing log files from a persisted cursor, at least once, with bounded memory.

The cursor holds, per file, its identity (device, inode, a hash of its first bytes) and the
byte offset after the last complete line read. When a watched file is opened again:
- same identity, size >= offset: go on from the offset (a restart neither re-reads nor skips);
- same inode but size < offset (copytruncate) or other first bytes: read from the start, after
  draining the unread tail from the copy beside it (same first bytes), if there is one;
- another inode (rotated or replaced): read the new file from the start, after draining the
  old one if it is still in the folder under another name. Rotated files stay in the cursor
  (marked "rotated") while they exist, since a writer may append to them until it reopens.
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
class _Pass:
    """One read in progress: the saved entries, the files done so far, the byte budget."""

    old: dict[str, Entry]
    current: list[str]
    max_bytes: int
    stats: ReadStats = field(default_factory=ReadStats)
    events: list[LogEvent] = field(default_factory=list)
    files: dict[str, Entry] = field(default_factory=dict)


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


def _find_inode(folder: str, entry: Entry) -> str | None:
    """The path in FOLDER of the file ENTRY describes (same device and inode), if any."""
    try:
        with os.scandir(folder) as listing:
            for item in listing:
                # DirEntry.inode() needs no system call: stat only the likely one.
                if item.inode() == entry.get("inode") and _same_inode(
                    entry, item.stat(follow_symlinks=False)
                ):
                    return os.path.abspath(item.path)
    except OSError:
        return None
    return None


def _copy_entry(item: os.DirEntry[str], entry: Entry) -> Entry | None:
    """ENTRY moved onto ITEM if ITEM is a copy of its file (as long, same first bytes)."""
    length = int(entry.get("head_len", 0))
    if length == 0 or not item.is_file(follow_symlinks=False):
        return None
    stat = item.stat(follow_symlinks=False)
    if stat.st_size < int(entry["offset"]):
        return None
    with open(item.path, "rb") as handle:
        if _head_hash(handle, length) != entry.get("head"):
            return None
    dev, inode = _identity(stat)
    return {**entry, "dev": dev, "inode": inode}


def _find_copy(path: str, entry: Entry) -> tuple[str, Entry] | None:
    """After copytruncate, the copy beside PATH (app.log.1, app.log-2024...) of ENTRY's file."""
    try:
        with os.scandir(os.path.dirname(path)) as listing:
            for item in listing:
                if item.name.startswith(os.path.basename(path)) and item.path != path:
                    copy = _copy_entry(item, entry)
                    if copy is not None:
                        return os.path.abspath(item.path), copy
    except OSError:
        return None
    return None


def _predecessor(
    path: str, entry: Entry, stat: os.stat_result, handle: BinaryIO
) -> tuple[str, Entry] | None:
    """Where the unread tail of ENTRY's file is now, if PATH no longer holds it: (path, entry).

    Called with PATH already open, so a rotation done before the open is always visible.
    Lines written between a copy and its truncation are lost whatever a reader does.
    """
    if not _same_inode(entry, stat):
        moved = _find_inode(os.path.dirname(path), entry)
        return (moved, entry) if moved else None
    if stat.st_size >= int(entry["offset"]) and _same_head(entry, stat, handle):
        return None  # the same file, grown: nothing to drain
    return _find_copy(path, entry)


def _open_watched(path: str) -> tuple[str, BinaryIO]:
    """Open a watched file (the caller closes it)."""
    return path, open(path, "rb")


def _open_rotated(path: str, old: dict[str, Entry]) -> tuple[str, BinaryIO] | None:
    """Open the rotated file OLD[PATH] describes, following it if it moves again meanwhile."""
    entry = old[path]
    for _ in range(3):
        try:
            handle = open(path, "rb")  # noqa: SIM115  (closed by the caller)
        except FileNotFoundError:
            handle = None
        if handle is not None and _same_inode(entry, os.fstat(handle.fileno())):
            return path, handle
        if handle is not None:
            handle.close()
        moved = _find_inode(os.path.dirname(path), entry)
        if moved is None:
            return None
        path = moved
        old[path] = entry
    return None


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
        old = {p: dict(e) for p, e in (cursor or {}).get("files", {}).items()}
        run = _Pass(old=old, current=self.expand(), max_bytes=max_bytes)
        for path in self._away_from_watch(run):
            self._read_path(path, run, rotated=True)
        for path in run.current:
            self._read_path(path, run, rotated=False)
        cursor = {"version": CURSOR_VERSION, "files": run.files}
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
                here = _same_inode(entry, os.stat(path))
            except OSError:
                here = False
            where = path if here else _find_inode(os.path.dirname(path), entry)
            if where and where not in run.current:
                run.old[where] = {**entry, "rotated": True}
                found[where] = None
        return list(found)

    def _read_path(self, path: str, run: _Pass, rotated: bool) -> None:
        """Read one file's new lines into RUN (draining its predecessor first)."""
        if path in run.files:
            return  # already drained in this pass
        if run.stats.bytes_read >= run.max_bytes:
            if path in run.old:
                run.files[path] = run.old[path]  # not reached this time: keep where it was
            return
        try:
            opened = _open_rotated(path, run.old) if rotated else _open_watched(path)
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
        entry = self._resume(path, stat, handle, run, drained)
        if entry is None:
            return None
        run.stats.files += 1
        for line in self._scan(handle, entry, run.max_bytes - run.stats.bytes_read, run.stats):
            self._emit(path, line, entry, run)
        self._refresh_head(handle, entry)
        return entry

    def _drain_predecessor(
        self, path: str, stat: os.stat_result, handle: BinaryIO, run: _Pass
    ) -> str | None:
        """If PATH's saved file moved away (rotation, copy), read its unread tail first."""
        previous = run.old.get(path)
        if previous is None or previous.get("rotated"):
            return None
        found = _predecessor(path, previous, stat, handle)
        if not found or found[0] in run.current:
            return None
        if found[0] not in run.files:
            run.old[found[0]] = {**found[1], "rotated": True}
            self._read_path(found[0], run, rotated=True)
        return found[0]

    @staticmethod
    def _resume(
        path: str, stat: os.stat_result, handle: BinaryIO, run: _Pass, drained: str | None
    ) -> Entry | None:
        """The entry to go on from: this path's, a moved file's, or a fresh one (None: skip)."""
        entry = run.old.get(path)
        tail = f"; its unread tail was read from {drained}" if drained else ""
        if entry is not None and _same_inode(entry, stat):
            if stat.st_size < int(entry["offset"]):
                run.stats.restarts.append(f"{path}: truncated below the saved offset{tail}")
            elif not _same_head(entry, stat, handle):
                run.stats.restarts.append(f"{path}: rewritten (its first bytes changed){tail}")
            else:
                return dict(entry)
            return None if entry.get("rotated") else _fresh(stat)
        for other in run.old.values():
            if _same_inode(other, stat) and _same_head(other, stat, handle):
                return {k: v for k, v in other.items() if k != "rotated"}  # renamed file
        if entry is not None:
            if entry.get("rotated"):
                return None  # a rotated name now holds a file we never watched
            why = "rotated" if drained else "replaced by another file (new inode)"
            run.stats.restarts.append(f"{path}: {why}{tail}")
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

    def _emit(self, path: str, line: _Line, entry: Entry, run: _Pass) -> None:
        """Count LINE; decode, filter and parse it; append its event."""
        entry["line_no"] = int(entry["line_no"]) + 1
        run.stats.lines += 1
        if line.cut:
            run.stats.truncated_lines += 1
            run.stats.truncated_bytes += line.cut
        text = self._decode(line, run.stats).rstrip("\r")
        if not text.strip() or (self.line_filter is not None and not self.line_filter(text)):
            return
        parsed = parse_line(text)
        run.events.append(
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
