"""The ChatModel adapter over the `openai` client: chat completions on any compatible endpoint.

OpenAI, vLLM, Ollama and LiteLLM all serve /v1/chat/completions. Library errors are translated
here into LLMUnavailable (retryable or not) and LLMAnswerInvalid.
"""

from __future__ import annotations

import openai

from oncall_agent.errors import LLMAnswerInvalid, LLMUnavailable
from oncall_agent.llm.client import ChatReply
from oncall_agent.llm.config import LLMSettings

# Local servers (Ollama, vLLM) ignore the key, but the client refuses to start without one.
NO_KEY = "unused"


class OpenAIChatModel:
    """Chat completions through the `openai` client, with no retries of its own."""

    def __init__(self, settings: LLMSettings) -> None:
        """A client for SETTINGS' base URL and key (retries are the advisor's, bounded)."""
        key = settings.api_key.get_secret_value() if settings.api_key else NO_KEY
        self.model = settings.model
        self._client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=key,
            timeout=settings.timeout_s,
            max_retries=0,
        )

    def complete(
        self, messages: list[dict[str, str]], *, timeout_s: float, max_tokens: int
    ) -> ChatReply:
        """One chat completion asking for a JSON object, within TIMEOUT_S seconds."""
        try:
            response = self._client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model,
                messages=messages,
                temperature=0,
                max_tokens=max_tokens,
                response_format={"type": "json_object"},
                timeout=timeout_s,
            )
        except openai.APITimeoutError as exc:
            raise LLMUnavailable(f"the model did not answer within {timeout_s:.1f} s") from exc
        except openai.APIStatusError as exc:
            raise _status_error(exc) from exc
        except openai.APIConnectionError as exc:
            raise LLMUnavailable(f"cannot reach the model endpoint: {exc}") from exc
        except (openai.OpenAIError, ValueError) as exc:
            raise LLMAnswerInvalid(
                f"the endpoint's response is not a chat completion: {exc}"
            ) from exc
        return _reply(response)


def _status_error(exc: openai.APIStatusError) -> LLMUnavailable:
    """An HTTP error as LLMUnavailable; 4xx other than 408/429 are configuration, not retried."""
    status = exc.status_code
    retryable = status >= 500 or status in (408, 429)
    hint = "" if retryable else " (check the base URL, model name and API key)"
    return LLMUnavailable(f"the model endpoint answered HTTP {status}{hint}", retryable=retryable)


def _reply(response: object) -> ChatReply:
    """The first choice's text and the usage of a chat completion."""
    try:
        text = response.choices[0].message.content  # type: ignore[attr-defined]
    except (AttributeError, IndexError, TypeError) as exc:
        raise LLMAnswerInvalid("the chat completion has no message") from exc
    if not isinstance(text, str) or not text.strip():
        raise LLMAnswerInvalid("the model's answer is empty")
    usage = getattr(response, "usage", None)
    total = getattr(usage, "total_tokens", None)
    return ChatReply(text=text, total_tokens=total if isinstance(total, int) else None)
