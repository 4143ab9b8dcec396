"""Who a log file is, whatever its name: device, inode and a hash of its first bytes.

A cursor entry records them with the offset read up to. These helpers find where an entry's
file is now (renamed by rotation, copied by copytruncate) and open it; `files` decides what to
read from them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Container, Iterable
from typing import Any, BinaryIO

HEAD_BYTES = 1024  # how much of a file's start identifies it
Entry = dict[str, Any]


def identity(stat: os.stat_result) -> tuple[int, int]:
    """Device and inode: who a file is, whatever its name."""
    return (stat.st_dev, stat.st_ino)


def head_hash(handle: BinaryIO, length: int) -> str:
    """Hash of the first LENGTH bytes of the file."""
    handle.seek(0)
    return hashlib.sha256(handle.read(length)).hexdigest()[:32]


def same_inode(entry: Entry, stat: os.stat_result) -> bool:
    """Whether ENTRY was written for the file with this device and inode."""
    return (entry.get("dev"), entry.get("inode")) == identity(stat)


def same_inode_anywhere(entries: Iterable[Entry], stat: os.stat_result) -> bool:
    """Whether any of ENTRIES was written for the file with this device and inode."""
    return any(same_inode(entry, stat) for entry in entries)


def same_head(entry: Entry, stat: os.stat_result, handle: BinaryIO) -> bool:
    """Whether the file still starts with the bytes ENTRY saw."""
    length = int(entry.get("head_len", 0))
    if length == 0:
        return True
    return stat.st_size >= length and head_hash(handle, length) == entry.get("head")


def fresh_entry(stat: os.stat_result) -> Entry:
    """A cursor entry for reading a file from its start."""
    dev, inode = identity(stat)
    return {"dev": dev, "inode": inode, "head": "", "head_len": 0, "offset": 0, "line_no": 0}


def refresh_head(handle: BinaryIO, entry: Entry) -> None:
    """Grow the identifying head hash as the file grows, up to HEAD_BYTES."""
    length = min(HEAD_BYTES, os.fstat(handle.fileno()).st_size)
    if length > int(entry["head_len"]):
        entry["head_len"] = length
        entry["head"] = head_hash(handle, length)


def find_inode(folder: str, entry: Entry) -> str | None:
    """The path in FOLDER of the file ENTRY describes (same device and inode), if any."""
    try:
        with os.scandir(folder) as listing:
            for item in listing:
                # DirEntry.inode() needs no system call: stat only the likely one.
                if item.inode() == entry.get("inode") and same_inode(
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
        if head_hash(handle, length) != entry.get("head"):
            return None
    dev, inode = identity(stat)
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


def predecessor(
    path: str, entry: Entry, stat: os.stat_result, handle: BinaryIO
) -> tuple[str, Entry] | None:
    """Where the unread tail of ENTRY's file is now, if PATH no longer holds it: (path, entry).

    Called with PATH already open, so a rotation done before the open is always visible.
    Lines written between a copy and its truncation are lost whatever a reader does.
    """
    if not same_inode(entry, stat):
        moved = find_inode(os.path.dirname(path), entry)
        return (moved, entry) if moved else None
    if stat.st_size >= int(entry["offset"]) and same_head(entry, stat, handle):
        return None  # the same file, grown: nothing to drain
    return _find_copy(path, entry)


def open_rotated(path: str, old: dict[str, Entry]) -> tuple[str, BinaryIO] | None:
    """Open the rotated file OLD[PATH] describes, following it if it moves again meanwhile."""
    entry = old[path]
    for _ in range(3):
        try:
            handle = open(path, "rb")  # noqa: SIM115  (closed by the caller)
        except FileNotFoundError:
            handle = None
        if handle is not None and same_inode(entry, os.fstat(handle.fileno())):
            return path, handle
        if handle is not None:
            handle.close()
        moved = find_inode(os.path.dirname(path), entry)
        if moved is None:
            return None
        path = moved
        old[path] = entry
    return None


_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".z")


def unseen_siblings(
    path: str, known: Iterable[Entry], after: float, skip: Container[str]
) -> list[str]:
    """Rotated generations of PATH never seen: its siblings (app.log.2, app.log-2024...) of
    unknown inode, not compressed, modified after AFTER, oldest first (SKIP: watched anyway).

    Two rotations between two reads leave a whole generation the reader never saw under the
    watched name; it was written after the previous read began, older generations were not.
    """
    folder, base = os.path.split(path)
    known_ids = {(e.get("dev"), e.get("inode")) for e in known}
    found: list[tuple[float, str]] = []
    try:
        with os.scandir(folder or ".") as listing:
            for item in listing:
                name, full = item.name, os.path.abspath(item.path)
                if name == base or not name.startswith(base) or full in skip:
                    continue
                if name.lower().endswith(_COMPRESSED) or not item.is_file(follow_symlinks=False):
                    continue
                stat = item.stat(follow_symlinks=False)
                if identity(stat) not in known_ids and stat.st_mtime > after:
                    found.append((stat.st_mtime, full))
    except OSError:
        return []
    return [p for _, p in sorted(found)]
