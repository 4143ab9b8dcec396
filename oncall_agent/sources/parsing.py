"""Parsing one log line: its timestamp, level, service, message and the ids it carries.

A parser is chosen per source by name (`PARSER_NAMES`); "auto", the default, takes JSON for a
line starting with "{" and otherwise the first format of `log_formats.FORMATS` whose header
matches. A line no format knows still gets a timestamp and a level found near its start. The
message stays the whole line (samples show what was written); `split_header` gives the part
that says what happened, which masking turns into the incident's template, with the header
learned from the line's own file (`line_structure`) or, lacking one, a known format as a hint.
Times without a zone are UTC, and so are zone names other than UTC/GMT (a log rarely says which
offset they mean).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from oncall_agent.errors import ConfigError
from oncall_agent.sources.line_structure import HeaderLayout, line_header_end
from oncall_agent.sources.log_formats import (
    ACCESS,
    ACCESS_TIMESTAMP,
    BY_NAME,
    FORMATS,
    GENERIC,
    ISO_TIMESTAMP,
    MONTH_NAMES,
    START_TIMESTAMPS,
    LineFormat,
    access_label,
)

_MONTHS = {name.lower(): number for number, name in enumerate(MONTH_NAMES, start=1)}
PARSER_NAMES: tuple[str, ...] = ("auto", "json", "plain", *BY_NAME)
_SEARCH_WINDOW = 120
# Timestamps found anywhere near the start, for lines no format knows.
_NEAR_START = (ISO_TIMESTAMP, ACCESS_TIMESTAMP)
_LEVEL_WORD = re.compile(
    r"\b(DEBUG|TRACE|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE)\b"
    r"|\[(debug|info|notice|warn|warning|error|crit|critical|alert|emerg)\]",
    re.IGNORECASE,
)
_LEVEL_ALIASES = {
    "WARN": "WARNING", "CRIT": "CRITICAL", "EMERG": "EMERGENCY", "ERR": "ERROR", "EROR": "ERROR",
    "PANIC": "CRITICAL", "LOG": "INFO", "INFORMATION": "INFO",
}  # fmt: skip
# PostgreSQL's lines that only add to the line before them: no level of their own.
_NO_LEVEL = frozenset({"DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION"})
# Ids an action may need, written as key=value in Airflow's and other lines.
_IDS = re.compile(r"\b(dag_id|task_id|run_id|map_index|try_number|app_id|application_id)=([^,\s]+)")


@dataclass(frozen=True)
class ParsedLine:
    """What a line says about itself; fields it does not give are None (or empty)."""

    message: str
    timestamp: datetime | None = None
    level: str | None = None
    service: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def check_parser(name: str) -> str:
    """NAME if it is a known parser, else a ConfigError listing the known ones."""
    if name not in PARSER_NAMES:
        raise ConfigError(f"unknown log parser {name!r}; use one of: {', '.join(PARSER_NAMES)}")
    return name


def _tz(text: str | None) -> timezone:
    """A timezone from "Z", "+02:00" or "-0700" (UTC when absent or a zone name)."""
    if not text or text[0] not in "+-":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "").ljust(4, "0")
    return timezone(timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])) * sign)


def _build(fields: dict[str, str | None], now: datetime) -> datetime | None:
    """A datetime from regex groups; a missing year is the latest one not in the future."""
    month_text = fields.get("m")
    month = int(month_text) if month_text else _MONTHS[str(fields["mon"]).lower()]
    year_text = fields.get("y")
    year = int(year_text) if year_text else now.year
    if year < 100:
        year += 2000
    frac = (fields.get("frac") or "0")[:6].ljust(6, "0")
    try:
        moment = datetime(
            year, month, int(str(fields["d"])), int(str(fields["H"])), int(str(fields["M"])),
            int(str(fields["S"])), int(frac), tzinfo=_tz(fields.get("tz")),
        )  # fmt: skip
    except ValueError:
        return None
    if not year_text and moment > now + timedelta(days=2):
        moment = moment.replace(year=year - 1)  # syslog in January about December
    return moment.astimezone(UTC)


# The last specific format that matched: lines come in runs of one format, so it is tried first.
# Specific formats never match the same line (a test holds them to it), so trying one out of
# order gives the answer the ordered search would; "generic" overlaps them and is never a hint.
_hint: list[LineFormat] = []


def _match(text: str) -> tuple[LineFormat, re.Match[str]] | None:
    """The first known format whose header starts TEXT, with its match."""
    if _hint:
        found = _hint[0].match(text)
        if found:
            return _hint[0], found
    for line_format in FORMATS:
        found = line_format.match(text)
        if found:
            if line_format is not GENERIC:
                _hint[:] = [line_format]
            return line_format, found
    return None


def parse_timestamp(text: str, now: datetime | None = None) -> datetime | None:
    """The timestamp at (or near) the start of TEXT, as aware UTC, or None."""
    now = now or datetime.now(UTC)
    known = _match(text)
    if known is not None:
        return _build(known[1].groupdict(), now)
    head = text.lstrip("[")
    for regex in START_TIMESTAMPS:
        found = regex.match(head)
        if found:
            return _build(found.groupdict(), now)
    window = text[:_SEARCH_WINDOW]
    for regex in _NEAR_START:
        found = regex.search(window)
        if found:
            return _build(found.groupdict(), now)
    return None


def normalize_level(level: str) -> str | None:
    """A level name in canonical upper case (WARN -> WARNING, crit -> CRITICAL, LOG -> INFO)."""
    upper = level.strip().upper().rstrip("12345") or "DEBUG"
    if upper in _NO_LEVEL:
        return None
    return _LEVEL_ALIASES.get(upper, upper)


def parse_level(text: str) -> str | None:
    """The log level named near the start of TEXT (upper-case word or "[error]"), or None."""
    for found in _LEVEL_WORD.finditer(text[:_SEARCH_WINDOW]):
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


def _json_ids(record: dict[str, Any]) -> dict[str, str]:
    """The ids an action may need that a JSON record carries as plain keys."""
    keys = ("dag_id", "task_id", "run_id", "try_number", "app_id", "host", "logger")
    return {k: str(record[k]) for k in keys if isinstance(record.get(k), str | int)}


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
        attributes=_json_ids(record),
    )


def _now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def _access_level(status: str) -> str:
    """The level an access log line deserves from its status: 5xx error, 4xx warning."""
    return "ERROR" if status >= "500" else "WARNING" if status >= "400" else "INFO"


def _attributes(found: re.Match[str], body: str) -> dict[str, str]:
    """The ids a line carries: its logger, host, request and key=value ids in its body."""
    groups = found.groupdict()
    names = ("logger", "host", "method", "path", "status")
    ids = {name: str(groups[name]) for name in names if groups.get(name)}
    if "=" in body:
        ids.update(_IDS.findall(body))
    return ids


def _parse_known(
    text: str, line_format: LineFormat, found: re.Match[str], now: datetime
) -> ParsedLine:
    """A line of a known format: fields from its header, level also from its body."""
    body = text[found.end() :]
    groups = found.groupdict()
    if line_format is ACCESS:
        level: str | None = _access_level(str(groups["status"]))
    elif groups.get("level"):
        level = normalize_level(str(groups["level"]))
    else:
        level = parse_level(body)
    return ParsedLine(
        message=text,
        timestamp=_build(groups, now),
        level=level,
        service=groups.get("service") or _service_of(line_format, groups),
        attributes=_attributes(found, body),
    )


def _service_of(line_format: LineFormat, groups: dict[str, str | None]) -> str | None:
    """The service a format names: fixed (nginx), or an OpenStack logger's project (nova)."""
    if line_format.name == "openstack" and groups.get("logger"):
        return str(groups["logger"]).split(".")[0]
    return line_format.service


