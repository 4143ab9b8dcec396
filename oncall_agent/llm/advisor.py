"""Asking the model: the cache first, then the daily token budget, then retries in a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from oncall_agent.errors import LLMError, LLMUnavailable
from oncall_agent.llm.answer import ModelAnswer, parse_answer
from oncall_agent.llm.client import ChatModel, ChatReply
from oncall_agent.llm.config import LLMSettings
from oncall_agent.llm.prompt import Candidate, IncidentFacts, Prompt, build_prompt
from oncall_agent.store.engine import session_scope
from oncall_agent.store.llm import adjust_tokens, cached_answer, reserve_tokens, store_answer

# An attempt is not started with less time than this left: it could not finish anyway.
MIN_ATTEMPT_S = 0.2
RETRY_PAUSE_S = 0.3
# Characters per token, low on purpose: the budget reserved before a call is an upper estimate.
CHARS_PER_TOKEN = 3


@dataclass
class Advisor:
    """A configured model, the secrets to mask before sending, and a clock for the deadline."""

    settings: LLMSettings
    chat: ChatModel
    secrets: tuple[str, ...] = ()
    clock: Callable[[], float] = field(default=time.monotonic)

    @classmethod
    def from_settings(cls, settings: LLMSettings, secrets: Iterable[str] = ()) -> Advisor:
        """An advisor talking to SETTINGS' endpoint through the openai client."""
        from oncall_agent.llm.openai_chat import OpenAIChatModel  # imports openai: only when used

        return cls(settings=settings, chat=OpenAIChatModel(settings), secrets=tuple(secrets))

    @property
    def model(self) -> str:
        """The configured model name."""
        return self.settings.model


def _estimate(prompt: Prompt, max_answer_tokens: int) -> int:
    """An upper estimate of the tokens one call costs."""
    return prompt.chars // CHARS_PER_TOKEN + 1 + max_answer_tokens


def _attempt(advisor: Advisor, prompt: Prompt, deadline: float) -> tuple[ModelAnswer, ChatReply]:
    """One request within what is left before DEADLINE, and its parsed answer."""
    left = deadline - advisor.clock()
    reply = advisor.chat.complete(
        prompt.messages, timeout_s=left, max_tokens=advisor.settings.max_answer_tokens
    )
    return parse_answer(reply.text), reply


def _with_retries(
    advisor: Advisor, prompt: Prompt, deadline: float
) -> tuple[ModelAnswer, ChatReply | None]:
    """The first valid answer in 1 + retries attempts before DEADLINE; else the last error."""
    error: LLMError = LLMUnavailable("no time was left to ask the model")
    for attempt in range(advisor.settings.retries + 1):
        if attempt:
            time.sleep(min(RETRY_PAUSE_S, max(0.0, deadline - advisor.clock() - MIN_ATTEMPT_S)))
        if deadline - advisor.clock() < MIN_ATTEMPT_S:
            break
        try:
            return _attempt(advisor, prompt, deadline)
        except LLMUnavailable as exc:
            error = exc
            if not exc.retryable:
                break
        except LLMError as exc:
            error = exc
    raise error


def ask_model(
    engine: Engine,
    advisor: Advisor,
    fingerprint: str,
    offer_hash: str,
    facts: IncidentFacts,
    candidates: list[Candidate],
    deadline: float,
) -> tuple[ModelAnswer, bool]:
    """The model's answer about FACTS (and whether it came from the cache); LLMError if none."""
    with session_scope(engine) as session:
        cached = cached_answer(session, fingerprint, advisor.model, offer_hash)
    if cached is not None:
        return ModelAnswer.model_validate(cached), True
    settings = advisor.settings
    prompt = build_prompt(facts, candidates, settings.max_prompt_chars, advisor.secrets)
    estimate = _estimate(prompt, settings.max_answer_tokens)
    with session_scope(engine) as session:
        if not reserve_tokens(session, estimate, settings.daily_token_budget):
            raise LLMUnavailable(
                f"the daily token budget ({settings.daily_token_budget}) is spent: "
                "not asking the model until tomorrow (UTC)",
                retryable=False,
            )
    reply: ChatReply | None = None
    try:
        answer, reply = _with_retries(advisor, prompt, deadline)
    finally:
        spent = reply.total_tokens if reply and reply.total_tokens is not None else estimate
        with session_scope(engine) as session:
            adjust_tokens(session, spent - estimate)
    with session_scope(engine) as session:
        store_answer(session, fingerprint, advisor.model, offer_hash, answer.model_dump())
    return answer, False
