"""Prefect blocks: what a user configures (sources, policy, targets); secrets as SecretStr."""

from blocks.actions import ActionTargets
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource

ALL_BLOCKS = (LogFileSource, ResolutionPolicy, ActionTargets)

__all__ = ["ALL_BLOCKS", "ActionTargets", "LogFileSource", "ResolutionPolicy"]
