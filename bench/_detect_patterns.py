"""Pattern sets of the detection benchmark, and the same regexes for GNU grep -E and ripgrep.

The sets "50" and "200" are written so that grep, ripgrep and the agent can all run them fairly
and flag the same lines: case-insensitive, gaps written `.*` (never bounded repeats such as
`.{0,200}?`: GNU grep compiles a bounded repeat of `.` into a DFA state per repetition, its
worst case, while `.*` is one state), no lookarounds, no case-sensitive parts. Each holds
FAIR_CORE (level words and common failure phrases, which real logs hit) and then generated but
realistic patterns (a subsystem, a failure phrase, ids and counts between). The old sets
("default": the built-in patterns, with bounded repeats; "large") remain for comparison.

grep -E has no non-capturing groups, lazy or case-sensitive parts, nor \\d: the ERE text is
written from Python's parse tree, each character class spelled out over ASCII (as the agent's
Hyperscan translation does); what ERE cannot say (a case-sensitive part under -i, a lookaround)
is widened, so grep may count a few more lines than the agent flags, never fewer. ripgrep reads
the agent's own Hyperscan translation, which its regex syntax accepts as is.
"""

from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Any

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.defaults import DEFAULT_PATTERNS
from oncall_agent.detection.regex_translate import translate
from oncall_agent.models import Severity

LARGE_SET_SIZE = 200

_SUBSYSTEMS = [
    "payment gateway", "checkout", "inventory sync", "billing run", "invoice export",
    "session store", "token refresh", "oauth callback", "ldap bind", "saml assertion",
    "kafka consumer", "kafka producer", "rabbitmq channel", "sqs poller", "pubsub subscriber",
    "elasticsearch bulk", "index refresh", "search query", "s3 upload", "gcs download",
    "dns lookup", "tls handshake", "certificate renewal", "smtp relay", "webhook delivery",
    "cron job", "backup job", "snapshot", "replication slot", "wal archiver",
    "raft election", "etcd lease", "consul check", "vault lease", "docker daemon",
    "containerd shim", "kubelet", "ingress controller", "load balancer", "cdn origin",
]  # fmt: skip
_FAILURES = [
    "failed", "timed out", "was rejected", "is unavailable", "returned an error",
    "exceeded its quota", "lost its connection", "could not be scheduled", "gave up",
    "was aborted",
]  # fmt: skip
_SHAPES = [
    r"\b{s}\b.{{0,100}}?\b(?:{f1}|{f2})\b",
    r"(?:{f1}|{f2}) (?:while|during|in) (?:\w+ ){{0,3}}{s}",
    r"\b{s} (?:id|#|job)\s*[=:]?\s*\d+ (?:{f1}|{f2})",
    r"\[{s}\] (?:attempt \d+ )?(?:{f1}|{f2})",
    r"\b{s}\b.{{0,60}}?\b(?:code|status|errno)[=: ]+[1-9]\d{{2,3}}\b",
]


def _large_extra(count: int) -> list[AlertPattern]:
    """COUNT generated patterns: every subsystem in every shape, failure phrases rotating."""
    made: list[AlertPattern] = []
    for shape_no, shape in enumerate(_SHAPES):
        for n, subsystem in enumerate(_SUBSYSTEMS):
            f1 = _FAILURES[(n + shape_no) % len(_FAILURES)]
            f2 = _FAILURES[(n + shape_no + 3) % len(_FAILURES)]
            regex = shape.format(s=re.escape(subsystem).replace("\\ ", " "), f1=f1, f2=f2)
            made.append(
                AlertPattern(
                    name=f"gen-{shape_no}-{subsystem.replace(' ', '-')}",
                    regex=regex,
                    category=subsystem.split()[0],
                    severity=Severity.ERROR,
                )
            )
    return made[:count]


# Level words (the agent alerts on a line whose parsed level is one of them even when no pattern
# matches, so every such word must be a pattern here) and failure phrases.
FAIR_CORE = [
    r"\b(?:err|error|severe|fatal|crit|critical|emerg|emergency|alert|panic)\b",
    r"exception", r"\bfailed\b", r"\bfailure\b", r"out of memory", r"no space left on device",
    r"connection refused", r"\btimed out\b", r"permission denied", r"\bunable to\b",
    r"\bcould not\b", r"\brefused\b",
]  # fmt: skip
_FAIR_SHAPES = [
    r"\b{s}\b.*\b(?:{f1}|{f2})\b",
    r"(?:{f1}|{f2}) (?:while|during|in) .*{s}",
    r"\b{s} (?:id|#|job) *[=:]? *[0-9]+ (?:{f1}|{f2})",
    r"\[{s}\] (?:attempt [0-9]+ )?(?:{f1}|{f2})",
    r"\b{s}\b.*\b(?:code|status|errno)[=: ]+[1-9][0-9]+\b",
]


