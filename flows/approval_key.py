"""The key that signs one-time approval codes: a Prefect Secret block, made on first use.

Only the resolution flow needs it (it sends and checks codes); `oncall approve` passes the code
through and never reads the key. Rotate it by saving a new value in the block (`oncall-approval-key`
in the UI, or `Secret(value=...).save("oncall-approval-key", overwrite=True)`): codes already
sent stop working, so the requests they answer expire and escalate.
"""

from __future__ import annotations

import secrets
from typing import Any

from prefect.blocks.system import Secret
from prefect.exceptions import ObjectAlreadyExists
from pydantic import SecretStr

APPROVAL_KEY_BLOCK = "oncall-approval-key"


async def load_approval_key(name: str = APPROVAL_KEY_BLOCK) -> bytes:
    """The approval-code key from Secret block NAME, creating a random one if there is none."""
    block: Any
    try:
        block = await Secret.aload(name)
    except ValueError:  # no such block yet: make one (two runs racing end with the same key)
        block = Secret(value=f"oncall-{secrets.token_urlsafe(32)}")
        try:
            await block.asave(name, overwrite=False)
        except (ObjectAlreadyExists, ValueError):
            block = await Secret.aload(name)
    value: SecretStr = block.value  # we only ever save a string
    return value.get_secret_value().encode()
