"""One-time approval codes: proof that an approver read a message sent to their own channel.

A code is HMAC-SHA256(key, approval id | approver | parameter hash | expiry), shown as 12 base32
characters in groups of four. It is never stored: the flow recomputes it to check an answer, so a
code only works for its approval, its approver, the exact parameters requested, and until expiry.
Single use follows from the approval itself: the first accepted answer consumes it.
The key lives in a Prefect Secret block (see `flows/approval_key.py`); whoever can read that block
can mint codes, so keep Prefect API access as narrow as approval rights.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

CODE_CHARS = 12


def approval_code(
    key: bytes, approval_id: int, approver: str, params_hash: str, expires_at: datetime
) -> str:
    """The code for APPROVER to answer APPROVAL_ID with these parameters before EXPIRES_AT."""
    # Whole seconds since the epoch: the same instant whatever the store's datetime type keeps.
    message = f"{approval_id}|{approver}|{params_hash}|{int(expires_at.timestamp())}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    text = base64.b32encode(digest).decode()[:CODE_CHARS]
    return "-".join(text[i : i + 4] for i in range(0, CODE_CHARS, 4))


def normalize_code(code: str) -> str:
    """CODE as typed, without spaces or dashes, upper case (people copy codes loosely)."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_matches(
    key: bytes, code: str, approval_id: int, approver: str, params_hash: str, expires_at: datetime
) -> bool:
    """Whether CODE is the one sent to APPROVER for this approval (constant-time compare)."""
    wanted = normalize_code(approval_code(key, approval_id, approver, params_hash, expires_at))
    return hmac.compare_digest(wanted.encode(), normalize_code(code).encode())


def code_owner(
    key: bytes,
    code: str,
    approval_id: int,
    candidates: Iterable[str],
    params_hash: str,
    expires_at: datetime,
) -> str | None:
    """The approver among CANDIDATES whose code CODE is, or None."""
    for name in candidates:
        if code_matches(key, code, approval_id, name, params_hash, expires_at):
            return name
    return None
