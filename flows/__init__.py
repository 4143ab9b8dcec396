"""Prefect flows: detection, resolution. Each body reads like a table of contents."""
