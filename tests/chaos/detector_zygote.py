"""`python tests/chaos/detector_zygote.py LOG STORE_URL`: forks detectors to be SIGKILLed.

Importing the agent and compiling its patterns takes seconds; this process does it once, then
for each `spawn` line on stdin forks a detector that scans LOG into the store over and over
(until killed) and prints the detector's pid. So each kill lands mid-scan, not mid-import.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _detect_forever(log: str, url: str, detector: object) -> None:
    """In the forked child: scan LOG into the store at URL again and again."""
    from oncall_agent.pipeline import scan_source
    from oncall_agent.sources.files import FileSource
    from oncall_agent.store.engine import make_engine

    engine = make_engine(url)  # connections are never shared across a fork
    while True:
        scan_source(engine, FileSource([log], service="app"), "app-log", detector=detector)  # type: ignore[arg-type]
        time.sleep(0.01)


def main(log: str, url: str) -> None:
    """Answer each `spawn` with the pid of a new detector."""
    sys.path.insert(0, os.getcwd())
    from oncall_agent.pipeline import load_detector
    from oncall_agent.store.engine import make_engine

    seed = make_engine(url)
    detector = load_detector(seed)
    detector.engine.select_lines(b"warm up\n")  # build the engine before forking
    seed.dispose()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # killed detectors are reaped at once
    print("ready", flush=True)
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                _detect_forever(log, url, detector)
            finally:
                os._exit(1)
        print(pid, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
