"""`cleanup_files`: delete exactly the files the plan lists, each re-checked as it is deleted.

Deletion walks with directory file descriptors from "/" down to the root and on to each file,
every level opened with O_NOFOLLOW | O_DIRECTORY, so a directory swapped for a symlink after
planning (the root's parents included) cannot redirect a delete outside the root.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from oncall_agent.errors import ActionRejected
from oncall_agent.executors.base import (
    ActionPlan,
    check_verify_keys,
    clean_output,
    dry_run_verification,
    verify_number,
)
from oncall_agent.executors.cleanup_scan import CleanupRequest, select_files, validate_request
from oncall_agent.executors.common import ConfiguredExecutor
from oncall_agent.executors.dirfd import open_child_dir, open_dir_nofollow
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult


class CleanupFilesExecutor(ConfiguredExecutor):
    """Deletes old or large files under an allow-listed root, within file and byte caps."""

    name = "cleanup_files"

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The exact list of files a real run deletes (plan.files); ActionRejected if refused."""
        request = validate_request(params, self.config)
        files, total = select_files(
            request, self.config.cleanup_max_files, self.config.cleanup_max_bytes
        )
        return ActionPlan(
            action=self.name,
            target=str(request.root),
            params=request.as_params(),
            files=files,
            description=(
                f"delete {len(files)} file(s), {total} bytes, under {request.root} matching "
                f"{request.pattern!r}, older than {request.older_than_s:g}s, at least "
                f"{request.min_size_bytes} bytes{', recursively' if request.recursive else ''}"
            ),
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Delete plan.files (dry run: only list them); files changed since the plan are skipped."""
        request = validate_request(plan.params, self.config)
        if len(plan.files) > self.config.cleanup_max_files:
            raise ActionRejected(
                f"cleanup_files: the plan lists {len(plan.files)} files, over the cap of "
                f"{self.config.cleanup_max_files}"
            )
        if dry_run:
            listing = "\n".join(plan.files)
            return ActionResult(
                status=ActionStatus.DRY_RUN,
                output=self._clean(f"would {plan.description}:\n{listing}"),
                dry_run=True,
                details={"files": list(plan.files)},
            )
        deleted, skipped, freed = self._delete_all(request, plan.files, timeout_s)
        failed = {path: why for path, why in skipped.items() if why.startswith("error")}
        lines = [f"deleted {len(deleted)} file(s), {freed} bytes, under {request.root}"]
        lines += [f"skipped {path}: {why}" for path, why in skipped.items()]
        status = ActionStatus.SUCCEEDED if deleted else ActionStatus.NO_EFFECT
        return ActionResult(
            status=ActionStatus.FAILED if failed else status,
            output=self._clean("\n".join(lines)),
            details={"deleted": deleted, "skipped": skipped, "bytes_freed": freed},
        )

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """The deleted files are gone; with {"min_free_bytes"}: that much space is free."""
        check_verify_keys(self.name, verify, ["min_free_bytes"])
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        deleted = list(result.details.get("deleted", []))
        remaining = [path for path in deleted if os.path.lexists(path)]
        free = shutil.disk_usage(plan.target).free
        wanted = verify_number(self.name, verify, "min_free_bytes", 0)
        ok = not remaining and free >= wanted
        return VerificationResult(
            ok=ok,
            detail=f"{len(deleted) - len(remaining)}/{len(deleted)} deleted files gone, "
            f"{result.details.get('bytes_freed', 0)} bytes freed, {free} bytes free"
            + (f" (wanted at least {wanted:.0f})" if "min_free_bytes" in verify else ""),
            data={
                "bytes_freed": result.details.get("bytes_freed", 0),
                "free_bytes": free,
                "remaining": remaining,
            },
        )

    def _delete_all(
        self, request: CleanupRequest, files: list[str], timeout_s: float
    ) -> tuple[list[str], dict[str, str], int]:
        """Delete each planned file still eligible; (deleted, skipped with reasons, bytes freed)."""
        deadline = time.monotonic() + timeout_s
        now = time.time()
        deleted: list[str] = []
        skipped: dict[str, str] = {}
        freed = 0
        try:
            root_fd = open_dir_nofollow(request.root)
        except OSError as exc:
            refused = f"error: cannot open the root without following a symlink: {exc}"
            return [], dict.fromkeys(files, refused), 0
        try:
            for path in files:
                if time.monotonic() > deadline:
                    skipped[path] = "error: timed out before reaching this file"
                    continue
                size, why = self._delete_one(root_fd, request, path, now, freed)
                if why is None:
                    deleted.append(path)
                    freed += size
                else:
                    skipped[path] = why
        finally:
            os.close(root_fd)
        return deleted, skipped, freed

    def _delete_one(
        self, root_fd: int, request: CleanupRequest, path: str, now: float, freed: int
    ) -> tuple[int, str | None]:
        """Delete PATH if it is still an eligible regular file inside the root: (size, why not)."""
        parts = _relative_parts(request, path)
        if parts is None:
            return 0, "error: not a path inside the cleanup root"
        opened: list[int] = []
        try:
            dir_fd = root_fd
            for part in parts[:-1]:
                dir_fd = open_child_dir(part, dir_fd)
                opened.append(dir_fd)
            st = os.stat(parts[-1], dir_fd=dir_fd, follow_symlinks=False)
            if not request.qualifies(parts[-1], st, now):
                return 0, "no longer a matching regular file (changed since the plan)"
            if freed + st.st_size > self.config.cleanup_max_bytes:
                return 0, "error: deleting it would pass cleanup_max_bytes"
            os.unlink(parts[-1], dir_fd=dir_fd)
            return st.st_size, None
        except FileNotFoundError:
            return 0, "already gone"
        except OSError as exc:
            return 0, f"error: {exc.strerror or exc} (a path component may have been replaced)"
        finally:
            for fd in opened:
                os.close(fd)

    def _clean(self, text: str) -> str:
        """Output made safe to store."""
        return clean_output(text, self.secrets, self.output_limit)


def _relative_parts(request: CleanupRequest, path: str) -> list[str] | None:
    """PATH's components below the root, or None if it is not a plain path inside it."""
    candidate = Path(path)
    if not candidate.is_absolute() or os.path.normpath(path) != path:
        return None
    try:
        parts = list(candidate.relative_to(request.root).parts)
    except ValueError:
        return None
    if not parts or ".." in parts or (len(parts) > 1 and not request.recursive):
        return None
    return parts