def _parse_unknown(text: str, now: datetime) -> ParsedLine:
    """A line no format knows: a timestamp and level found near its start, if any."""
    return ParsedLine(message=text, timestamp=parse_timestamp(text, now), level=parse_level(text))


def parse_line(text: str, now: datetime | None = None, parser: str = "auto") -> ParsedLine:
    """Timestamp, level, service and ids of one line, read by PARSER ("auto" guesses)."""
    now = now or _now()
    if parser in ("auto", "json") and text.startswith("{"):
        parsed = parse_json_line(text, now)
        if parsed is not None:
            return parsed
    if parser == "plain":
        return ParsedLine(message=text)
    if parser in ("auto", "json"):
        known = _match(text)
    else:
        line_format = BY_NAME[check_parser(parser)]
        found = line_format.match(text)
        known = (line_format, found) if found else None
    if known is None:
        return _parse_unknown(text, now)
    return _parse_known(text, known[0], known[1], now)


def split_header(text: str, layout: HeaderLayout | None = None) -> tuple[str, str]:
    """(kind, body) of a line: the body is its message without the header (time, level, host,
    pid, thread, logger); the kind is a header part that tells events apart (an access log's
    method, route and status), kept as written. LAYOUT is the header learned from the line's
    file; without one, a known format's header is the hint, else the line alone is read."""
    found = ACCESS.match(text)
    if found is not None:
        return access_label(found), ""
    end = layout.header_end(text) if layout is not None and layout.regex is not None else 0
    if end == 0:  # no layout, or a line unlike the file's first ones (another writer's)
        known = _match(text)
        end = known[1].end() if known is not None else line_header_end(text)
    body = text[end:].lstrip(" \t")
    return ("", body) if body.strip() else ("", text)
