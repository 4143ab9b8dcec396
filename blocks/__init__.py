"""Prefect blocks: what a user configures (sources, policy, targets); secrets as SecretStr."""

from prefect.blocks.core import Block

from blocks.actions import ActionTargets
from blocks.connections import CONNECTION_BLOCKS
from blocks.event_sources import SOURCE_BLOCKS
from blocks.llm import LLMConfig
from blocks.notifications import NOTIFICATION_BLOCKS
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource

ALL_BLOCKS: tuple[type[Block], ...] = (
    *SOURCE_BLOCKS.values(),
    ResolutionPolicy,
    ActionTargets,
    *NOTIFICATION_BLOCKS,
    *CONNECTION_BLOCKS.values(),
    LLMConfig,
)

__all__ = ["ALL_BLOCKS", "ActionTargets", "LLMConfig", "LogFileSource", "ResolutionPolicy"]
