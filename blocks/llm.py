"""The block that points the agent at a model (any OpenAI-compatible endpoint); off unless named."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from oncall_agent.llm.config import (
    DEFAULT_DAILY_TOKEN_BUDGET,
    DEFAULT_MAX_PROMPT_CHARS,
    DEFAULT_TIMEOUT_S,
    LLMSettings,
)


class LLMConfig(Block):
    """Base URL, model, API key, timeout, prompt cap and daily token budget of a model."""

    _block_type_name = "Oncall LLM Config"
    _block_type_slug = "oncall-llm-config"
    _description = (
        "A model that writes a summary and may pick among the knowledge base's actions "
        "(OpenAI, vLLM, Ollama, LiteLLM: any OpenAI-compatible base URL)."
    )

    base_url: str = Field(
        default="https://api.openai.com/v1",
        description="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 for Ollama",
    )
    model: str = Field(default="gpt-4o-mini", description="The model name the endpoint serves")
    api_key: SecretStr | None = Field(default=None, description="API key (none for local servers)")
    timeout_s: float = Field(
        default=DEFAULT_TIMEOUT_S, gt=0, description="Seconds until the fallback, retries included"
    )
    max_prompt_chars: int = Field(default=DEFAULT_MAX_PROMPT_CHARS, ge=2000)
    daily_token_budget: int = Field(default=DEFAULT_DAILY_TOKEN_BUDGET, ge=0)

    def settings(self) -> LLMSettings:
        """The core's settings for this block (the key stays a SecretStr)."""
        return LLMSettings(
            base_url=self.base_url,
            model=self.model,
            api_key=self.api_key,
            timeout_s=self.timeout_s,
            max_prompt_chars=self.max_prompt_chars,
            daily_token_budget=self.daily_token_budget,
        )
