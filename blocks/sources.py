"""Blocks that say where the agent reads logs from."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field

from oncall_agent.sources.files import FileSource


class LogFileSource(Block):
    """Local log files or globs to tail, with the service they belong to."""

    _block_type_name = "Oncall Log File Source"
    _block_type_slug = "oncall-log-file-source"
    _description = "Files or glob patterns the on-call agent tails for errors."

    paths: list[str] = Field(..., description="Files or glob patterns, e.g. /var/log/app/*.log")
    service: str | None = Field(
        default=None, description="Service these logs belong to (default: parsed or file name)"
    )
    max_line_bytes: int = Field(default=65536, ge=256, description="Longer lines are capped")

    def build(self) -> FileSource:
        """The file source this block describes."""
        return FileSource(
            list(self.paths), service=self.service, max_line_bytes=self.max_line_bytes
        )
