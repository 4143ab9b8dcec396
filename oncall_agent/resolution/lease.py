"""Holding a resolution lease while a run works: heartbeats in a thread, release on exit."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from types import TracebackType

from sqlalchemy.engine import Engine

from oncall_agent.errors import LeaseLost
from oncall_agent.settings import get_settings
from oncall_agent.store.engine import session_scope
from oncall_agent.store.leases import LeasePhase, move_lease, renew_lease

log = logging.getLogger(__name__)


def move_held_lease(engine: Engine, incident_id: int, owner: str, phase: LeasePhase) -> None:
    """Move OWNER's lease to PHASE, or raise LeaseLost if a sweep took it over (or it expired)."""
    with session_scope(engine) as session:
        if not move_lease(session, incident_id, owner, phase):
            raise LeaseLost(
                f"incident {incident_id}: this run's resolution lease expired or was taken over "
                f"before {phase.value}; nothing more runs here (the sweep escalates it)"
            )


def process_owner(flow_run_id: str | None = None) -> str:
    """A lease owner naming this host and process (and run), unique per call."""
    run = f":{flow_run_id}" if flow_run_id else ""
    return f"{socket.gethostname()}:{os.getpid()}{run}:{uuid.uuid4().hex[:8]}"[:200]


class LeaseKeeper:
    """Renews OWNER's lease on an incident while the block runs; closes it on the way out.

    A normal exit marks the lease done; an exception marks it failed so the next sweep sees it
    at once (retry if nothing ran, escalate otherwise) instead of after the expiry.
    """

    def __init__(
        self, engine: Engine, incident_id: int, owner: str, ttl_s: float | None = None
    ) -> None:
        self.engine, self.incident_id, self.owner = engine, incident_id, owner
        self.ttl_s = ttl_s or get_settings().resolution_lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{incident_id}", daemon=True)

    def _beat(self) -> None:
        """Renew every quarter TTL until stopped; a failed renewal is retried at the next beat."""
        while not self._stop.wait(self.ttl_s / 4):
            try:
                with session_scope(self.engine) as session:
                    renew_lease(session, self.incident_id, self.owner, self.ttl_s)
            except Exception as exc:  # the store hiccuped: the lease has 3 more beats to go
                log.warning("incident %s: lease renewal failed: %s", self.incident_id, exc)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        phase = LeasePhase.DONE if exc is None else LeasePhase.FAILED
        error = None if exc is None else f"{type(exc).__name__}: {exc}"
        with session_scope(self.engine) as session:
            move_lease(session, self.incident_id, self.owner, phase, error=error)
