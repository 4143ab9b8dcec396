"""The one interface to a chat model (the adapter over `openai` is in `openai_chat`)."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel


class ChatReply(BaseModel):
    """The text of a model's answer and the tokens it cost (None when the server did not say)."""

    text: str
    total_tokens: int | None = None


class ChatModel(Protocol):
    """Something that answers chat messages: the real adapter, or a stand-in in unit tests."""

    model: str

    def complete(
        self, messages: list[dict[str, str]], *, timeout_s: float, max_tokens: int
    ) -> ChatReply:
        """The answer to MESSAGES within TIMEOUT_S seconds; LLMError subclasses otherwise."""
        ...
