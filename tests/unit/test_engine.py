"""Detection engines: Hyperscan and pure Python give the old line-by-line detector's answers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.detector import ERROR_LEVELS, Detector, judge_level
from oncall_agent.detection.engine import (
    ENGINE_ENV,
    MatchEngine,
    active_engine_name,
    build_engine,
    hyperscan_available,
)
from oncall_agent.detection.fingerprint import fingerprint
from oncall_agent.detection.masking import mask
from oncall_agent.detection.patterns import (
    DEFAULT_PATTERNS,
    PatternSet,
    compile_patterns,
    default_pattern_set,
)
from oncall_agent.detection.templating import Templater, masked_body
from oncall_agent.errors import ConfigError
from oncall_agent.models import LogEvent
from oncall_agent.sources.files import FileSource
from oncall_agent.sources.multiline import line_starts
from oncall_agent.sources.parsing import parse_line

LOGHUB = Path(__file__).parent.parent / "data" / "loghub"
LOGS = sorted(LOGHUB.glob("*/*_2k.log"))
ENGINES = ["python", pytest.param("hyperscan", marks=pytest.mark.skipif(
    not hyperscan_available(), reason="hyperscan is not installed here"
))]  # fmt: skip

# Lines where byte-level and text-level matching could part ways.
TRICKY = [
    "2024-05-01 10:00:00 ERROR boom\r",  # CRLF file
    "panic: runtime error: index out of range",  # an anchored alternative (^panic:)
    "café ERROR: la base a répondu: connection refused",  # non-ASCII
    "ok\rERROR hidden after a carriage return",  # a carriage return inside the text
    '{"level": "error", "msg": "payment \\u0064eclined"}',  # JSON, alert by level
    '{"severity": "critical", "message": "ledger \\"mismatch\\""}',
    "[Sun Dec 04 04:47:44 2005] [crit] child died",
    "2024-05-01 10:00:00 INFO metrics: error_rate=0.00 p99=120ms",  # suppressed
    "2024-05-01 10:00:00 INFO all good",
    "Ω OutOfMemoryError in executor 7",
    'GET /errors HTTP/1.1" 200 512',
    "x" * 300 + " deadlock detected",
]


def _old_detections(events: list[LogEvent], pattern_set: PatternSet) -> list[tuple[object, ...]]:
    """What the line-by-line detector gave: PatternSet.match per event, then the level."""
    found, templater = [], Templater()
    for event in events:
        pattern = judge_level(pattern_set.match(event.message, event.service), event)
        if pattern is None:
            continue
        name, category = pattern.name, pattern.category
        template = templater.template(event)
        found.append((event.line_no, name, fingerprint(template, event.service, category)))
    return found


def _fast_detections(path: Path, engine: MatchEngine) -> list[tuple[object, ...]]:
    """The fast path: the engine selects lines in chunks, the detector matches in batches."""
    source = FileSource([str(path)], multiline=None)
    detector = Detector(engine.pattern_set, engine)
    events = source.read({}, selector=engine).events
    return [(d.event.line_no, d.pattern, d.fingerprint) for d in detector.detect_many(events)]


@pytest.mark.parametrize("name", ENGINES)
def test_engines_agree_with_the_line_by_line_detector_on_loghub(name: str) -> None:
    """On all eight LogHub samples the fast path flags the same lines, same patterns and
    fingerprints, as matching every line one by one."""
    pattern_set = default_pattern_set()
    engine = build_engine(pattern_set, name)
    for path in LOGS:
        every_line = FileSource([str(path)], multiline=None).read({}).events
        assert _fast_detections(path, engine) == _old_detections(every_line, pattern_set), path


@pytest.mark.parametrize("name", ENGINES)
def test_engines_match_texts_like_pattern_set_match(name: str) -> None:
    """match_texts answers exactly what PatternSet.match answers, tricky lines included."""
    pattern_set = default_pattern_set()
    texts = [line.rstrip("\r") for line in TRICKY] + _loghub_lines()[::7]
    services = [None] * len(texts)
    expected = [pattern_set.match(t) for t in texts]
    assert build_engine(pattern_set, name).match_texts(texts, services) == expected


@pytest.mark.parametrize("name", ENGINES)
def test_selected_lines_cover_every_line_that_alerts(name: str) -> None:
    """select_lines never leaves out a line that alerts by its text or by its parsed level."""
    detector = Detector(default_pattern_set())
    chunk = ("\n".join(TRICKY) + "\n").encode()
    selected = set(build_engine(default_pattern_set(), name).select_lines(chunk))
    for start, line in zip(line_starts(chunk), TRICKY, strict=True):
        parsed = parse_line(line.rstrip("\r"))
        event = LogEvent(source="t", message=parsed.message, level=parsed.level)
        if detector.match(event) is not None:
            assert start in selected, line


@pytest.mark.parametrize("name", ENGINES)
def test_patterns_hyperscan_cannot_take_still_match(name: str) -> None:
    """A back reference, a lookbehind and an anchored user pattern match as in `re`."""
    patterns = compile_patterns(
        [
            AlertPattern(name="stutter", regex=r"\b(\w+) \1\b", category="typo"),
            AlertPattern(name="not-after-ok", regex=r"(?<!ok )failure", category="f"),
            AlertPattern(name="starts", regex=r"^FATAL\b", category="f"),
        ],
        suppressions=[],
    )
    texts = ["the the cat", "ok failure", "real failure", "FATAL x", "x FATAL"]
    found = build_engine(patterns, name).match_texts(texts, [None] * len(texts))
    assert [p.name if p else None for p in found] == [
        "stutter", None, "not-after-ok", "starts", None
    ]  # fmt: skip


@pytest.mark.parametrize("name", ENGINES)
def test_service_scoping_and_suppressions_hold_in_every_engine(name: str) -> None:
    """A pattern scoped to a service fires only there; a suppressed look-alike stays quiet."""
    scoped = AlertPattern(name="slow", regex="slow checkout", category="lat", services=["shop"])
    patterns = compile_patterns([scoped, *DEFAULT_PATTERNS])
    engine = build_engine(patterns, name)
    texts = ["slow checkout: 9s", "slow checkout: 9s", "INFO error_rate=0.00 ok"]
    found = engine.match_texts(texts, ["shop", "blog", "api"])
    assert [p.name if p else None for p in found] == ["slow", None, None]


def test_environment_variable_forces_the_python_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """ONCALL_DETECTION_ENGINE=python makes new pattern sets use the pure-Python engine."""
    monkeypatch.setenv(ENGINE_ENV, "python")
    assert active_engine_name() == "python"
    assert compile_patterns(DEFAULT_PATTERNS).engine.name == "python"
    monkeypatch.setenv(ENGINE_ENV, "turbo")
    with pytest.raises(ConfigError, match="ONCALL_DETECTION_ENGINE"):
        active_engine_name()


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed here")
def test_hyperscan_is_the_default_where_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variable, the engine in use is Hyperscan when it can be imported."""
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert active_engine_name() == "hyperscan"


