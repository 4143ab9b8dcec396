"""The LLMConfig block: Prefect's block standards, and the settings it hands the core."""

from __future__ import annotations

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from blocks import ALL_BLOCKS
from blocks.llm import LLMConfig

CANARY = "sk-canary-llm-block-9f3e"


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's own block checks (description, field docs, code example)."""

    @pytest.fixture
    def block(self) -> type[LLMConfig]:
        """The LLM block class."""
        return LLMConfig


def test_the_block_is_registered_and_keeps_its_key_secret() -> None:
    """LLMConfig is in ALL_BLOCKS; its settings carry the key as a secret, never in repr."""
    assert LLMConfig in ALL_BLOCKS
    block = LLMConfig(base_url="http://127.0.0.1:8000/v1", model="qwen2.5", api_key=CANARY)
    settings = block.settings()
    assert settings.model == "qwen2.5" and settings.timeout_s == 20
    assert settings.api_key is not None and settings.api_key.get_secret_value() == CANARY
    assert CANARY not in repr(block) and CANARY not in repr(settings)