def _fair(count: int) -> list[AlertPattern]:
    """COUNT fair patterns: FAIR_CORE, then every subsystem in every fair shape."""
    regexes = list(FAIR_CORE)
    for shape_no, shape in enumerate(_FAIR_SHAPES):
        for n, subsystem in enumerate(_SUBSYSTEMS):
            f1 = _FAILURES[(n + shape_no) % len(_FAILURES)]
            f2 = _FAILURES[(n + shape_no + 3) % len(_FAILURES)]
            regexes.append(shape.format(s=subsystem, f1=f1, f2=f2))
    return [
        AlertPattern(name=f"fair-{n}", regex=regex, category="bench", severity=Severity.ERROR)
        for n, regex in enumerate(regexes[:count])
    ]


def pattern_set(name: str) -> list[AlertPattern]:
    """The patterns of set NAME: "50", "200" (fair), "default" or "large"."""
    if name.isdigit():
        return _fair(int(name))
    if name == "default":
        return list(DEFAULT_PATTERNS)
    if name == "large":
        return [*_large_extra(LARGE_SET_SIZE - len(DEFAULT_PATTERNS)), *DEFAULT_PATTERNS]
    raise ValueError(f"unknown pattern set {name!r}; use default or large")


def rg_lines(patterns: list[AlertPattern]) -> list[bytes]:
    """One ripgrep regex per pattern: the agent's exact Hyperscan translation."""
    return [translate(p.regex, re.IGNORECASE).expression for p in patterns]


def grep_lines(patterns: list[AlertPattern]) -> list[bytes]:
    """One POSIX ERE (GNU extensions \\b, \\B) per pattern, meant for LC_ALL=C grep -E -i."""
    lines = []
    for pattern in patterns:
        parsed = sre_parser.parse(pattern.regex, re.IGNORECASE)
        lines.append(_ere(parsed, parsed.state.flags).encode("latin-1"))
    return lines


_ERE_SPECIAL = set(".[]()*+?{}|^$\\")
_ASCII = [chr(c) for c in range(1, 128) if c not in (10, 13)]


def _ere(items: Any, flags: int) -> str:
    """ERE text of a parse-tree sequence."""
    return "".join(_ere_node(op, av, flags) for op, av in items)


def _ere_node(op: Any, av: Any, flags: int) -> str:
    """ERE text of one node (widened where ERE cannot say it)."""
    if op is C.LITERAL:
        char = chr(av) if av < 256 and av not in (10, 13) else "\xff"
        return "\\" + char if char in _ERE_SPECIAL else char
    if op is C.ANY:
        return "."  # any byte but a newline, as the agent's `.` on a line (LC_ALL=C)
    if op in (C.NOT_LITERAL, C.IN):
        return _bracket(_one_char_source(op, av), flags)
    if op is C.SUBPATTERN:
        return "(" + _ere(av[-1], (flags | av[1]) & ~av[2]) + ")"
    if op is C.BRANCH:
        return "(" + "|".join(_ere(b, flags) for b in av[1]) + ")"
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        low, high, body = av
        bound = f"{{{low},}}" if high is C.MAXREPEAT else f"{{{low},{high}}}"
        bound = {"{0,}": "*", "{1,}": "+", "{0,1}": "?"}.get(bound, bound)
        text = _ere(body, flags)
        single = len(body) == 1 and body[0][0] in (C.ANY, C.LITERAL, C.IN, C.NOT_LITERAL)
        return (text if single else "(" + text + ")") + bound
    if op is C.AT:
        return {C.AT_BOUNDARY: r"\b", C.AT_NON_BOUNDARY: r"\B"}.get(
            av, "^" if av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING) else "\r*$"
        )
    if op is getattr(C, "ATOMIC_GROUP", None):
        return "(" + _ere(av, flags) + ")"
    if op is C.GROUPREF:
        return ".*"
    return ""  # a lookaround: dropped, which only widens the match


def _one_char_source(op: Any, av: Any) -> str:
    """Python source of a one-character matcher, to be evaluated over ASCII."""
    if op is C.ANY:
        return "."
    if op is C.NOT_LITERAL:
        return f"[^\\U{av:08x}]"
    from oncall_agent.detection.regex_translate import _in_source

    return _in_source(av)


def _bracket(source: str, flags: int) -> str:
    """A POSIX bracket expression for the ASCII characters SOURCE matches."""
    matcher = re.compile(source, flags)
    chars = [ch for ch in _ASCII if matcher.fullmatch(ch)]
    if not chars:
        return "\xff"  # nothing on an ASCII line
    special = [ch for ch in "]^-[" if ch in chars]
    plain = [ch for ch in chars if ch not in "]^-["]
    body = _ranges(plain)
    if "]" in special:
        body = "]" + body
    if "[" in special:
        body += "["
    if "^" in special:
        body += "^" if body else "\\^"
    if "-" in special:
        body += "-"
    if body == "\\^":
        return body
    return "[" + body + "]"


def _ranges(chars: list[str]) -> str:
    """CHARS (sorted) written with ranges."""
    parts, index = [], 0
    while index < len(chars):
        end = index
        while end + 1 < len(chars) and ord(chars[end + 1]) == ord(chars[end]) + 1:
            end += 1
        parts.append(chars[index] if end - index < 2 else f"{chars[index]}-{chars[end]}")
        if end - index == 1:
            parts.append(chars[end])
        index = end + 1
    return "".join(parts)
