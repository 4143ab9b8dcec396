"""Compiled Hyperscan databases are kept on disk, so a new process starts without compiling."""

from __future__ import annotations

from pathlib import Path

import pytest

from oncall_agent.detection.engine import build_engine, hyperscan_available
from oncall_agent.detection.patterns import default_pattern_set

pytestmark = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan not installed")


def test_a_database_is_saved_and_loaded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first build writes the database under the cache folder; a build in a fresh cache
    state loads it and answers the same."""
    from oncall_agent.detection import engine_hyperscan

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    engine_hyperscan._compile.cache_clear()
    texts = ["ERROR: disk full: No space left on device", "all good", "Connection refused"]
    first = build_engine(default_pattern_set(), "hyperscan").match_indexes(texts, [None] * 3)
    saved = list((tmp_path / "oncall-agent" / "hyperscan").glob("*.db"))
    assert len(saved) == 1 and saved[0].stat().st_size > 0
    engine_hyperscan._compile.cache_clear()
    again = build_engine(default_pattern_set(), "hyperscan").match_indexes(texts, [None] * 3)
    assert again == first and first[0] is not None and first[1] is None


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONCALL_HYPERSCAN_CACHE=off writes nothing."""
    from oncall_agent.detection import engine_hyperscan

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("ONCALL_HYPERSCAN_CACHE", "off")
    engine_hyperscan._compile.cache_clear()
    build_engine(default_pattern_set(), "hyperscan")
    assert not (tmp_path / "oncall-agent").exists()
