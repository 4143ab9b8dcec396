"""Cleanup guards and scan: which regular files under an allow-listed root a cleanup would delete.

Refused outright: an empty or relative root, `/`, any `..`, a root that resolves outside every
allow-listed root, a pattern with a path separator. The scan never follows a symlink, never lists
a directory, never crosses into another filesystem, and refuses a selection over the caps (a
selection wider than intended is the classic way automated cleanups go wrong).
"""

from __future__ import annotations

import fnmatch
import math
import os
import stat
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oncall_agent.errors import ActionRejected
from oncall_agent.executors.base import reject_unknown_keys
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.dirfd import open_child_dir, open_dir_nofollow

PARAMS = ("root", "pattern", "older_than_s", "min_size_bytes", "recursive")


@dataclass(frozen=True)
class CleanupRequest:
    """Validated cleanup parameters; ROOT is resolved and inside an allow-listed root."""

    root: Path
    pattern: str
    older_than_s: float
    min_size_bytes: int
    recursive: bool

    def as_params(self) -> dict[str, Any]:
        """The parameters as stored in the plan (root resolved)."""
        return {
            "root": str(self.root),
            "pattern": self.pattern,
            "older_than_s": self.older_than_s,
            "min_size_bytes": self.min_size_bytes,
            "recursive": self.recursive,
        }

    def qualifies(self, name: str, st: os.stat_result, now: float) -> bool:
        """Whether a file NAME with lstat ST is one this cleanup deletes."""
        return (
            stat.S_ISREG(st.st_mode)
            and fnmatch.fnmatchcase(name, self.pattern)
            and now - st.st_mtime >= self.older_than_s
            and st.st_size >= self.min_size_bytes
        )


def validate_request(params: dict[str, Any], config: ExecutorConfig) -> CleanupRequest:
    """The validated request for PARAMS, or ActionRejected saying which value is refused."""
    reject_unknown_keys("cleanup_files", params, PARAMS)
    older = params.get("older_than_s", 0)
    size = params.get("min_size_bytes", 0)
    recursive = params.get("recursive", False)
    if isinstance(older, bool) or not isinstance(older, int | float) or not math.isfinite(older):
        raise ActionRejected(f"cleanup_files: older_than_s must be a number, got {older!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ActionRejected(f"cleanup_files: min_size_bytes must be an integer >= 0, got {size!r}")
    if older < 0:
        raise ActionRejected(f"cleanup_files: older_than_s must be >= 0, got {older!r}")
    if not isinstance(recursive, bool):
        raise ActionRejected(f"cleanup_files: recursive must be true or false, got {recursive!r}")
    return CleanupRequest(
        root=_checked_root(params.get("root"), config.cleanup_roots),
        pattern=_checked_pattern(params.get("pattern", "*")),
        older_than_s=float(older),
        min_size_bytes=size,
        recursive=recursive,
    )


def _checked_root(root: Any, allowed: list[Path]) -> Path:
    """ROOT resolved, if it is a directory inside an allow-listed root."""
    if not isinstance(root, str) or not root.strip():
        raise ActionRejected("cleanup_files: 'root' must be a non-empty path")
    if any(unicodedata.category(ch) == "Cc" for ch in root):
        raise ActionRejected(f"cleanup_files: root {root[:200]!r} contains control characters")
    if not os.path.isabs(root) or ".." in root.split("/"):
        raise ActionRejected(f"cleanup_files: root {root[:200]!r} must be absolute, without '..'")
    try:
        resolved = Path(root).resolve()
        is_dir = resolved.is_dir()
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        raise ActionRejected(
            f"cleanup_files: root {root[:200]!r} cannot be resolved: {exc}"
        ) from exc
    if resolved == Path("/") or not is_dir:
        raise ActionRejected(
            f"cleanup_files: root {root[:200]!r} is '/' or not an existing directory"
        )
    for base in allowed:
        if resolved.is_relative_to(base.resolve()):
            return resolved
    raise ActionRejected(
        f"cleanup_files: root {root[:200]!r} (resolved {str(resolved)[:200]!r}) is outside "
        f"the allowed cleanup roots {[str(p) for p in allowed]}"
    )


def _checked_pattern(pattern: Any) -> str:
    """PATTERN if it is a plain file-name glob (no separators, no '..')."""
    if not isinstance(pattern, str) or not pattern.strip() or len(pattern) > 255:
        raise ActionRejected(
            "cleanup_files: 'pattern' must be a non-empty glob of at most 255 chars"
        )
    bad = any(unicodedata.category(ch) == "Cc" for ch in pattern)
    if bad or "/" in pattern or "\\" in pattern or ".." in pattern:
        raise ActionRejected(
            f"cleanup_files: pattern {pattern!r} must match file names only "
            "(no '/', '\\', '..' or control characters)"
        )
    return pattern


def select_files(request: CleanupRequest, max_files: int, max_bytes: int) -> tuple[list[str], int]:
    """The files the cleanup deletes (sorted) and their total bytes; ActionRejected over a cap."""
    found: list[tuple[str, int]] = []
    # Walked by directory descriptors from "/" down, like the deletion: what the plan lists is
    # what lies under the real root, whatever symlink a parent is swapped for meanwhile.
    pending = [(_open_dir(request.root, None), request.root)]
    try:
        while pending:
            fd, directory = pending.pop()
            try:
                _scan_dir(request, fd, directory, pending, found, max_files)
            finally:
                os.close(fd)
    finally:
        for fd, _ in pending:
            os.close(fd)
    total = sum(size for _, size in found)
    if total > max_bytes:
        raise ActionRejected(
            f"cleanup_files: the {len(found)} matching files hold {total} bytes, over the cap of "
            f"{max_bytes}; narrow the selection or raise cleanup_max_bytes"
        )
    return sorted(path for path, _ in found), total


def _scan_dir(
    request: CleanupRequest,
    fd: int,
    directory: Path,
    pending: list[tuple[int, Path]],
    found: list[tuple[str, int]],
    max_files: int,
) -> None:
    """Add DIRECTORY's matching files to FOUND and its subdirectories (opened) to PENDING."""
    now = time.time()
    root_dev = os.fstat(fd).st_dev
    for entry in _entries(fd, directory):
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while we were looking
        if stat.S_ISDIR(st.st_mode) and request.recursive and st.st_dev == root_dev:
            pending.append((_open_dir(directory / entry.name, fd), directory / entry.name))
        elif request.qualifies(entry.name, st, now):
            found.append((str(directory / entry.name), st.st_size))
            if len(found) > max_files:
                raise ActionRejected(
                    f"cleanup_files: more than {max_files} files match under "
                    f"{str(request.root)!r}; narrow the pattern or age, or raise cleanup_max_files"
                )


def _open_dir(path: Path, parent_fd: int | None) -> int:
    """A descriptor of PATH (from "/", or its last part inside PARENT_FD), never via a symlink."""
    try:
        if parent_fd is None:
            return open_dir_nofollow(path)
        return open_child_dir(path.name, parent_fd)
    except OSError as exc:
        raise ActionRejected(
            f"cleanup_files: cannot open {str(path)!r} without following a symlink: {exc}"
        ) from exc


def _entries(fd: int, directory: Path) -> list[os.DirEntry[str]]:
    """The entries of the directory open as FD; one that cannot be read refuses the whole plan."""
    try:
        with os.scandir(fd) as listing:
            return list(listing)
    except OSError as exc:
        raise ActionRejected(
            f"cleanup_files: cannot list {str(directory)!r}: {exc.strerror}"
        ) from exc
