"""Resolving one incident: analyze, decide, act, verify, record, escalate (Prefect-free steps)."""
