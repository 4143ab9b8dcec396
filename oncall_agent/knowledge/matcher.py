"""Ranking knowledge entries for an incident: patterns, service, category and TF-IDF similarity.

The match score is a weighted sum of four components in [0, 1] (the weights sum to 1):

    pattern   0.60  1 if any entry regex matches the title, template or a sample line
    service   0.10  1 if the incident's service is listed by the entry
    category  0.15  1 if the incident's category is listed by the entry
    text      0.15  TF-IDF cosine between the incident text and the entry's prose

A regex written for an error line is the strongest evidence, so it carries most weight. An entry
that lists no services (or no categories) applies to all of them: that component is then GENERIC
(0.75), a fit but weaker evidence than being listed by name, and never a miss.

An entry is a match only with evidence that it is about the same problem: a pattern hit, or text
similarity of at least MIN_TEXT_SIMILARITY. A shared service or category alone (every database
incident shares "database") is context, not evidence; such entries score 0 and are not returned,
so an incident nobody has seen before comes back unmatched and a person's fix becomes a new entry.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from oncall_agent.detection.regex_safety import BoundedRegex, compile_bounded
from oncall_agent.errors import PatternError
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.knowledge.templates import MASK_PLACEHOLDER
from oncall_agent.knowledge.tfidf import similarities

log = logging.getLogger(__name__)
WEIGHTS: dict[str, float] = {"pattern": 0.60, "service": 0.10, "category": 0.15, "text": 0.15}
GENERIC = 0.75
# Below this, shared words are incidental ("failed", "database" from a "database: ..." title):
# against the default entries unrelated incidents measure 0.02-0.10, and the realistic incidents
# of the tests 0.12-0.40 against their own entry (which their patterns also match).
MIN_TEXT_SIMILARITY = 0.15
MIN_SEARCH_SIMILARITY = 0.1
SEARCH_WEIGHTS: dict[str, float] = {"pattern": 0.45, "text": 0.40, "name": 0.15}
# Regexes come from users; bounding the text bounds the cost of a badly written one.
MAX_TEXT_CHARS = 4000


class IncidentText(BaseModel):
    """The parts of an incident the matcher reads."""

    model_config = ConfigDict(frozen=True)

    title: str
    template: str = ""
    samples: list[str] = Field(default_factory=list)
    service: str = ""
    category: str = ""


class KnowledgeMatch(BaseModel):
    """How well one knowledge entry fits an incident (or a search query), and why."""

    entry_key: str
    title: str = ""
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)
    components: dict[str, float] = Field(default_factory=dict)


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> BoundedRegex | None:
    """PATTERN compiled case-insensitively (log casing varies), or None if it is invalid or
    could backtrack for minutes with no linear-time engine to run it (see `regex_safety`)."""
    try:
        return compile_bounded(pattern, re.IGNORECASE)
    except re.error:
        return None
    except PatternError as exc:
        log.warning("knowledge entry pattern skipped: %s", exc)
        return None


def _entry_document(entry: KnowledgeEntrySpec) -> str:
    """The prose of an entry that text similarity compares against."""
    return " ".join([entry.title, entry.description, entry.solution, " ".join(entry.tags)])


def _similarities(text: str, documents: list[str]) -> list[float]:
    """TF-IDF cosine similarity of TEXT with each of DOCUMENTS (fitted on all of them)."""
    corpus = [MASK_PLACEHOLDER.sub(" ", doc) for doc in [text, *documents]]
    return similarities(corpus[0], corpus[1:])


def _pattern_hit(entry: KnowledgeEntrySpec, texts: dict[str, str]) -> str | None:
    """A sentence naming the first entry pattern that matches one of TEXTS, else None."""
    for pattern in entry.patterns:
        regex = _compiled(pattern)
        if regex is None:
            continue
        for where, text in texts.items():
            if regex.search(text[:MAX_TEXT_CHARS]):
                return f"pattern '{pattern}' matched the {where}"
    return None


def _listed(value: str, allowed: list[str]) -> bool:
    """Whether VALUE is one of ALLOWED, ignoring case."""
    return value.strip().lower() in {a.strip().lower() for a in allowed}


def _incident_texts(incident: IncidentText) -> dict[str, str]:
    """The incident's title, template and samples, labelled for reasons."""
    texts = {"title": incident.title, "template": incident.template}
    texts.update({f"sample line {i + 1}": s for i, s in enumerate(incident.samples)})
    return {where: text for where, text in texts.items() if text}


