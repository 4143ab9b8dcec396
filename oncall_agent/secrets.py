"""Masking secrets out of text: the one function every path calls before text is stored or sent.

`mask_secrets(text, known)` replaces the KNOWN secret values (a block's SecretStr fields) and every
common credential shape: `key=value` and `key: value` pairs whose key names a secret (password,
passwd, pwd, secret, token, api_key/apikey, access/private keys, credentials, auth), whatever the
value looks like (`api_key=sk_live_abcdef` too); Authorization headers and Bearer tokens;
credentials inside URLs (`scheme://user:pass@host`); PEM private keys; self-identifying token
formats (GitHub, AWS, Slack, OpenAI-style, JWTs). Log lines are masked when they are detected, so
titles, templates, samples, attributes, notifications, artifacts and prompts never hold them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

# The key starts at the keyword (a "DB_" before it simply stays in the text): a pattern that
# first consumes a word and then looks for the keyword backtracks quadratically on long words.
_KEY_VALUE = re.compile(
    r"""(?ix)
    (?P<key>(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth[_-]?key
        |private[_-]?key|client[_-]?secret|credentials?)[\w.-]{0,40}?["']?)
    (?P<sep>\s*[=:]\s*)
    (?P<quote>["'])?
    (?P<value>(?(quote)[^"'\r\n]+|[^\s,;&"'}\])]+))
    """
)
_AUTH_HEADER = re.compile(r"(?i)(authorization\s*[:=]\s*)(?:(bearer|basic|token|digest)\s+)?\S+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{0,30}://[^\s:/@]+:)[^\s/@]+@")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)", re.S
)
# Self-identifying token formats: GitHub, AWS access keys, Slack, Stripe/OpenAI-style, JWTs.
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|sk-[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{6,}"
    r"|eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})"
)
# Cheap pre-check: text without any of these (lower-cased) holds no shape the rules mask.
_HINTS = ("pass", "pwd", "secret", "token", "key", "cred", "auth", "bearer", "://", "private",
          "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat", "akia", "xox", "sk-", "k_live",
          "k_test", "eyj")  # fmt: skip


def mask_secrets(text: str, known: Iterable[str] = ()) -> str:
    """TEXT with the KNOWN secret values and every credential shape replaced by [REDACTED]."""
    # Longest first, so a secret that contains another is removed whole.
    for secret in sorted({s for s in known if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return text
    text = _PRIVATE_KEY.sub(REDACTED, text)
    text = _URL_CREDENTIALS.sub(rf"\1{REDACTED}@", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{_scheme(m.group(2))}{REDACTED}", text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    text = _KEY_VALUE.sub(_masked_pair, text)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def _masked_pair(match: re.Match[str]) -> str:
    """key=[REDACTED] keeping the key, separator and quote, unless the value is already masked."""
    if match.group("value").startswith(REDACTED[:-1]):
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{match.group('quote') or ''}{REDACTED}"


def _scheme(name: str | None) -> str:
    """The authorization scheme followed by a space, or nothing."""
    return f"{name} " if name else ""
