"""`python tests/chaos/racer.py LOG STORE_URL ACTIONS`: a detector that scans on command.

For each `go` line on stdin it runs one detection pass over LOG into the store (scan_source),
then resolves what it opened or reopened the way the resolution flow does: claim the incident
(at most one claimant per episode), run the action (one line appended to ACTIONS, the side
effect), and resolve the incident. It answers `done` on stdout. Two of these race in
tests/chaos/test_racing_detectors.py.
"""

from __future__ import annotations

import os
import sys


def main(log: str, url: str, actions: str) -> None:
    """Serve `go` commands until stdin closes."""
    sys.path.insert(0, os.getcwd())
    from oncall_agent.models import IncidentStatus
    from oncall_agent.pipeline import load_detector, scan_source
    from oncall_agent.sources.files import FileSource
    from oncall_agent.store.engine import make_engine, session_scope
    from oncall_agent.store.incidents import claim_for_resolution, pending_resolution, set_status

    engine = make_engine(url)
    detector = load_detector(engine)
    for _ in sys.stdin:
        source = FileSource([log], service="orders", flush_after_s=0)
        scan_source(engine, source, "files:race", detector=detector)
        with session_scope(engine) as session:
            pending = pending_resolution(session)
        for incident_id in pending:
            with session_scope(engine) as session:
                if not claim_for_resolution(session, incident_id):
                    continue
            with open(actions, "a", encoding="utf-8") as side_effect:
                side_effect.write(f"{incident_id}\n")
            with session_scope(engine) as session:
                set_status(session, incident_id, IncidentStatus.RESOLVED, "restarted")
        print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
