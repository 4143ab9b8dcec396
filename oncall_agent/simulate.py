"""A hand-made incident, stored exactly as detection would store it."""

from __future__ import annotations

from sqlmodel import Session

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.fingerprint import fingerprint
from oncall_agent.detection.masking import mask
from oncall_agent.models import IncidentDraft, LogEvent, Severity
from oncall_agent.secrets import mask_secrets
from oncall_agent.settings import get_settings
from oncall_agent.store.incidents import IncidentChange, open_or_update_incident


def simulate_incident(
    session: Session, detector: Detector, event: LogEvent, *, title: str, severity: Severity
) -> IncidentChange:
    """Run EVENT through the detector (category 'manual' if no pattern fires) and store it."""
    detection = detector.detect(event)
    template = detection.template if detection else mask(event.message)
    category = detection.category if detection else "manual"
    assert event.timestamp is not None
    draft = IncidentDraft(
        fingerprint=fingerprint(template, event.service, category),
        title=mask_secrets(title),
        service=event.service,
        severity=severity,
        category=category,
        template=template,
        source=event.source,
        first_seen=event.timestamp,
        last_seen=event.timestamp,
        count=1,
        samples=[mask_secrets(event.message)],
        targets={"service": event.service},  # a person named it, not a log line
    )
    settings = get_settings()
    return open_or_update_incident(session, draft, reopen_window_s=settings.reopen_window_s)
