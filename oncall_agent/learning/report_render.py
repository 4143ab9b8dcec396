"""The learning report as markdown: the Prefect artifact and the terminal show the same text."""

from __future__ import annotations

from oncall_agent.learning.report import LearningReport, SuccessRecord


def _pct(value: float | None) -> str:
    """A share as a percentage, or n/a."""
    return "n/a" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 1) -> str:
    """A number with DIGITS decimals, or n/a."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def _records(title: str, records: list[SuccessRecord]) -> list[str]:
    """A markdown table of success records."""
    lines = [f"## {title}", ""]
    if not records:
        return [*lines, "No real action ran in this period.", ""]
    lines += ["| name | worked | failed | success rate |", "|---|---:|---:|---:|"]
    lines += [f"| {r.name} | {r.successes} | {r.failures} | {_pct(r.rate)} |" for r in records]
    return [*lines, ""]


def _summary(report: LearningReport) -> list[str]:
    """The headline figures."""
    return [
        f"# Learning report: last {report.days} days",
        "",
        f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| incidents seen | {report.incidents} |",
        f"| incidents resolved | {report.resolved} |",
        f"| MTTR (mean, minutes) | {_num(report.mttr_minutes)} |",
        f"| time to resolve (median, minutes) | {_num(report.median_ttr_minutes)} |",
        f"| automation rate | {_pct(report.automation_rate)} |",
        f"| resolved automatically / with approval / by people | "
        f"{report.resolved_automatically} / {report.resolved_with_approval} / "
        f"{report.resolved_by_people} |",
        f"| false-positive rate | {_pct(report.false_positive_rate)} "
        f"({report.false_positives} of {report.incidents}) |",
        f"| knowledge-base coverage | {_pct(report.coverage)} ({report.matched} matched, "
        f"{report.matched_with_action} with an action) |",
        f"| calibration error (ECE) | {_num(report.calibration.ece, 3)} "
        f"({report.calibration.samples} outcomes) |",
        f"| feedback: correct / wrong | {report.feedback_correct} / {report.feedback_wrong} |",
        "",
    ]


def _reliability(report: LearningReport) -> list[str]:
    """The reliability table: confidence bins against the observed success rate."""
    lines = ["## Calibration (confidence vs outcome)", ""]
    if not report.calibration.samples:
        return [*lines, "No action with a recorded confidence ended in this period.", ""]
    lines += ["| confidence | runs | mean confidence | worked |", "|---|---:|---:|---:|"]
    for b in report.calibration.bins:
        if b.count:
            lines.append(
                f"| {b.low:.1f}-{b.high:.1f} | {b.count} | {_num(b.mean_confidence, 2)} | "
                f"{_pct(b.success_rate)} |"
            )
    return [*lines, ""]


def _drift(report: LearningReport) -> list[str]:
    """Drift warnings, one line each."""
    lines = ["## Drift warnings", ""]
    if not report.drift:
        return [*lines, "None: no fix's recent success rate fell.", ""]
    return [*lines, *(f"- WARNING: {w.message}" for w in report.drift), ""]


def render_markdown(report: LearningReport) -> str:
    """The whole report as markdown."""
    return "\n".join(
        _summary(report)
        + _records("Success per action", report.per_action)
        + _records("Success per knowledge entry", report.per_entry)
        + _reliability(report)
        + _drift(report)
    )
