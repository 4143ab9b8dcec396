"""`python tests/chaos/hostile_scan.py LOG STORE_URL`: detect LOG into the store, then analyze
every incident against the knowledge base (the resolution's first step), and print `done`."""

from __future__ import annotations

import os
import sys


def main(log: str, url: str) -> None:
    """One detection pass and one analysis per incident."""
    sys.path.insert(0, os.getcwd())
    from sqlmodel import select

    from oncall_agent.pipeline import scan_source
    from oncall_agent.resolution.analysis import analyze_incident
    from oncall_agent.sources.files import FileSource
    from oncall_agent.store.engine import make_engine, session_scope
    from oncall_agent.store.tables import Incident

    engine = make_engine(url)
    scan_source(engine, FileSource([log], service="storm", flush_after_s=0), "files:storm")
    with session_scope(engine) as session:
        ids = [i.id for i in session.exec(select(Incident)).all() if i.id is not None]
    for incident_id in ids:
        analyze_incident(engine, incident_id)
    print("done", len(ids), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
