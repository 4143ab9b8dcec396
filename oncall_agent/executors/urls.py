"""Whether a URL lies under an allowed prefix, compared by parts (a plain string prefix is unsafe).

`http://svc` as a string prefix would also admit `http://svc.evil.com` and `http://svc@evil.com`;
so scheme, host and port must be equal and the path must continue at a segment boundary. Paths a
server might read differently from us are refused before comparing: encoded dots, slashes,
backslashes or percent signs (`%2e`, `%2f`, `%5c`, `%25` - the last is how a double-encoded dot
`%252e` gets through one decoding), `;` (Tomcat and Spring read `..;/` as `..`), backslashes, and
`.` or `..` segments. The method must be one the matching prefix allows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import httpx

from oncall_agent.errors import ActionRejected
from oncall_agent.executors.config import HttpPrefix

_AMBIGUOUS_PATH = re.compile(r"%(2e|2f|5c|25)|[;\\]", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_url_allowed(url: Any, allowed: Sequence[HttpPrefix | str], method: str = "GET") -> str:
    """URL (normalized) if it is under a prefix allowing METHOD; ActionRejected if not."""
    prefixes = [HttpPrefix(prefix=p) if isinstance(p, str) else p for p in allowed]
    if not prefixes:
        raise ActionRejected(
            "http_call: no URL prefixes are allowed (http_allowed_prefixes is empty)"
        )
    if not isinstance(url, str) or not url:
        raise ActionRejected("http_call: 'url' must be a non-empty string")
    parsed = _parse(url)
    under = [p for p in prefixes if _under(parsed, _parse(p.prefix))]
    if not under:
        shown = [p.prefix for p in prefixes]
        raise ActionRejected(f"http_call: URL {url[:200]!r} is not under an allowed prefix {shown}")
    if not any(method.upper() in p.methods for p in under):
        allowed = sorted({m for p in under for m in p.methods})
        raise ActionRejected(
            f"http_call: method {method.upper()} is not allowed under {under[0].prefix!r} "
            f"(allowed there: {allowed}); add it to that prefix's methods"
        )
    return str(parsed)


def _parse(url: str) -> httpx.URL:
    """URL parsed strictly: http(s), a host, no credentials, no whitespace or control characters."""
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise ActionRejected(
            f"http_call: URL {url[:200]!r} contains whitespace or control characters"
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ActionRejected(f"http_call: URL {url[:200]!r} is not valid: {exc}") from exc
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise ActionRejected(f"http_call: URL {url[:200]!r} must be http(s) with a host")
    if parsed.userinfo:
        raise ActionRejected(f"http_call: URL {url[:200]!r} must not carry credentials")
    raw_path = url.split("://", 1)[-1].partition("/")[2].split("?")[0].split("#")[0]
    segments = raw_path.split("/") + parsed.path.split("/")
    if (
        _AMBIGUOUS_PATH.search(parsed.raw_path.decode("ascii").split("?")[0])
        or _AMBIGUOUS_PATH.search(raw_path)
        or any(segment in (".", "..") for segment in segments)
    ):
        raise ActionRejected(
            f"http_call: URL {url[:200]!r} has '.' or '..' segments, ';', backslashes or "
            "encoded separators; write the plain path"
        )
    return parsed


def _under(url: httpx.URL, prefix: httpx.URL) -> bool:
    """Same scheme, host and port, and URL's path continues PREFIX's path at a '/' boundary."""
    if (url.scheme, url.host, _port(url)) != (prefix.scheme, prefix.host, _port(prefix)):
        return False
    base = prefix.path
    if base.endswith("/"):
        return url.path.startswith(base)
    return url.path == base or url.path.startswith(base + "/")


def _port(url: httpx.URL) -> int:
    """The URL's port, the scheme's default if none is written."""
    return url.port or _DEFAULT_PORTS[url.scheme]
