"""A check report as people and machines read it: grouped text (rich) and the JSON document.

The JSON shape is a contract for CI scripts and stays exactly::

    {"findings": [{"rule", "severity", "message", "fix", "workload",
                   "location": {"file", "line", "column"}}],
     "summary": {"error": n, "warning": n, "info": n}}

Text groups findings by workload (homelab-wide findings first), each with its severity, rule id,
message, ``FILE:LINE:COL`` and fix; then the waived findings with their reasons, then the counts.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from bulkhead.checks.model import CheckReport, Finding
from bulkhead.spec.models import Severity

STYLES = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}
HOMELAB = "(homelab)"


def to_json(report: CheckReport) -> dict[str, Any]:
    """The JSON document of a report."""
    return {"findings": [_finding_json(f) for f in report.findings], "summary": report.summary}


def _finding_json(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
        "fix": finding.fix,
        "workload": finding.workload,
        "location": {"file": loc.file, "line": loc.line, "column": loc.column},
    }


def grouped(report: CheckReport) -> dict[str, list[Finding]]:
    """Findings by workload, homelab-wide ones first, then workloads in order of location."""
    groups: dict[str, list[Finding]] = {}
    for finding in sorted(report.findings, key=lambda f: f.workload is not None):
        groups.setdefault(finding.workload or HOMELAB, []).append(finding)
    return groups


def print_text(report: CheckReport, console: Console) -> None:
    """Print the grouped findings and the summary line."""
    for workload, findings in grouped(report).items():
        console.print(Text(workload, style="bold underline"), soft_wrap=True)
        for finding in findings:
            console.print(_finding_text(finding), soft_wrap=True)
        console.print()
    for waived in report.waived:
        line = Text(f"waived  {waived.finding.rule} {waived.finding.workload or HOMELAB}: ")
        line.append(f"{waived.reason} (policy.waivers[{waived.waiver}])", style="dim")
        console.print(line, soft_wrap=True)
    console.print(summary_line(report), soft_wrap=True)


def _finding_text(finding: Finding) -> Text:
    text = Text("  ")
    text.append(f"{finding.severity.value:<7}", style=STYLES[finding.severity])
    text.append(f" {finding.rule}  ", style="bold")
    text.append(finding.message.replace("\n", "\n    "))
    text.append(f"\n      at {finding.location}", style="dim")
    text.append(f"\n      fix: {finding.fix}", style="green")
    return text


def summary_line(report: CheckReport) -> Text:
    """``2 errors, 1 warning, 3 info (1 waived)``, coloured by the worst severity present."""
    counts = report.summary
    parts = [
        _plural(counts["error"], "error"),
        _plural(counts["warning"], "warning"),
        f"{counts['info']} info",
    ]
    if report.waived:
        parts.append(f"{len(report.waived)} waived")
    style = "bold red" if counts["error"] else "yellow" if counts["warning"] else "green"
    return Text(", ".join(parts), style=style)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
