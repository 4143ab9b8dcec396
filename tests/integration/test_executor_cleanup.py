"""cleanup_files on real files: guards, caps, dry-run equals real run, re-checks at deletion."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from oncall_agent.errors import ActionRejected
from oncall_agent.executors import build_executor, load_executor_config
from oncall_agent.models import ActionStatus

pytestmark = pytest.mark.integration

OLD = time.time() - 3 * 86400


def _write(path: Path, size: int = 10, old: bool = False) -> Path:
    """A file of SIZE bytes, three days old if OLD."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    if old:
        os.utime(path, (OLD, OLD))
    return path


def _snapshot(base: Path) -> dict[str, bytes | str]:
    """Every file and symlink under BASE with its content (or link target)."""
    seen: dict[str, bytes | str] = {}
    for path in sorted(base.rglob("*")):
        if path.is_symlink():
            seen[str(path)] = f"-> {os.readlink(path)}"
        elif path.is_file():
            seen[str(path)] = path.read_bytes()
    return seen


@pytest.fixture
def tree(tmp_path):
    """logs/ (allowed): old, new and nested files, escaping symlinks; outside/ beside it."""
    logs = tmp_path / "logs"
    outside = tmp_path / "outside"
    _write(outside / "precious.log", old=True)
    _write(outside / "sub" / "precious.log", old=True)
    _write(logs / "a.log", size=100, old=True)
    _write(logs / "b.log", size=200, old=True)
    _write(logs / "c.txt", size=300, old=True)
    _write(logs / "fresh.log", size=400)
    _write(logs / "nested" / "d.log", size=500, old=True)
    (logs / "link.log").symlink_to(outside / "precious.log")
    (logs / "linkdir").symlink_to(outside / "sub")
    (logs / "escape").symlink_to(outside)
    return tmp_path


def _executor(tree: Path, **caps: int):
    """A cleanup executor allowed to touch only TREE/logs."""
    config = load_executor_config({"cleanup_roots": [str(tree / "logs")], **caps})
    return build_executor("cleanup_files", config)


def test_old_files_are_deleted_and_new_ones_kept(tree):
    """Only files matching the pattern and older than the limit are deleted."""
    executor = _executor(tree)
    plan = executor.plan({"root": str(tree / "logs"), "pattern": "*.log", "older_than_s": 3600})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert result.status is ActionStatus.SUCCEEDED
    assert sorted(p.name for p in (tree / "logs").iterdir()) == [
        "c.txt", "escape", "fresh.log", "link.log", "linkdir", "nested",
    ]  # fmt: skip
    assert (tree / "logs" / "nested" / "d.log").exists()
    assert (tree / "outside" / "precious.log").exists()
    assert result.details["bytes_freed"] == 300


def test_dry_run_lists_exactly_what_the_real_run_deletes(tree):
    """The dry run deletes nothing and lists the same files a real run then deletes."""
    executor = _executor(tree)
    params = {"root": str(tree / "logs"), "recursive": True, "older_than_s": 60}
    before = _snapshot(tree)
    plan = executor.plan(params)
    dry = executor.run(plan, dry_run=True, timeout_s=10)
    assert dry.status is ActionStatus.DRY_RUN and _snapshot(tree) == before
    assert dry.details["files"] == plan.files
    real = executor.run(executor.plan(params), dry_run=False, timeout_s=10)
    assert real.details["deleted"] == plan.files
    assert set(before) - set(_snapshot(tree)) == set(plan.files)
    assert sorted(Path(p).name for p in plan.files) == ["a.log", "b.log", "c.txt", "d.log"]


def test_symlinks_are_never_followed_nor_deleted_and_directories_stay(tree):
    """Symlinks to outside files and directories are skipped; directories are never deleted."""
    executor = _executor(tree)
    plan = executor.plan({"root": str(tree / "logs"), "recursive": True})
    executor.run(plan, dry_run=False, timeout_s=10)
    assert (tree / "logs" / "link.log").is_symlink() and (tree / "logs" / "escape").is_symlink()
    assert (tree / "logs" / "nested").is_dir()
    assert _snapshot(tree / "outside") == {
        str(tree / "outside" / "precious.log"): b"x" * 10,
        str(tree / "outside" / "sub" / "precious.log"): b"x" * 10,
    }


@pytest.mark.parametrize(
    "root",
    [
        "/",
        "",
        "   ",
        "..",
        "logs/..",
        "{tree}/logs/../outside",
        "{tree}/logs/..",
        "{tree}/logs/escape",
        "{tree}/logs/linkdir",
        "{tree}/outside",
        "{tree}/logs/missing",
        "{tree}/logs/a.log",
        "{tree}/logs\x00/x",
        None,
        ["{tree}/logs"],
    ],
)
def test_guarded_roots_are_rejected_and_nothing_is_touched(tree, root):
    """'/', empty, '..', escaping symlinks and roots outside the allow-list are all refused."""
    executor = _executor(tree)
    if isinstance(root, str):
        root = root.format(tree=tree)
    before = _snapshot(tree)
    with pytest.raises(ActionRejected):
        plan = executor.plan({"root": root})
        executor.run(plan, dry_run=False, timeout_s=10)
    assert _snapshot(tree) == before


