"""A check report as SARIF 2.1.0, the format Gitea/GitHub code scanning and editors read.

One run, one tool component (``bulkhead``) whose ``rules`` carry every row of the registry with
its title, description, help text (the same sections as ``docs/rules.md``) and default level.
Each finding is a result pointing at ``FILE:LINE:COL``; a waived finding is a result with an
external suppression carrying the waiver's reason, as SARIF intends. The output validates
against the OASIS SARIF 2.1.0 schema (tests vendor it).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from bulkhead import __version__
from bulkhead.checks.docs import rule_markdown, rule_text
from bulkhead.checks.model import CheckReport, Finding, Rule, Waived
from bulkhead.checks.registry import RULES
from bulkhead.spec.models import Severity

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}
_INDEX = {rule.id: i for i, rule in enumerate(RULES)}


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """The SARIF log of a report."""
    results = [_result(f) for f in report.findings] + [_waived(w) for w in report.waived]
    run = {
        "tool": {"driver": _driver()},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _driver() -> dict[str, Any]:
    return {
        "name": "bulkhead",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_descriptor(rule) for rule in RULES],
    }


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": _pascal(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.summary},
        "help": {"text": rule_text(rule), "markdown": rule_markdown(rule)},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": [rule.family.lower()], "precision": "very-high"},
    }


def _pascal(title: str) -> str:
    """``Images name a version, not latest`` → ``ImagesNameAVersionNotLatest``."""
    words = re.sub(r"[^A-Za-z0-9 ]", "", title.replace("-", " ")).split()
    return "".join(word[:1].upper() + word[1:] for word in words)


def _result(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    region = {"startLine": loc.line, "startColumn": loc.column}
    physical = {"artifactLocation": {"uri": _uri(loc.file)}, "region": region}
    return {
        "ruleId": finding.rule,
        "ruleIndex": _INDEX[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.message}\nFix: {finding.fix}"},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {"bulkheadFinding/v1": _fingerprint(finding)},
        "properties": {"workload": finding.workload} if finding.workload else {},
    }


def _waived(waived: Waived) -> dict[str, Any]:
    result = _result(waived.finding)
    result["suppressions"] = [{"kind": "external", "justification": waived.reason}]
    return result


def _uri(file: str) -> str:
    path = PurePath(file)
    if path.is_absolute():
        return "file://" + quote(path.as_posix())
    return quote(path.as_posix())


def _fingerprint(finding: Finding) -> str:
    """Stable across edits that move lines: rule, workload and message, not the position."""
    key = "\0".join((finding.rule, finding.workload or "", finding.message))
    return hashlib.sha256(key.encode()).hexdigest()[:32]
