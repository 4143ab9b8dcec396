"""Prefect blocks: what a user configures (sources, policy, targets); secrets as SecretStr."""

from blocks.actions import ActionTargets
from blocks.notifications import NOTIFICATION_BLOCKS
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource

ALL_BLOCKS = (LogFileSource, ResolutionPolicy, ActionTargets, *NOTIFICATION_BLOCKS)

__all__ = ["ALL_BLOCKS", "ActionTargets", "LogFileSource", "ResolutionPolicy"]