@pytest.mark.parametrize(
    "params",
    [
        {"pattern": "../outside/*"},
        {"pattern": "nested/*"},
        {"pattern": ""},
        {"pattern": "*\n"},
        {"older_than_s": -1},
        {"older_than_s": "3600"},
        {"min_size_bytes": 1.5},
        {"recursive": "yes"},
        {"follow_symlinks": True},
    ],
)
def test_invalid_options_are_rejected(tree, params):
    """Patterns with separators, negative or mistyped limits and unknown keys are refused."""
    with pytest.raises(ActionRejected):
        _executor(tree).plan({"root": str(tree / "logs"), **params})


def test_root_outside_the_allow_list_is_rejected_even_if_allowed_roots_exist(tree):
    """A directory that merely shares a name prefix with an allowed root is outside it."""
    _write(tree / "logs-other" / "x.log", old=True)
    with pytest.raises(ActionRejected, match="outside the allowed cleanup roots"):
        _executor(tree).plan({"root": str(tree / "logs-other")})


def test_file_cap_refuses_a_selection_wider_than_allowed(tree):
    """More matching files than cleanup_max_files refuses the whole plan; nothing is deleted."""
    before = _snapshot(tree)
    with pytest.raises(ActionRejected, match="more than 3 files"):
        _executor(tree, cleanup_max_files=3).plan({"root": str(tree / "logs"), "recursive": True})
    assert _snapshot(tree) == before


def test_byte_cap_refuses_a_selection_too_large(tree):
    """More matching bytes than cleanup_max_bytes refuses the whole plan."""
    with pytest.raises(ActionRejected, match="over the cap of 250"):
        _executor(tree, cleanup_max_bytes=250).plan(
            {"root": str(tree / "logs"), "pattern": "*.log"}
        )


def test_size_filter_selects_large_files_only(tree):
    """min_size_bytes keeps smaller files out of the plan."""
    plan = _executor(tree).plan({"root": str(tree / "logs"), "min_size_bytes": 250})
    assert sorted(Path(p).name for p in plan.files) == ["c.txt", "fresh.log"]


def test_run_rechecks_each_file_and_skips_one_swapped_for_a_symlink(tree):
    """A planned file swapped for a symlink (or rewritten) before the run is skipped."""
    executor = _executor(tree)
    plan = executor.plan({"root": str(tree / "logs"), "pattern": "*.log", "older_than_s": 60})
    (tree / "logs" / "a.log").unlink()
    (tree / "logs" / "a.log").symlink_to(tree / "outside" / "precious.log")
    (tree / "logs" / "b.log").write_bytes(b"written again")
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert result.details["deleted"] == []
    assert set(result.details["skipped"]) == {
        str(tree / "logs" / "a.log"),
        str(tree / "logs" / "b.log"),
    }
    assert (tree / "outside" / "precious.log").exists() and (tree / "logs" / "b.log").exists()


def test_run_refuses_files_a_tampered_plan_adds_outside_the_root(tree):
    """Paths added to plan.files outside the root are skipped as errors and left alone."""
    executor = _executor(tree)
    plan = executor.plan({"root": str(tree / "logs"), "pattern": "a.log"})
    outside = str(tree / "outside" / "precious.log")
    sneaky = str(tree / "logs" / "escape" / "precious.log")
    tampered = plan.model_copy(update={"files": [*plan.files, outside, sneaky]})
    result = executor.run(tampered, dry_run=False, timeout_s=10)
    assert result.status is ActionStatus.FAILED
    assert result.details["deleted"] == [str(tree / "logs" / "a.log")]
    assert set(result.details["skipped"]) == {outside, sneaky}
    assert Path(outside).exists()


def test_verify_reports_bytes_freed_and_free_space(tree):
    """After a run, verify confirms the files are gone and reports freed and free bytes."""
    executor = _executor(tree)
    plan = executor.plan({"root": str(tree / "logs"), "pattern": "*.log", "older_than_s": 60})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    check = executor.verify(plan, result, {"min_free_bytes": 1})
    assert check.ok and check.data["bytes_freed"] == 300 and check.data["free_bytes"] > 0
    assert not executor.verify(plan, result, {"min_free_bytes": 10**18}).ok


def test_verify_fails_when_a_deleted_file_is_back(tree):
    """A file that reappears after deletion fails the verification."""
    executor = _executor(tree)
    plan = executor.plan({"root": str(tree / "logs"), "pattern": "a.log"})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    _write(tree / "logs" / "a.log")
    check = executor.verify(plan, result, {})
    assert not check.ok and check.data["remaining"] == [str(tree / "logs" / "a.log")]


def test_parent_of_the_root_swapped_for_a_symlink_after_validation_deletes_nothing(
    tmp_path, monkeypatch
):
    """A parent of the root replaced by a symlink between validation and deletion is refused."""
    from oncall_agent.executors import cleanup

    root = tmp_path / "app" / "logs"
    _write(root / "a.log", old=True)
    victim = _write(tmp_path / "victim" / "logs" / "a.log", old=True)
    executor = build_executor("cleanup_files", load_executor_config({"cleanup_roots": [str(root)]}))
    plan = executor.plan({"root": str(root), "pattern": "*.log"})
    real_validate = cleanup.validate_request

    def validate_then_swap(params, config):
        """Validate as usual, then swap app/ for a symlink to victim/ (the race)."""
        request = real_validate(params, config)
        (tmp_path / "app").rename(tmp_path / "app-moved")
        (tmp_path / "app").symlink_to(tmp_path / "victim")
        return request

    monkeypatch.setattr(cleanup, "validate_request", validate_then_swap)
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert victim.exists(), "a file outside the root was deleted through the swapped parent"
    assert result.status is ActionStatus.FAILED and result.details["deleted"] == []
