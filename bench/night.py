"""Benchmark: what `oncall scan` opens on a generated night of data-platform logs.

    .venv/bin/python bench/night.py [--seeds 1,2,3] [--before DIR]

Writes a night per seed (see `_night`: seven files, twelve hours, steady noise, twelve injected
incidents at known lines), runs `oncall scan --lines` over it in a child process (the core's
`scan_files`), and scores the incidents it opens:
- recall: injected incidents with at least one line in an opened incident;
- false incidents: opened incidents holding no injected line;
- fragmentation: opened incidents holding injected lines, per incident found;
- noise lines flagged: lines of opened incidents that are not injected lines.
Rows: this checkout with the baseline (the default) and without it (`--no-baseline`), and,
with `--before DIR`, another checkout (such as `git worktree`/`git archive` of main) as it is.
Targets (issue 11): recall 1.0 and at most one false incident per night.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from _night import INCIDENTS, write_night  # noqa: E402

MAX_FALSE = 1
CHILD = """
import json, sys
from oncall_agent.detection.source_rules import DetectionRules
from oncall_agent.scan import ScanOptions, scan_files
rules = DetectionRules()
if "baseline" in DetectionRules.model_fields:
    rules = DetectionRules(baseline=sys.argv[1] == "on")
result = scan_files(sys.argv[2:], ScanOptions(with_lines=True, rules=rules))
print(json.dumps([i.to_json(with_lines=True) for i in result.incidents]))
"""


@dataclass
class Score:
    """One run's numbers on one night."""

    found: int
    false: int
    fragments: int
    noise_lines: int
    opened: int

    @property
    def recall(self) -> float:
        """Share of the injected incidents found."""
        return self.found / len(INCIDENTS)

    @property
    def passed(self) -> bool:
        """Every incident found, at most MAX_FALSE false ones."""
        return self.found == len(INCIDENTS) and self.false <= MAX_FALSE


def run_scan(code: Path, baseline: bool, files: list[Path]) -> list[dict[str, object]]:
    """The incidents `scan_files` in checkout CODE opens for FILES."""
    argv = [sys.executable, "-c", CHILD, "on" if baseline else "off", *map(str, files)]
    done = subprocess.run(argv, cwd=code, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"scan failed in {code}:\n{done.stderr[-2000:]}")
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def score(incidents: list[dict[str, object]], truth: dict[str, dict[int, str]]) -> Score:
    """Recall, false incidents, fragmentation and noise lines of INCIDENTS against TRUTH."""
    found: set[str] = set()
    false = fragments = noise = 0
    for incident in incidents:
        lines = incident["lines"]
        assert isinstance(lines, list)
        names = {truth.get(str(ref["file"]), {}).get(int(ref["line"])) for ref in lines}
        injected = names - {None}
        noise += sum(
            1 for ref in lines if truth.get(str(ref["file"]), {}).get(int(ref["line"])) is None
        )
        if injected:
            fragments += 1
            found |= {str(n) for n in injected}
        else:
            false += 1
    return Score(len(found), false, fragments, noise, len(incidents))


def main() -> None:
    """Generate the nights, run every variant, print the table and the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--before", type=Path, help="another checkout to score as it is")
    options = parser.parse_args()
    variants = [
        ("this checkout, baseline", ROOT, True),
        ("this checkout, --no-baseline", ROOT, False),
    ]
    if options.before:
        variants.append((f"before ({options.before})", options.before.resolve(), False))
    print(f"{len(INCIDENTS)} injected incidents per night; target recall 1.0, <= {MAX_FALSE} false")
    head = ("run", "seed", "lines", "opened", "recall", "false inc.", "fragm.", "noise lines", "")
    rows, ok = [head], True
    with tempfile.TemporaryDirectory() as folder:
        for seed in map(int, options.seeds.split(",")):
            night = write_night(Path(folder) / f"night-{seed}", seed)
            for name, code, baseline in variants:
                s = score(run_scan(code, baseline, night.files), night.truth)
                verdict = "PASS" if s.passed else "FAIL"
                ok &= s.passed or not baseline or code != ROOT
                rows.append((
                    name, str(seed), f"{night.lines:,}", str(s.opened), f"{s.recall:.2f}",
                    str(s.false), f"{s.fragments / max(s.found, 1):.2f}", f"{s.noise_lines:,}",
                    verdict,
                ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print("overall (this checkout with its baseline, every seed):", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
