"""The one place text is masked before it is sent to a model: the store's own masking."""

from __future__ import annotations

from collections.abc import Iterable

from oncall_agent.secrets import mask_secrets


def redact_for_prompt(text: str, secrets: Iterable[str] = ()) -> str:
    """TEXT with configured SECRETS and every credential shape masked, as the store masks it."""
    return mask_secrets(text, secrets)
