"""What the agent would decide for an incident draft, from the built-in knowledge and policy alone.

The same steps as the resolution flow's analyze and decide, without a store: rank the built-in
knowledge entries, score the best one's confidence on its prior alone (no outcomes recorded
yet), fill in its action, and apply the default policy with every action the entries use
allowed and no action run before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from oncall_agent.errors import ConfigError
from oncall_agent.knowledge.confidence import score_confidence
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.matcher import IncidentText, rank_entries
from oncall_agent.knowledge.render import render_action
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import Decision, IncidentDraft
from oncall_agent.policy import PolicyConfig, PolicyContext, decide

# What a scan takes for granted, said beside every scan's output: the real agent decides with the
# user's knowledge base, outcomes, policy and allow-lists, so its decisions can differ.
ASSUMPTIONS = (
    "decisions assume the built-in knowledge base with no outcomes recorded, the default "
    "ResolutionPolicy, every action the entries use allow-listed in ActionTargets, and no change "
    "freeze; the agent decides with your own configuration, which may allow less"
)


@dataclass(frozen=True)
class Advice:
    """The recommended action (None: nothing matched), the decision, and why."""

    action: str | None = None
    decision: Decision = Decision.ESCALATE
    confidence: float | None = None
    entry: str | None = None
    reasons: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def allowed_actions() -> frozenset[str]:
    """Every action name the built-in entries use: a scan assumes all are configured."""
    return frozenset(e.action.name for e in DEFAULT_ENTRIES if e.action is not None)


def _fields(draft: IncidentDraft) -> dict[str, str]:
    """The incident fields an action template may use."""
    return {
        **draft.attributes,
        "service": draft.service,
        "category": draft.category,
        "severity": draft.severity.value,
    }


def _render_problem(entry: KnowledgeEntrySpec, draft: IncidentDraft) -> str | None:
    """Why the entry's action cannot be filled in for DRAFT, or None when it can."""
    if entry.action is None:
        return None
    try:
        render_action(entry.action, _fields(draft))
    except ConfigError as exc:
        return f"the action of {entry.key} cannot be filled in: {exc}"
    return None


def advise(draft: IncidentDraft, now: datetime) -> Advice:
    """The action, decision and confidence the agent would have for DRAFT at NOW."""
    text = IncidentText(
        title=draft.title,
        template=draft.template,
        samples=list(draft.samples),
        service=draft.service,
        category=draft.category,
    )
    matches = rank_entries(text, DEFAULT_ENTRIES)
    if not matches:
        return Advice(reasons=["no knowledge entry matches this incident"])
    best = matches[0]
    entry = next(e for e in DEFAULT_ENTRIES if e.key == best.entry_key)
    confidence = round(score_confidence(best.score, entry.successes, entry.failures).value, 4)
    problem = _render_problem(entry, draft)
    context = PolicyContext(
        action=entry.action.name if entry.action is not None and problem is None else None,
        allowed_actions=set(allowed_actions()),
        risk=entry.risk,
        autonomy=entry.autonomy,
        confidence=confidence,
        service=draft.service,
        now=now,
        entry_key=entry.key,
    )
    decision = decide(context, PolicyConfig())
    return Advice(
        action=entry.action.name if entry.action is not None else None,
        decision=decision.decision,
        confidence=confidence,
        entry=entry.key,
        reasons=([problem] if problem else []) + decision.reasons,
    )
