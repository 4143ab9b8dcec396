"""Masking: replace the variable parts of a log message with placeholders to get its template.

A line's header (time, level, pid, thread, logger: see `sources.parsing.split_header`) is
dropped first: it says when and where, not what happened. Rules then run in order, most
specific first (a timestamp before its numbers, a URL's query before its key=value pairs). A
later rule leaves placeholders alone. The value of a key=value pair becomes <VAL> when it names
who or where (user=, rhost=, host=) or holds anything but letters, so `rhost=<IP>` and
`rhost=gw` share a template; a plain word otherwise stays, since `status=FAILED` and
`status=KILLED` are different problems. Quoted text stays, its variable parts masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from oncall_agent.sources.line_structure import HeaderLayout
from oncall_agent.sources.parsing import split_header

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
# Timestamps that start with a day or month name ("Sun Dec 04 04:47:44 2005", "Jun 14 15:16:01").
_NAMED_TIMESTAMP = re.compile(
    rf"(?:{_DAY},? )?{_MONTH} +\d{{1,2}},? \d{{2}}:\d{{2}}:\d{{2}}(?:[.,]\d+)?(?: \d{{4}})?"
)
# Numeric ones. One leading digit outside the alternation lets `re` skip to digits quickly.
_NUMERIC_TIMESTAMP = re.compile(
    r"(?<![\d:/])\d(?:"
    + "|".join(
        (
            r"\d{3}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
            rf"\d?/{_MONTH}/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}(?: [+-]\d{{4}})?",
            r"\d{1,3}/\d{2}/\d{2,4}(?:[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)?(?![\d/])",
            r"\d?:\d{2}:\d{2}(?:[.,]\d+)?(?![\d:])",
        )
    )
    + ")"
)
_QUERY = re.compile(r"(?<=[\w/])\?[\w.%\[\]-]+=[^\s\"'#<>]*")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_UUID = re.compile(r"\b[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\b", re.IGNORECASE)
_HEX_PREFIXED = re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?!\.?\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{1,4}(?![\w:])", re.IGNORECASE)
# A host name: dotted lower-case labels whose first holds a digit or a hyphen (db-7.prod.x.com,
# ip-10-0-0-1.ec2.internal), a dotted name with a port, or localhost. Other dotted words
# (example.com, spark.executor.memory, a Java package) may be keys or classes: when they vary
# between lines of one kind, the template miner finds that out.
_HOST = re.compile(
    r"(?<![\w.-])(?:localhost(?::\d{1,5})?"
    r"|(?=[a-z0-9-]*[\d-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9][a-z0-9-]*)*\.[a-z]{2,24}(?::\d{1,5})?"
    r"|[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+:\d{1,5})(?![\w-]|\.[\w-])"
)
_PATH = re.compile(r"(?<![\w.:/<>-])(?:~|[A-Za-z]:)?/[\w.@%+~,-]+(?:/[\w.@%+~,-]*)*")
_QUOTED = re.compile(r"'(?!<[A-Z]+>')[^'\s]{1,200}'|\"(?!<[A-Z]+>\")[^\"\s]{1,200}\"")
_KEY_VALUE = re.compile(
    r"(?<![\w.-])([A-Za-z_][\w.-]{0,63})=(?!=)(<[A-Z]+>|\"[^\"]*\"|'[^']*'|[^\s,;&)\]}>\"']+)"
)
# Keys whose values name who or where (one incident for every user, not one per user).
_IDENTITY_KEYS = frozenset(
    {"user", "username", "login", "ruser", "rhost", "host", "hostname", "client", "remote",
     "peer", "email", "session", "token", "ip", "addr", "address", "name"}
)  # fmt: skip
# A value without digits or punctuation is a state or a kind (status=FAILED, dag_id=etl).
_WORD_VALUE = re.compile(r"[A-Za-z_][A-Za-z_-]{0,39}")
# A user name after the words that introduce one in auth logs ("Invalid user bob from ...").
_USER = re.compile(
    r"\b((?:invalid |illegal )?user|(?:password|publickey|none) for(?: invalid user)?)"
    r" (?!<)[\w.@-]+(?= from\b| port\b| by\b| \[preauth\]|$)",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?)"
    r"(?![\w])"
)
# A token (letters and digits) that holds a digit is a variable: a number, an id, a hash.
_TOKEN = re.compile(r"(?<![A-Za-z0-9<])-?(?=[A-Za-z]*\d)[A-Za-z0-9]+(?:\.\d+)*(?![A-Za-z0-9>])")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)*")
_HEX_TOKEN = re.compile(r"[0-9a-fA-F]{8,}")
_SPACES = re.compile(r"\s+")


def _token(match: re.Match[str]) -> str:
    """The placeholder for a token holding a digit: <NUM>, <HEX> or <ID>."""
    text = match.group(0)
    if _NUMBER.fullmatch(text):
        return "<NUM>"
    return "<HEX>" if _HEX_TOKEN.fullmatch(text) else "<ID>"


def _quoted(match: re.Match[str]) -> str:
    """A short quoted value becomes a quoted <STR> with the same quotes."""
    quote = match.group(0)[0]
    return f"{quote}<STR>{quote}"


def _key_value(match: re.Match[str]) -> str:
    """key=<VAL> unless the value is quoted text or a word naming a state (status=FAILED)."""
    key, value = match.group(1), match.group(2)
    if value[0] in "\"'":
        return match.group(0)  # quoted text: its variable parts were masked by earlier rules
    if key.lower() in _IDENTITY_KEYS or not _WORD_VALUE.fullmatch(value):
        return f"{key}=<VAL>"
    return match.group(0)


_Replacement = str | Callable[[re.Match[str]], str]
_DIGITS = tuple("0123456789")
# Each rule with the strings one of which its matches must contain (None: always run): a rule
# whose needles are absent is skipped, which halves the cost of masking a typical line.
_RULES: tuple[tuple[re.Pattern[str], _Replacement, tuple[str, ...] | None], ...] = (
    (_NAMED_TIMESTAMP, "<TS>", (":",)),
    (_NUMERIC_TIMESTAMP, "<TS>", (":", "-", "/")),
    (_QUERY, "?<QUERY>", ("?",)),
    (_EMAIL, "<EMAIL>", ("@",)),
    (_UUID, "<UUID>", ("-",)),
    (_HEX_PREFIXED, "<HEX>", ("0x", "0X")),
    (_HOST, "<HOST>", (".", "localhost")),
    (_IPV4, "<IP>", (".",)),
    (_IPV6, "<IP>", (":",)),
    (_PATH, "<PATH>", ("/",)),
    (_QUOTED, _quoted, ("'", '"')),
    (_KEY_VALUE, _key_value, ("=",)),
    (_USER, r"\1 <USER>", None),
    (_DURATION, "<DURATION>", _DIGITS),
    (_TOKEN, _token, _DIGITS),
)


def mask_text(text: str) -> str:
    """TEXT with variable parts replaced by placeholders, whitespace collapsed."""
    # Whitespace first, so that no rule has to allow for runs of spaces or tabs.
    text = _SPACES.sub(" ", text).strip()
    for regex, replacement, needles in _RULES:
        if needles is None or any(needle in text for needle in needles):
            text = regex.sub(replacement, text)
    return text


def mask(message: str, layout: HeaderLayout | None = None) -> str:
    """The template of a log MESSAGE: its body (header dropped, as LAYOUT says when given)
    with variable parts masked."""
    kind, body = split_header(message, layout)
    if not body:
        return kind
    template = mask_text(body)
    return f"{kind} {template}" if kind else template
