"""oncall-agent core: detection, knowledge, policy and actions, with no Prefect import."""

__version__ = "0.1.0"
