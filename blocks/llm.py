"""The block that points the agent at a model (any OpenAI-compatible endpoint); off unless named."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, HttpUrl, SecretStr

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
    _documentation_url = HttpUrl("https://platform.openai.com/docs/api-reference/chat")
    _code_example = (
        '```python\nfrom blocks.llm import LLMConfig\n\nllm = LLMConfig.load("BLOCK_NAME")\n```'
    )

    base_url: str = Field(
        ...,
        description=(
            "OpenAI-compatible base URL: https://api.openai.com/v1, or for a local model "
            "http://127.0.0.1:11434/v1 (Ollama) or http://127.0.0.1:8000/v1 (vLLM)."
        ),
    )
    model: str = Field(..., description="The model name the endpoint serves, e.g. gpt-4o-mini.")
    api_key: SecretStr | None = Field(
        default=None, description="The API key (local servers need none)."
    )
    timeout_s: float = Field(
        default=DEFAULT_TIMEOUT_S,
        gt=0,
        le=600,
        description="Seconds until the analysis falls back to the one without a model.",
    )
    max_prompt_chars: int = Field(
        default=DEFAULT_MAX_PROMPT_CHARS,
        ge=2000,
        description="The longest prompt sent, in characters.",
    )
    daily_token_budget: int = Field(
        default=DEFAULT_DAILY_TOKEN_BUDGET,
        ge=0,
        description="Tokens the model may spend per UTC day; beyond it, the fallback is used.",
    )

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