def _list_component(kind: str, value: str, allowed: list[str]) -> tuple[float, str]:
    """The service or category component and its reason."""
    if not allowed:
        return GENERIC, f"the entry applies to any {kind}"
    if _listed(value, allowed):
        return 1.0, f"{kind} {value!r} is one the entry lists"
    return 0.0, f"{kind} {value!r} is not one the entry lists ({', '.join(allowed)})"


def _has_evidence(components: dict[str, float]) -> bool:
    """Whether the entry is about the same problem, not merely the same service or category."""
    return components["pattern"] > 0 or components["text"] >= MIN_TEXT_SIMILARITY


def _score_entry(
    incident: IncidentText, entry: KnowledgeEntrySpec, similarity: float
) -> KnowledgeMatch:
    """Components, weighted score and reasons of ENTRY for INCIDENT."""
    hit = _pattern_hit(entry, _incident_texts(incident))
    service, service_reason = _list_component("service", incident.service, entry.services)
    category, category_reason = _list_component("category", incident.category, entry.categories)
    components = {
        "pattern": 1.0 if hit else 0.0,
        "service": service,
        "category": category,
        "text": round(similarity, 4),
    }
    reasons = [
        hit or "no pattern of the entry matched",
        service_reason,
        category_reason,
        f"text similarity {similarity:.2f}",
    ]
    score = sum(WEIGHTS[name] * value for name, value in components.items())
    if not _has_evidence(components):
        score = 0.0
    return KnowledgeMatch(
        entry_key=entry.key,
        title=entry.title,
        score=round(min(score, 1.0), 4),
        reasons=reasons,
        components=components,
    )


def rank_entries(incident: IncidentText, entries: list[KnowledgeEntrySpec]) -> list[KnowledgeMatch]:
    """Entries that fit INCIDENT at all (score > 0), best first."""
    if not entries:
        return []
    text = " ".join([incident.title, incident.template, *incident.samples])[:MAX_TEXT_CHARS]
    sims = _similarities(text, [_entry_document(e) for e in entries])
    matches = [_score_entry(incident, e, s) for e, s in zip(entries, sims, strict=True)]
    return sorted((m for m in matches if m.score > 0), key=lambda m: (-m.score, m.entry_key))


def _name_overlap(query: str, entry: KnowledgeEntrySpec) -> float:
    """Share of the query's words found in the entry's key or title."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = [w for w in re.findall(r"\w+", query.lower()) if w not in ENGLISH_STOP_WORDS]
    name = f"{entry.key} {entry.title}".lower()
    return sum(1 for w in words if w in name) / len(words) if words else 0.0


def _search_match(query: str, entry: KnowledgeEntrySpec, similarity: float) -> KnowledgeMatch:
    """How well ENTRY fits a search QUERY; score 0 without a pattern, name or text hit."""
    hit = _pattern_hit(entry, {"query": query})
    comps = {
        "pattern": 1.0 if hit else 0.0,
        "text": round(similarity, 4),
        "name": round(_name_overlap(query, entry), 4),
    }
    relevant = hit or comps["name"] > 0 or similarity >= MIN_SEARCH_SIMILARITY
    score = sum(SEARCH_WEIGHTS[c] * v for c, v in comps.items()) if relevant else 0.0
    reasons = [hit] if hit else []
    reasons.append(f"text similarity {similarity:.2f}")
    return KnowledgeMatch(
        entry_key=entry.key,
        title=entry.title,
        score=round(min(score, 1.0), 4),
        reasons=reasons,
        components=comps,
    )


def search_entries(query: str, entries: list[KnowledgeEntrySpec]) -> list[KnowledgeMatch]:
    """Entries relevant to a free-text QUERY (words or a pasted log line), best first."""
    if not entries or not query.strip():
        return []
    sims = _similarities(query, [_entry_document(e) for e in entries])
    matches = [_search_match(query, e, s) for e, s in zip(entries, sims, strict=True)]
    return sorted((m for m in matches if m.score > 0), key=lambda m: (-m.score, m.entry_key))
