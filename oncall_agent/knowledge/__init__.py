"""The knowledge base: entries, defaults, matching, confidence and action rendering."""

from oncall_agent.knowledge.confidence import ConfidenceModel, ConfidenceScore, score_confidence
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.matcher import (
    IncidentText,
    KnowledgeMatch,
    rank_entries,
    search_entries,
)
from oncall_agent.knowledge.render import render_action
from oncall_agent.knowledge.spec import KnowledgeEntrySpec, dump_entries, load_entries_file

__all__ = [
    "DEFAULT_ENTRIES",
    "ConfidenceModel",
    "ConfidenceScore",
    "IncidentText",
    "KnowledgeEntrySpec",
    "KnowledgeMatch",
    "dump_entries",
    "load_entries_file",
    "rank_entries",
    "render_action",
    "score_confidence",
    "search_entries",
]
