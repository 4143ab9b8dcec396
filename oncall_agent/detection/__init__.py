"""Detection: alert patterns, masking, fingerprints, the detector and in-memory grouping."""

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.detector import Detector
from oncall_agent.detection.fingerprint import fingerprint
from oncall_agent.detection.grouping import group_detections
from oncall_agent.detection.masking import mask
from oncall_agent.detection.patterns import (
    DEFAULT_PATTERNS,
    DEFAULT_SUPPRESSIONS,
    PatternSet,
    compile_patterns,
    default_pattern_set,
)

__all__ = [
    "DEFAULT_PATTERNS",
    "DEFAULT_SUPPRESSIONS",
    "AlertPattern",
    "Detector",
    "PatternSet",
    "compile_patterns",
    "default_pattern_set",
    "fingerprint",
    "group_detections",
    "mask",
]
