"""`python tests/chaos/scan_process.py LOG`: the detection flow's scan task in a process of its
own, under Prefect's SIGTERM bridge (as in a flow run), storing into DATABASE_URL."""

from __future__ import annotations

import asyncio
import os
import sys


def main(log: str) -> None:
    """Scan LOG once with the flow's task body; SIGTERM raises in the main thread, as in a run."""
    sys.path.insert(0, os.getcwd())
    from prefect.utilities.engine import capture_sigterm

    from oncall_agent.sources.files import FileSource
    from tasks.detection import scan_event_source

    source = FileSource([log], service="orders", flush_after_s=0)
    print("scanning", flush=True)
    with capture_sigterm():
        asyncio.run(scan_event_source.fn(source, source_key="files:backlog"))


if __name__ == "__main__":
    main(sys.argv[1])
