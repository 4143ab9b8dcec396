"""Parsing one log line: its timestamp, level, service and message (plain text or JSON).

Small on purpose: the common formats only (ISO 8601, syslog, Apache, and the LogHub samples'
"17/06/09 20:10:40", "2015-10-18 18:01:47,978", "081109 203615"). Times without a zone are UTC.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name.lower(): number for number, name in enumerate(_MONTH_NAMES, start=1)}
_MON = rf"(?P<mon>{'|'.join(_MONTH_NAMES)})"
_HMS = r"(?P<H>\d{2}):?(?P<M>\d{2}):?(?P<S>\d{2})(?:[.,](?P<frac>\d{1,9}))?"
_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T ]" + _HMS + r"\s?(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
# Formats tried at the start of a line (after an optional "["), in order.
_AT_START = [
    re.compile(_ISO.pattern),
    re.compile(rf"{_MON} +(?P<d>\d{{1,2}}) {_HMS}"),  # syslog: Jun 14 15:16:01
    re.compile(rf"\w{{3}} {_MON} (?P<d>\d{{2}}) {_HMS} (?P<y>\d{{4}})"),  # Sun Dec 04 04:47:44 2005
    re.compile(r"(?P<y>\d{2})/(?P<m>\d{2})/(?P<d>\d{2}) " + _HMS),  # 17/06/09 20:10:40
    re.compile(r"(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2}) " + _HMS.replace(":?", "")),  # 081109 203615
]
# Formats found anywhere near the start (after a host, a file name, a request id).
_NEAR_START = [
    _ISO,
    re.compile(rf"\[(?P<d>\d{{2}})/{_MON}/(?P<y>\d{{4}}):{_HMS} (?P<tz>[+-]\d{{4}})\]"),
]
_SEARCH_WINDOW = 120
_LEVEL_WORD = re.compile(
    r"\b(DEBUG|TRACE|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)\b"
    r"|\[(debug|info|notice|warn|warning|error|crit|critical|alert|emerg)\]",
    re.IGNORECASE,
)
_LEVEL_ALIASES = {"WARN": "WARNING", "CRIT": "CRITICAL", "EMERG": "EMERGENCY"}
_SYSLOG_PROGRAM = re.compile(r" ?\S+ ([A-Za-z][\w.-]*)(?:\([^)]*\))?(?:\[\d+\])?: ")


@dataclass(frozen=True)
class ParsedLine:
    """What a line says about itself; fields it does not give are None."""

    message: str
    timestamp: datetime | None = None
    level: str | None = None
    service: str | None = None


def _tz(text: str | None) -> timezone:
    """A timezone from "Z", "+02:00" or "-0700" (UTC when absent)."""
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(timedelta(hours=int(digits[:2]), minutes=int(digits[2:])) * sign)


def _build(fields: dict[str, str | None], now: datetime) -> datetime | None:
    """A datetime from regex groups; a missing year is the latest one not in the future."""
    month_text = fields.get("m")
    month = int(month_text) if month_text else _MONTHS[str(fields["mon"]).lower()]
    year_text = fields.get("y")
    year = int(year_text) if year_text else now.year
    if year < 100:
        year += 2000
    frac = (fields.get("frac") or "0")[:6].ljust(6, "0")
    zone = _tz(fields.get("tz"))
    try:
        moment = datetime(
            year, month, int(str(fields["d"])), int(str(fields["H"])), int(str(fields["M"])),
            int(str(fields["S"])), int(frac), tzinfo=zone,
        )  # fmt: skip
    except ValueError:
        return None
    if not year_text and moment > now + timedelta(days=2):
        moment = moment.replace(year=year - 1)  # syslog in January about December
    return moment.astimezone(UTC)


def parse_timestamp(text: str, now: datetime | None = None) -> datetime | None:
    """The timestamp at (or near) the start of TEXT, as aware UTC, or None."""
    now = now or datetime.now(UTC)
    head = text.lstrip("[")
    for regex in _AT_START:
        found = regex.match(head)
        if found:
            return _build(found.groupdict(), now)
    window = text[:_SEARCH_WINDOW]
    for regex in _NEAR_START:
        found = regex.search(window)
        if found:
            return _build(found.groupdict(), now)
    return None


def normalize_level(level: str) -> str:
    """A level name in canonical upper case (WARN -> WARNING, crit -> CRITICAL)."""
    upper = level.strip().upper()
    return _LEVEL_ALIASES.get(upper, upper)


def parse_level(text: str) -> str | None:
    """The log level named near the start of TEXT (upper-case word or "[error]"), or None."""
    window = text[:_SEARCH_WINDOW]
    for found in _LEVEL_WORD.finditer(window):
        word = found.group(1)
        if word is None:
            return normalize_level(found.group(2))
        if word.isupper():
            return normalize_level(word)
    return None


def _first(record: dict[str, Any], *keys: str) -> Any:
    """The value of the first of KEYS present (and not empty) in RECORD."""
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None


def _json_time(value: Any, now: datetime) -> datetime | None:
    """A JSON timestamp: an ISO string or epoch seconds / milliseconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_timestamp(value, now) if isinstance(value, str) else None


def parse_json_line(text: str, now: datetime | None = None) -> ParsedLine | None:
    """A JSON object line (message/level/service/timestamp keys), or None if not JSON."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    message = _first(record, "message", "msg", "log", "event")
    level = _first(record, "level", "severity", "levelname", "log.level")
    service = _first(record, "service", "service.name", "app", "application")
    moment = _json_time(_first(record, "timestamp", "@timestamp", "time", "ts"), now or _now())
    return ParsedLine(
        message=str(message) if message is not None else text,
        timestamp=moment,
        level=normalize_level(str(level)) if level is not None else None,
        service=str(service) if service is not None else None,
    )


def _now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def _syslog_program(text: str) -> str | None:
    """The program of a syslog line ("Jun 14 15:16:01 host sshd[42]: ..." -> "sshd"), or None."""
    stamp = _AT_START[1].match(text)
    found = _SYSLOG_PROGRAM.match(text, stamp.end()) if stamp else None
    return found.group(1) if found else None


def parse_line(text: str, now: datetime | None = None) -> ParsedLine:
    """Timestamp, level and service of one line; JSON lines give their own fields."""
    if text.startswith("{"):
        parsed = parse_json_line(text, now)
        if parsed is not None:
            return parsed
    return ParsedLine(
        message=text,
        timestamp=parse_timestamp(text, now),
        level=parse_level(text),
        service=_syslog_program(text),
    )
