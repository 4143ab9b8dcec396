"""What of an Airflow task log goes into an incident: a one-line error summary, the log's tail."""

from __future__ import annotations

import re
from collections.abc import Sequence

from oncall_agent.integrations.airflow_client import AirflowLogRecord

SUMMARY_LIMIT = 300
_ERROR_LEVELS = {"error", "critical", "fatal", "exception"}
# In a plain-text log (no levels), the last line naming an exception is the best summary.
_EXCEPTION_LINE = re.compile(r"\b\w*(?:Error|Exception|Timeout)\b")


def _is_marker(record: AirflowLogRecord) -> bool:
    """Airflow's log grouping lines (::group::, ::endgroup::) and untimed header lines."""
    event = record.event.strip()
    return event.startswith("::") or (record.timestamp is None and record.level is None
                                       and event.startswith("/"))  # fmt: skip


def _render(record: AirflowLogRecord) -> str:
    """One record as a log line (its exception, if any, on the next line)."""
    when = record.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if record.timestamp else ""
    line = " ".join(p for p in (when, (record.level or "").upper(), record.event) if p)
    return f"{line}\n    {record.error}" if record.error else line


def error_summary(records: Sequence[AirflowLogRecord]) -> str:
    """The failure in one line: the last exception logged, else the last error line."""
    for record in reversed(records):
        if record.error:
            return f"{record.event}: {record.error}"[:SUMMARY_LIMIT]
    for record in reversed(records):
        if (record.level or "").lower() in _ERROR_LEVELS:
            return record.event[:SUMMARY_LIMIT]
    for record in reversed(records):
        if record.level is None and _EXCEPTION_LINE.search(record.event):
            return record.event.strip()[:SUMMARY_LIMIT]
    return ""


def airflow_log_excerpt(
    records: Sequence[AirflowLogRecord], max_lines: int, max_chars: int
) -> tuple[str, str]:
    """(summary, excerpt): the error in one line, and the last MAX_LINES lines of the log."""
    kept = [r for r in records if r.event.strip() and not _is_marker(r)]
    lines = [_render(r) for r in kept[-max_lines:]] if max_lines > 0 else []
    excerpt = "\n".join(lines)
    if len(excerpt) > max_chars:
        # The end of a log is where it failed: keep the tail.
        excerpt = "…" + excerpt[-(max_chars - 1) :]
    return error_summary(kept), excerpt
