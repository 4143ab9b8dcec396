"""How to reach a model: LLMSettings (from the LLMConfig block, or ONCALL_LLM_* for the CLI)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field, SecretStr, ValidationError

from oncall_agent.errors import ConfigError

DEFAULT_TIMEOUT_S = 20.0
DEFAULT_MAX_PROMPT_CHARS = 12_000
DEFAULT_DAILY_TOKEN_BUDGET = 200_000
DEFAULT_MAX_ANSWER_TOKENS = 800
DEFAULT_RETRIES = 1

ENV_BASE_URL = "ONCALL_LLM_BASE_URL"
ENV_MODEL = "ONCALL_LLM_MODEL"
ENV_API_KEY = "ONCALL_LLM_API_KEY"
ENV_TIMEOUT_S = "ONCALL_LLM_TIMEOUT_S"
ENV_MAX_PROMPT_CHARS = "ONCALL_LLM_MAX_PROMPT_CHARS"
ENV_DAILY_TOKEN_BUDGET = "ONCALL_LLM_DAILY_TOKEN_BUDGET"  # noqa: S105 (a variable name)


class LLMSettings(BaseModel):
    """An OpenAI-compatible endpoint, the model to ask, and the bounds on asking it."""

    base_url: str = Field(min_length=1)
    model: str = Field(min_length=1)
    api_key: SecretStr | None = None
    # The whole analysis (every retry included) ends within this; then the fallback is used.
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=600)
    max_prompt_chars: int = Field(default=DEFAULT_MAX_PROMPT_CHARS, ge=2000)
    daily_token_budget: int = Field(default=DEFAULT_DAILY_TOKEN_BUDGET, ge=0)
    max_answer_tokens: int = Field(default=DEFAULT_MAX_ANSWER_TOKENS, ge=50)
    retries: int = Field(default=DEFAULT_RETRIES, ge=0, le=3)


def _number(env: Mapping[str, str], name: str) -> dict[str, str]:
    """{name: value} for an optional numeric variable that is set, else {}."""
    value = env.get(name, "").strip()
    return {name: value} if value else {}


def settings_from_env(env: Mapping[str, str] | None = None) -> LLMSettings | None:
    """LLMSettings from ONCALL_LLM_*; None when no model is configured (the feature is off)."""
    env = os.environ if env is None else env
    base_url, model = env.get(ENV_BASE_URL, "").strip(), env.get(ENV_MODEL, "").strip()
    if not base_url and not model:
        return None
    if not base_url or not model:
        missing = ENV_MODEL if base_url else ENV_BASE_URL
        raise ConfigError(f"{missing} is not set: set both {ENV_BASE_URL} and {ENV_MODEL}")
    raw = _number(env, ENV_TIMEOUT_S) | _number(env, ENV_MAX_PROMPT_CHARS)
    raw |= _number(env, ENV_DAILY_TOKEN_BUDGET)
    fields = {
        ENV_TIMEOUT_S: "timeout_s",
        ENV_MAX_PROMPT_CHARS: "max_prompt_chars",
        ENV_DAILY_TOKEN_BUDGET: "daily_token_budget",
    }
    key = env.get(ENV_API_KEY, "")
    try:
        return LLMSettings(
            base_url=base_url,
            model=model,
            api_key=SecretStr(key) if key else None,
            **{fields[name]: value for name, value in raw.items()},
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        name = next((n for n, f in fields.items() if f == field), field)
        raise ConfigError(f"{name}={raw.get(name)!r}: {problem['msg']}") from None
