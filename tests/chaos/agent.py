"""The agent as the chaos tests run it: one detection run (sweep, scan, resolve, deliver) in a
real process of its own, forked from the test so it starts in milliseconds and can be killed.

It is the path the detection flow takes, minus Prefect: the flow's tasks are thin wrappers
around these same core calls (tasks/recovery.py, tasks/detection.py, flows/resolution.py).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.executors.config import CommandTemplate, ExecutorConfig
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import IncidentStatus
from oncall_agent.notify.dispatch import dispatch_due
from oncall_agent.notify.outbox import RoutedOutbox
from oncall_agent.notify.routing import RoutingConfig
from oncall_agent.notify.webhook import WebhookNotifier
from oncall_agent.pipeline import load_detector, scan_source
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.lease import LeaseKeeper, process_owner
from oncall_agent.resolution.recovery import sweep_stranded
from oncall_agent.resolution.steps import resolve_unattended
from oncall_agent.settings import get_settings
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import make_engine, session_scope
from oncall_agent.store.incidents import pending_resolution
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.leases import HELD, LeasePhase
from oncall_agent.store.schema import create_schema
from oncall_agent.store.tables import ActionRun, Incident, NotificationRow, ResolutionLease

CHANNEL = "webhook/chaos"
LINE = "2026-12-02T05:00:00Z ERROR chaos: marker missing, the service cannot start\n"
# The action: create a new file <markers>/<incident id>.<random> (one file = one side effect),
# then keep running for HOLD_S seconds so the test can kill the agent in the middle of it. With
# no hold, `mktemp` does the same without a Python start-up.
SCRIPT = (
    "import sys, tempfile, time; tempfile.mkstemp(prefix=sys.argv[2][:-8], dir=sys.argv[1]); "
    "time.sleep(float(sys.argv[3]))"
)
# Guardrails a chaos run would trip on purpose (unknown outcomes count as failures on a target).
POLICY = PolicyConfig(
    auto_threshold=0.3,
    approve_threshold=0.2,
    circuit_breaker_failures=10_000,
    max_actions_per_hour=10_000,
    max_actions_per_incident=10,
)


@dataclass(frozen=True)
class Setup:
    """Where one chaos run keeps its store, logs and markers, and how long an action lasts."""

    db_url: str
    logs: Path
    markers: Path
    hook_url: str
    hold_s: float = 3.0
    lease_s: float = 1.0


def services(count: int) -> list[str]:
    """Service names s0..s<count-1>: one log file, one command template (one target) each."""
    return [f"s{n}" for n in range(count)]


def executors(setup: Setup, count: int) -> ExecutorConfig:
    """One `touch` template per service: distinct targets, so no target lock is shared."""
    argv = [sys.executable, "-c", SCRIPT, str(setup.markers), "{id}", str(setup.hold_s)]
    if not setup.hold_s:
        argv = ["mktemp", "-p", str(setup.markers), "{id}"]
    template = {"argv": argv, "params": {"id": {"pattern": r"\d+\.X{8}"}}}
    return ExecutorConfig(
        command_templates={
            f"touch-{name}": CommandTemplate.model_validate(template) for name in services(count)
        }
    )


def seed(engine: Engine) -> None:
    """The knowledge entry whose action the agent runs automatically for every chaos incident."""
    spec = KnowledgeEntrySpec.model_validate(
        {
            "key": "chaos-marker",
            "title": "marker missing",
            "patterns": ["marker missing"],
            "solution": "write the marker",
            "action": {
                "name": "run_command",
                "params": {
                    "template": "touch-{{incident.service}}",
                    "params": {"id": "{{incident.id}}.XXXXXXXX"},  # mktemp's template
                },
            },
            "risk": "low",
            "autonomy": "auto",
            "successes": 50,
        }
    )
    with session_scope(engine) as session:
        add_entry(session, spec, origin="test")


def detection_run(setup: Setup, count: int) -> None:
    """One detection run as the flow does it: sweep, scan every log, resolve, deliver."""
    os.environ["ONCALL_RESOLUTION_LEASE_S"] = str(setup.lease_s)
    get_settings.cache_clear()
    engine = make_engine(setup.db_url)
    routing = RoutingConfig(default_channels=[CHANNEL], group_wait_s=0)
    outbox = RoutedOutbox(lambda: session_scope(engine), routing)
    sweep_stranded(engine, outbox)
    detector = load_detector(engine)  # built once per run, as the flow's scan task does
    for path in sorted(setup.logs.glob("*.log")):
        source = FileSource([str(path)], service=path.stem, flush_after_s=0)
        scan_source(engine, source, f"chaos:{path.stem}", detector=detector)
    with session_scope(engine) as session:
        pending = pending_resolution(session)
    config = executors(setup, count)
    for incident_id in pending:
        owner = process_owner()
        with LeaseKeeper(engine, incident_id, owner):
            resolve_unattended(
                engine,
                incident_id,
                service_vars={},
                policy=POLICY,
                allowed={"run_command"},
                executors=config,
                clients={},
                secrets=(),
                dry_run=False,
                notifier=outbox,
                lease_owner=owner,
            )
    deliver(engine, setup.hook_url)


def deliver(engine: Engine, hook_url: str, now: object = None) -> None:
    """Send what is due to the webhook (a channel that is down keeps its rows)."""
    notifier = WebhookNotifier(CHANNEL, hook_url, timeout_s=2.0)
    dispatch_due(lambda: session_scope(engine), {CHANNEL: notifier}, now=now)  # type: ignore[arg-type]


@dataclass
class Tally:
    """What a chaos run left behind, as a person would check it."""

    incidents: int
    side_effects: dict[int, int]
    unknown_runs: int
    stranded: list[int]
    notified: set[int]
    undelivered: int


def tally(engine: Engine, markers: Path) -> Tally:
    """Count side effects per incident, stranded incidents, and who was notified."""
    effects: dict[int, int] = {}
    for path in markers.iterdir():
        incident_id = int(path.name.split(".")[0])
        effects[incident_id] = effects.get(incident_id, 0) + 1
    with session_scope(engine) as session:
        incidents = session.exec(select(Incident)).all()
        runs = session.exec(select(ActionRun)).all()
        leases = session.exec(select(ResolutionLease)).all()
        rows = session.exec(select(NotificationRow)).all()
    live = {lease.incident_id for lease in leases if lease.phase in (*HELD, LeasePhase.FAILED)}
    done = (IncidentStatus.RESOLVED.value, IncidentStatus.ESCALATED.value)
    stranded = [i.id for i in incidents if i.status not in done or i.needs_resolution]
    stranded += [i for i in live if i not in stranded]
    escalations = [r for r in rows if r.kind == "escalation"]
    return Tally(
        incidents=len(incidents),
        side_effects=effects,
        unknown_runs=sum(r.status == "unknown" for r in runs),
        stranded=[i for i in stranded if i is not None],
        notified={r.incident_id for r in escalations},
        undelivered=sum(r.status != "sent" for r in escalations),
    )


def fresh_store(kind: str, tmp_path: Path, pg_url: str | None) -> Iterator[str]:
    """A migrated store URL a forked process can open by itself: a SQLite file or a PG schema."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'oncall.db'}"
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()
        yield url
        return
    assert pg_url is not None
    schema = f"chaos_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{pg_url}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
