"""The one place text is masked before it is sent to a model (swap in the shared masking here)."""

from __future__ import annotations

from collections.abc import Iterable

from oncall_agent.executors.base import redact


def redact_for_prompt(text: str, secrets: Iterable[str] = ()) -> str:
    """TEXT with configured SECRETS and credential shapes masked, as the store masks output."""
    return redact(text, secrets)
