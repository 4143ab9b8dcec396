"""`oncall history import`: past incidents become resolved incidents and knowledge entries.

One transaction: any invalid row and nothing is stored. Rows already in the store (same
timestamp, title, service) are skipped and counted, so a re-import changes nothing. A solution
that names an entry key or an entry's action links to it; any other solution becomes an entry in
`approve` mode (never `auto`), one per solution and service (the incident family).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from oncall_agent.detection.fingerprint import fingerprint
from oncall_agent.learning.records import HistoryRow, ParsedRow, RowError
from oncall_agent.models import IncidentStatus
from oncall_agent.store.audit import audit
from oncall_agent.store.tables import Incident, KnowledgeEntry, utcnow

CATEGORY = "imported"
BATCH = 2000
# A Core insert: the ORM's bulk path costs ~40 µs a row in bookkeeping it does not need here.
INSERT = Incident.__table__.insert()  # type: ignore[attr-defined]
MAX_ERRORS_SHOWN = 50


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or an error, would have done)."""

    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    entries_created: int = 0
    entries_linked: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    dry_run: bool = False

    @property
    def committed(self) -> bool:
        """Whether the store changed."""
        return not self.dry_run and not self.error_count and self.imported > 0


def dedup_key(ts: datetime, title: str, service: str) -> tuple[str, str, str]:
    """The identity of a history row: same timestamp, title and service is the same incident."""
    return (ts.isoformat(timespec="seconds"), title, service)


def _existing_keys(session: Session) -> set[tuple[str, str, str]]:
    """Dedup keys of the incidents imported before."""
    rows = session.exec(
        select(Incident.first_seen, Incident.title, Incident.service).where(
            Incident.origin == "imported"
        )
    )
    return {dedup_key(ts, title, service) for ts, title, service in rows}


def _slug(text: str, limit: int) -> str:
    """TEXT as lower-case words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "x"


def history_entry_key(service: str, solution: str) -> str:
    """The key of the entry for SOLUTION on SERVICE (stable, valid, unique per pair)."""
    digest = hashlib.sha256(f"{service}\0{solution}".encode()).hexdigest()[:8]
    return f"hist-{_slug(service, 40)}-{_slug(solution, 60)}-{digest}"


class EntryLinker:
    """Finds or creates the knowledge entry each (service, solution) pair links to."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ids: dict[tuple[str, str], int] = {}
        self.outcomes: Counter[tuple[int, bool]] = Counter()
        self.created = 0
        self.by_key: dict[str, int] = {}
        self.by_action: dict[str, list[tuple[int, list[str]]]] = {}
        for entry in session.exec(select(KnowledgeEntry)):
            assert entry.id is not None
            self.by_key[entry.key] = entry.id
            if entry.action and entry.action.get("name"):
                self.by_action.setdefault(entry.action["name"], []).append(
                    (entry.id, list(entry.services or []))
                )

    def entry_for(self, row: HistoryRow) -> int:
        """The entry id for ROW's solution on ROW's service."""
        pair = (row.service, row.solution)
        if pair not in self.ids:
            self.ids[pair] = self._existing(row) or self._create(row)
        return self.ids[pair]

    def _existing(self, row: HistoryRow) -> int | None:
        """An entry whose key is the solution, or whose action is (same service first), or the
        one an earlier import made for this solution on this service."""
        if row.solution in self.by_key:
            return self.by_key[row.solution]
        earlier = self.by_key.get(history_entry_key(row.service, row.solution))
        if earlier is not None:
            return earlier
        candidates = self.by_action.get(row.solution, [])
        for entry_id, services in candidates:
            if row.service in services:
                return entry_id
        return candidates[0][0] if candidates else None

    def _create(self, row: HistoryRow) -> int:
        """A new approve-mode entry for the solution on this service."""
        key = history_entry_key(row.service, row.solution)
        entry = KnowledgeEntry(
            key=key, title=row.title[:500],
            description=f"Imported from history: the fix used for this kind of incident on "
            f"{row.service}.",
            patterns=[], services=[row.service], categories=[CATEGORY], tags=["imported"],
            solution=row.solution, action=None, risk="medium", autonomy="approve",
            origin="imported",
        )  # fmt: skip
        self.session.add(entry)
        self.session.flush()
        assert entry.id is not None
        self.by_key[key] = entry.id
        self.created += 1
        return entry.id

    def count(self, entry_id: int, success: bool | None) -> None:
        """Remember one outcome for ENTRY_ID (applied in one UPDATE per entry at the end)."""
        if success is not None:
            self.outcomes[(entry_id, success)] += 1

    def apply_outcomes(self) -> None:
        """Add the imported successes and failures to each entry's record."""
        for (entry_id, success), n in self.outcomes.items():
            column = KnowledgeEntry.successes if success else KnowledgeEntry.failures
            self.session.exec(
                update(KnowledgeEntry)
                .where(col(KnowledgeEntry.id) == entry_id)
                .values({column: column + n})
            )


