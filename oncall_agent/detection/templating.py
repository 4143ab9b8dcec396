"""The template of an event: its header cut as its file's layout says, masked, then mined.

`Templater` is what the detector asks. The header comes off first (learned from the first lines
of the event's file, see `sources.line_structure`), so times, hosts, pids and threads never
split an incident; masking replaces the values it recognises; the miner then puts the masked
body in the cluster of its kind (see `miner`), one miner per service. The template an incident
is fingerprinted by is the cluster's key: the masked body of its first line, which never
changes while the cluster's template generalises.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from oncall_agent.detection.fingerprint import TEMPLATE_LIMIT
from oncall_agent.detection.masking import mask_text
from oncall_agent.detection.miner import TemplateMiner
from oncall_agent.detection.template_cache import TemplateCache, shared_cache
from oncall_agent.models import LogEvent
from oncall_agent.sources.line_structure import HeaderLayout, layout_of_file
from oncall_agent.sources.parsing import split_header

MAX_MINERS = 512  # services with their own miner; past this, one miner serves the rest


def layout_of(event: LogEvent) -> HeaderLayout | None:
    """The header layout of EVENT's file, or None (the line is read alone) if it has none."""
    return layout_of_file(event.path) if event.path else None


def masked_body(message: str, layout: HeaderLayout | None = None) -> str:
    """MESSAGE without its header, masked (an access line's kind kept in front)."""
    return _line_cache(layout).template(message)


@lru_cache(maxsize=64)
def _line_cache(layout: HeaderLayout | None) -> TemplateCache:
    """Templates of whole lines under LAYOUT: lines that differ only in digits (their times,
    pids) skip cutting the header too; a miss still reuses the body's cached template."""

    def cut_and_mask(message: str) -> str:
        kind, body = split_header(message, layout)
        if not body:
            return kind
        template = shared_cache(mask_text).template(body)
        return f"{kind} {template}" if kind else template

    return TemplateCache(cut_and_mask)


class Templater:
    """Templates of events: masked bodies, grouped into mined clusters per service."""

    def __init__(self) -> None:
        """Start with no clusters."""
        self._miners: dict[str, TemplateMiner] = {}
        self._lock = threading.Lock()

    def miner(self, service: str) -> TemplateMiner:
        """The miner of SERVICE (created on first use)."""
        miner = self._miners.get(service)
        if miner is None:
            with self._lock:
                if len(self._miners) >= MAX_MINERS:
                    service = ""
                miner = self._miners.setdefault(service, TemplateMiner())
        return miner

    def template(self, event: LogEvent) -> str:
        """The template EVENT is fingerprinted by: the key of the cluster its body joins."""
        body = masked_body(event.message, layout_of(event))[:TEMPLATE_LIMIT]
        return self.miner(event.service).add(body).key
