"""The log line formats the parser knows: one anchored regex per format, named groups for its parts.

Groups a format may define: y, m (month number) or mon (month name), d, H, M, S, frac, tz
(timestamp); level; service; logger; pid; status, method, path (access logs). The body of the
line (its message without the header) starts where the regex match ends, except for access
logs, whose kind is method, route and status (see `access_label`). Formats are tried in the
order of `FORMATS` when the parser is "auto"; a source may name one instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MON = rf"(?P<mon>{'|'.join(MONTH_NAMES)})"
_HMS = r"(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?:[.,](?P<frac>\d{1,9}))?"
_DATE = r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
_ISO = _DATE + r"[T ]" + _HMS
_ZONE = r"(?P<tz>Z|[+-]\d{2}:?\d{2}|UTC|GMT)"
_LOGGER = r"(?P<logger>[\w.$-]+)"
_LEVEL_WORDS = r"TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|SEVERE|FINE|CONFIG"
_LEVEL = rf"(?P<level>{_LEVEL_WORDS})"
# After a syslog timestamp: host, program (maybe a version, a facility, a pid), colon. A level
# word is never a host: "2024-05-01T10:00:00Z ERROR pool: ..." is a generic line, not syslog.
_SYSLOG_REST = (
    rf" (?!(?:{_LEVEL_WORDS})\b)(?P<host>[\w.-]+)"  # a level where a host would be: not syslog
    r" (?P<service>[A-Za-z][\w./-]*)(?: [\d.]+)?(?:\([^)]*\))?"
    r"(?:\[(?P<pid>\d+)\])?: "
)


# A timestamp such as 2024-05-01T10:00:00.123+02:00, searched for near the start of other lines.
ISO_TIMESTAMP = re.compile(_ISO + r" ?" + _ZONE + r"?")
# Timestamps a line may start with (after an optional "["), for lines no format knows.
START_TIMESTAMPS = (
    ISO_TIMESTAMP,
    re.compile(_MON + r" +(?P<d>\d{1,2}) " + _HMS),  # Jun 14 15:16:01
    re.compile(r"\w{3} " + _MON + r" (?P<d>\d{1,2}) " + _HMS + r" (?P<y>\d{4})"),  # ctime
    re.compile(r"(?P<y>\d{2,4})/(?P<m>\d{2})/(?P<d>\d{2}) " + _HMS),  # 17/06/09 20:10:40
    re.compile(r"(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2}) (?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})\b"),
)
# The time of an access log line: [10/Oct/2000:13:55:36 -0700].
ACCESS_TIMESTAMP = re.compile(
    r"\[(?P<d>\d{2})/" + _MON + r"/(?P<y>\d{4}):" + _HMS + r" (?P<tz>[+-]\d{4})\]"
)


@dataclass(frozen=True)
class LineFormat:
    """A named log format: its header regex and a fixed service name, if the format has one."""

    name: str
    regexes: tuple[re.Pattern[str], ...]
    service: str | None = None

    def match(self, text: str) -> re.Match[str] | None:
        """The header of this format at the start of TEXT, or None."""
        for regex in self.regexes:
            found = regex.match(text)
            if found:
                return found
        return None


def _format(name: str, *patterns: str, service: str | None = None) -> LineFormat:
    """A LineFormat whose regexes are PATTERNS, each anchored at the start of the line."""
    return LineFormat(name, tuple(re.compile(p) for p in patterns), service)


# fmt: off
ACCESS = _format(
    "access",  # nginx / Apache combined or common log format
    r"(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<d>\d{2})/" + _MON + r"/(?P<y>\d{4}):" + _HMS
    + r" (?P<tz>[+-]\d{4})\] \"(?P<method>[A-Z]{3,10}) (?P<path>\S+)(?: (?P<proto>HTTP/[\d.]+))?\""
    r" (?P<status>\d{3}) ",
)
FORMATS: tuple[LineFormat, ...] = (
    ACCESS,
    _format(  # 2024/01/01 10:00:00 [error] 123#0: *45 upstream timed out ...
        "nginx-error",
        r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2}) " + _HMS
        + r" \[(?P<level>[a-z]+)\] (?P<pid>\d+)#\d+: (?:\*\d+ )?",
        service="nginx",
    ),
    _format(  # [Sun Dec 04 04:47:44 2005] [error] ... / [...] [core:error] [pid 1:tid 2] ...
        "apache-error",
        r"\[\w{3} " + _MON + r" (?P<d>\d{1,2}) " + _HMS + r" (?P<y>\d{4})\] "
        r"\[(?:\w+:)?(?P<level>[a-z]+\d?)\] (?:\[pid (?P<pid>\d+)(?::tid \d+)?\] )?"
        r"(?:\[client [^\]]+\] )?",
        service="apache",
    ),
    _format(  # [2024-01-01, 10:00:00 UTC] {taskinstance.py:1234} ERROR - ...
        "airflow",
        r"\[" + _DATE + r"(?:, |T| )" + _HMS + r" ?" + _ZONE + r"?\] \{(?P<logger>[^}]*)\} "
        + _LEVEL + r" - ",
        service="airflow",
    ),
    _format(  # 2024-01-01 10:00:00.123 UTC [123] ERROR:  ...
        "postgresql",
        _ISO + r" (?P<tz>[A-Z]{2,5}|[+-]\d{2}(?::?\d{2})?) \[(?P<pid>\d+)\](?:-\d+)? "
        r"(?:\S+@\S+ )?(?P<level>[A-Z]+\d?):  ?",
        service="postgresql",
    ),
    _format(  # 2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:...@774] - ...
        "zookeeper", _ISO + r" - " + _LEVEL + r" +\[(?P<thread>.*?)\] - ",
    ),
    _format(  # 2024-01-01 10:00:00,123 - app.db - ERROR - ... (Python logging's usual format)
        "python", _ISO + r" - " + _LOGGER + r" - " + _LEVEL + r" - ",
    ),
    _format(  # 2015-10-18 18:01:47,978 INFO [main] org.apache...MRAppMaster: ... (log4j)
        "log4j", _ISO + r" " + _LEVEL + r" +\[(?P<thread>[^\]]*)\] " + _LOGGER + r": ",
    ),
    _format(  # 2017-05-16 00:00:00.008 25746 INFO nova.x [req-... ] ...
        "openstack",
        _ISO + r" (?P<pid>\d+) " + _LEVEL + r" " + _LOGGER
        + r" (?:\[[^\]]*\] )?",
    ),
    _format(  # 081109 203615 148 INFO dfs.DataNode$PacketResponder: ...
        "hdfs",
        r"(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2}) (?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2}) "
        r"(?P<pid>\d+) " + _LEVEL + r" " + _LOGGER + r": ",
    ),
    _format(  # 17/06/09 20:10:40 INFO spark.SecurityManager: ...
        "spark",
        r"(?P<y>\d{2})/(?P<m>\d{2})/(?P<d>\d{2}) " + _HMS + r" " + _LEVEL + r" " + _LOGGER + r": ",
    ),
    _format(  # Jun 14 15:16:01 combo sshd(pam_unix)[19939]: ... (also ISO-dated rsyslog)
        "syslog",
        _MON + r" +(?P<d>\d{1,2}) " + _HMS + _SYSLOG_REST,
        _ISO + _ZONE + r"?" + _SYSLOG_REST,
    ),
    _format(  # 2024-05-01T10:00:00Z ERROR [worker-1] pool: ... and other timestamp-first lines
        "generic",
        r"\[?" + _ISO + r" ?" + _ZONE + r"?\]?(?: ?[-|:])?"
        r"(?: \[?" + _LEVEL + r"\]?"
        r"(?: +\[[^\]]{0,80}\])?(?: ?[-|:])?)? ",
    ),
)
# fmt: on
GENERIC = FORMATS[-1]
BY_NAME: dict[str, LineFormat] = {f.name: f for f in FORMATS}


_FIRST_SEGMENT = re.compile(r"/[^/?#;]*")


def access_label(found: re.Match[str]) -> str:
    """What kind of request an access log line records: method, first path segment, status.

    Only the first segment: deeper ones are ids and slugs (/users/alice), so keeping them would
    open one incident per user; a segment holding a digit is an id too (/v2, /42).
    """
    segment = _FIRST_SEGMENT.match(found["path"])
    route = segment.group(0) if segment else "/"
    if any(c.isdigit() for c in route):
        route = "/<ID>"
    return f"{found['method']} {route} {found['status']}"