def incident_values(row: HistoryRow, entry_id: int, now: datetime) -> dict[str, Any]:
    """The column values of the resolved incident ROW becomes (never active)."""
    # The title as written: category "imported" keeps these fingerprints apart from detection's,
    # so they never absorb or reopen a live incident, and masking 100k titles costs seconds.
    template = row.title
    resolved_at = row.timestamp + row.resolution_time if row.resolution_time else row.timestamp
    return {
        "fingerprint": fingerprint(template, row.service, CATEGORY), "active_fingerprint": None,
        "title": row.title, "service": row.service, "severity": row.severity,
        "category": CATEGORY, "status": IncidentStatus.RESOLVED.value, "source": "history",
        "template": template, "first_seen": row.timestamp, "last_seen": row.timestamp,
        "occurrences": 1, "recurrences": 0, "samples": None,
        "attributes": {"tags": ";".join(row.tags)} if row.tags else None,
        "knowledge_entry_id": entry_id, "needs_resolution": False, "resolved_at": resolved_at,
        "resolution_note": row.solution, "created_at": now, "updated_at": now,
        "description": row.description, "solution": row.solution,
        "solution_success": row.success, "origin": "imported", "decision_reasons": None,
        "analysis": None,
    }  # fmt: skip


def _store_rows(session: Session, rows: Iterable[ParsedRow], report: ImportReport) -> None:
    """Validate every row; insert the new valid ones in batches while no error was seen."""
    seen = _existing_keys(session)
    linker = EntryLinker(session)
    batch: list[dict[str, Any]] = []
    now = utcnow()
    for parsed in rows:
        report.rows += 1
        if parsed.errors:
            report.error_count += len(parsed.errors)
            report.errors.extend(parsed.errors[: max(0, MAX_ERRORS_SHOWN - len(report.errors))])
            continue
        row = parsed.value
        assert row is not None
        key = dedup_key(row.timestamp, row.title, row.service)
        if key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        report.imported += 1
        if report.error_count:
            continue  # nothing will be stored: keep validating only
        entry_id = linker.entry_for(row)
        linker.count(entry_id, row.success)
        batch.append(incident_values(row, entry_id, now))
        if len(batch) >= BATCH:
            session.execute(INSERT, batch)
            batch.clear()
    if batch and not report.error_count:
        session.execute(INSERT, batch)
    linker.apply_outcomes()
    report.entries_created = linker.created
    report.entries_linked = len(linker.ids) - linker.created


def import_history(
    engine: Engine,
    rows: Iterable[ParsedRow],
    *,
    dry_run: bool = False,
    actor: str = "import",
    source: str = "",
) -> ImportReport:
    """Import ROWS in one transaction; committed only if every row is valid and not a dry run."""
    report = ImportReport(dry_run=dry_run)
    with Session(engine) as session:
        _store_rows(session, rows, report)
        if report.error_count or dry_run or not report.imported:
            session.rollback()
            return report
        audit(
            session, "history_imported", actor=actor, file=source, rows=report.rows,
            imported=report.imported, duplicates=report.duplicates,
            entries_created=report.entries_created,
        )  # fmt: skip
        session.commit()
    return report