def test_every_error_level_a_parser_gives_is_selected() -> None:
    """Lines whose parsed level alone alerts are always selected (the level-hint contract)."""
    lines = [
        "2024-05-01 10:00:00 ERROR x",
        "2024-05-01 10:00:00,123 FATAL [main] y",
        "[Sun Dec 04 04:47:44 2005] [error] z",
        "2024-05-01 10:00:00 UTC [42] PANIC:  could not write",
        '{"level": "err", "msg": "q"}',
        "level=critical msg=w",
        *_loghub_lines(),
    ]
    engine = build_engine(default_pattern_set(), "python")
    for line in lines:
        level = parse_line(line).level
        if level in ERROR_LEVELS:
            assert engine.select_lines((line + "\n").encode()) == [0], line


def test_template_cache_gives_what_masking_gives() -> None:
    """Templates reused across lines that differ in digits equal masking each line afresh."""
    rng = random.Random(7)
    lines = _loghub_lines()
    for _ in range(3):
        digits = list("0123456789")
        rng.shuffle(digits)
        table = str.maketrans("0123456789", "".join(digits))
        for line in lines[::3]:
            varied = line.translate(table)
            assert masked_body(varied) == mask(varied), varied


def _loghub_lines() -> list[str]:
    """Every non-blank LogHub sample line, without its carriage return."""
    return [
        line.rstrip("\r")
        for path in LOGS
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n")
        if line.strip()
    ]
