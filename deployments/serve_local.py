"""Serve the detection flow on a schedule from this process (no work pool needed).

Run: python -m deployments.serve_local --interval 60
Stopping it (Ctrl-C) pauses the schedule of what it served, as Prefect's serve() does.
"""

from __future__ import annotations

import argparse

from prefect import serve

from flows.detection import detect_incidents
from flows.resolution import resolve_incident


def main() -> None:
    """Serve detection every INTERVAL seconds and resolution on demand."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interval", type=int, default=60, help="Seconds between detection runs")
    args = parser.parse_args()
    detect = detect_incidents.to_deployment(name="detect-local", interval=args.interval)
    resolve = resolve_incident.to_deployment(name="resolve-local")
    serve(detect, resolve)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
