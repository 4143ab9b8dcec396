"""One measured run of the agent, in a child process of bench/detect.py (prints one JSON line).

    python bench/_detect_child.py detect FILE SET   # read, select, match, mask, fingerprint, group
    python bench/_detect_child.py store FILE SET    # scan_source into a fresh SQLite store
    python bench/_detect_child.py scan FILE SET     # `oncall scan` (scan_files), no baseline

`detect` is scan_source's loop without its database writes: the same calls, batch by batch.
`scan` is what `oncall scan --no-baseline FILE` does, with SET's patterns in place of the
built-in ones; the parent times the whole process, start-up included.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _detect_patterns import pattern_set  # noqa: E402

from oncall_agent.detection.detector import Detector  # noqa: E402
from oncall_agent.detection.grouping import group_detections  # noqa: E402
from oncall_agent.detection.patterns import compile_patterns  # noqa: E402
from oncall_agent.settings import get_settings  # noqa: E402
from oncall_agent.sources.files import FileSource  # noqa: E402

RESULT_PREFIX = "BENCH_RESULT "


def _detector(set_name: str) -> tuple[Detector, float]:
    """The detector for SET_NAME with its engine built, and how long building took."""
    started = time.perf_counter()
    detector = Detector(compile_patterns(pattern_set(set_name)))
    _ = detector.engine
    return detector, time.perf_counter() - started


def detect(path: str, set_name: str) -> dict[str, object]:
    """The detection pass over PATH: counts and seconds."""
    detector, build_s = _detector(set_name)
    source = FileSource([path], service="bench")
    samples = get_settings().samples_per_incident
    cursor: dict[str, object] = {}
    lines = events = detections = 0
    fingerprints: set[str] = set()
    started = time.perf_counter()
    while True:
        batch = source.read(cursor, selector=detector.engine)
        if not batch.events and batch.cursor == cursor:
            break
        found = detector.detect_many(batch.events)
        drafts = group_detections(found, samples=samples)
        fingerprints.update(d.fingerprint for d in drafts)
        lines += batch.stats.lines
        events += len(batch.events)
        detections += len(found)
        cursor = batch.cursor
    return {
        "seconds": time.perf_counter() - started,
        "build_s": build_s,
        "engine": detector.engine.name,
        "lines": lines,
        "events": events,
        "detections": detections,
        "incidents": len(fingerprints),
        "template_cache_hits": detector._templates.hits,
        "template_cache_misses": detector._templates.misses,
    }


def store(path: str, set_name: str) -> dict[str, object]:
    """scan_source over PATH into a fresh SQLite store: seconds and incidents stored."""
    from oncall_agent.pipeline import scan_source
    from oncall_agent.store.engine import make_engine
    from oncall_agent.store.schema import create_schema

    detector, build_s = _detector(set_name)
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        create_schema(engine)
        started = time.perf_counter()
        report = scan_source(engine, FileSource([path], service="bench"), "bench", detector)
        seconds = time.perf_counter() - started
        engine.dispose()
    return {
        "seconds": seconds,
        "build_s": build_s,
        "detections": report.detections,
        "incidents": len({c.incident_id for c in report.changes}),
    }


def scan(path: str, set_name: str) -> dict[str, object]:
    """scan_files over PATH with SET_NAME's patterns only: lines flagged, incidents."""
    from oncall_agent.detection.defaults import DEFAULT_PATTERNS
    from oncall_agent.detection.source_rules import DetectionRules
    from oncall_agent.scan import ScanOptions, scan_files

    started = time.perf_counter()
    rules = DetectionRules(
        extra_patterns=pattern_set(set_name),
        disabled_patterns=[p.name for p in DEFAULT_PATTERNS],
        baseline=False,
    )
    result = scan_files([path], ScanOptions(rules=rules))
    return {
        "seconds": time.perf_counter() - started,
        "detections": sum(i.draft.count for i in result.incidents),
        "incidents": len(result.incidents),
    }


def main() -> None:
    """Run the mode named on the command line and print its result."""
    mode, path, set_name = sys.argv[1:4]
    result = {"detect": detect, "store": store, "scan": scan}[mode](path, set_name)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
