"""Prefect tasks: each a thin wrapper around one oncall_agent function."""
