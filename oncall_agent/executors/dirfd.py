"""Opening directories by file descriptor, one component at a time, never following a symlink.

`os.open(path, O_NOFOLLOW)` protects only the last component of PATH: a parent directory swapped
for a symlink between planning and deleting would still redirect the walk. Opening "/" and then
each component with `dir_fd=` and O_NOFOLLOW | O_DIRECTORY refuses a symlink at every level.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def open_child_dir(name: str, dir_fd: int) -> int:
    """A descriptor of directory NAME in DIR_FD; OSError if it is a symlink or no directory."""
    if name in ("", ".", "..") or "/" in name:
        raise NotADirectoryError(f"{name!r} is not a plain directory name")
    return os.open(name, DIR_FLAGS, dir_fd=dir_fd)


def open_dir_nofollow(path: Path) -> int:
    """A descriptor of the absolute directory PATH, reached from "/" without following symlinks."""
    if not path.is_absolute():
        raise NotADirectoryError(f"{str(path)!r} is not an absolute path")
    fd = os.open("/", DIR_FLAGS)
    try:
        for part in path.parts[1:]:
            child = open_child_dir(part, fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd
