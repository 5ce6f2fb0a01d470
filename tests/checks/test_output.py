"""The three outputs of a report: JSON (exact shape), SARIF 2.1.0 (valid), grouped text."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from rich.console import Console

from bulkhead.checks import RULES, CheckReport, run_checks
from bulkhead.checks.output import print_text, to_json
from bulkhead.checks.sarif import to_sarif
from bulkhead.placement import plan
from bulkhead.spec import load_spec
from tests.checks.rule_cases import CASES, load

# The OASIS SARIF 2.1.0 schema (errata01), from oasis-tcs/sarif-spec
# Schemata/sarif-schema-2.1.0.json; only whitespace differs from upstream.
SARIF_SCHEMA = json.loads((Path(__file__).parent / "sarif-schema-2.1.0.json").read_text())
MIXED = CASES / "BH-POL-001" / "fail.yaml"  # an expired waiver, and the error it covered
WAIVED = CASES / "BH-POL-002" / "pass.yaml"  # a waiver in force


def report_of(path: Path) -> CheckReport:
    spec = load_spec(path)
    return run_checks(spec, plan(spec), today=load(path).today)


def test_json_has_exactly_the_documented_shape() -> None:
    report = report_of(MIXED)
    document = json.loads(json.dumps(to_json(report)))
    assert set(document) == {"findings", "summary"}
    assert set(document["summary"]) == {"error", "warning", "info"}
    for finding in document["findings"]:
        assert set(finding) == {"rule", "severity", "message", "fix", "workload", "location"}
        assert set(finding["location"]) == {"file", "line", "column"}
    for severity in ("error", "warning", "info"):
        found = [f for f in document["findings"] if f["severity"] == severity]
        assert document["summary"][severity] == len(found)
    assert [f["rule"] for f in document["findings"]] == ["BH-POL-001", "BH-IMG-001"]  # by line


@pytest.mark.parametrize("path", [MIXED, WAIVED], ids=["findings", "waived"])
def test_sarif_validates_against_the_official_schema(path: Path) -> None:
    log = to_sarif(report_of(path))
    jsonschema.Draft4Validator.check_schema(SARIF_SCHEMA)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    for result in log["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert " " not in uri
        assert urlsplit(uri).path


def test_sarif_carries_rule_metadata_and_points_results_at_them() -> None:
    log = to_sarif(report_of(MIXED))
    driver = log["runs"][0]["tool"]["driver"]
    assert [r["id"] for r in driver["rules"]] == [r.id for r in RULES]
    for rule in driver["rules"]:
        assert rule["help"]["text"]
        assert "#### Why it matters" in rule["help"]["markdown"]
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for result, finding in zip(log["runs"][0]["results"], report_of(MIXED).findings, strict=True):
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"] == finding.rule
        assert result["level"] == levels[finding.severity.value]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (
            finding.location.line,
            finding.location.column,
        )


def test_sarif_marks_waived_findings_as_suppressed_with_the_reason() -> None:
    results = to_sarif(report_of(WAIVED))["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"]) for r in suppressed] == [
        ("BH-IMG-001", [{"kind": "external", "justification": "upstream has no tags yet"}])
    ]


def test_text_groups_by_workload_with_location_fix_and_counts() -> None:
    report = report_of(MIXED)
    out = io.StringIO()
    print_text(report, Console(file=out, width=80, color_system=None))
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0] == "web"
    for finding in report.findings:
        assert f"{finding.rule}  {finding.message}" in text
        assert f"at {finding.location}" in text
    assert lines[-1] == "1 error, 1 warning, 0 info"
