"""Severity overrides and waivers: what they silence, what they change, what they report."""

from __future__ import annotations

import datetime as dt

from bulkhead.checks import CheckReport, run_checks
from bulkhead.placement import plan
from bulkhead.spec import Severity, parse_spec

BASE = """\
apiVersion: bulkhead/v1alpha1
kind: Homelab
metadata: {name: policy}
environments:
  cluster:
    type: k3s
    nodes:
      pi-1: {role: server, cpu: 4, memory: 8Gi}
      pi-2: {cpu: 4, memory: 8Gi}
namespaces: {apps: {}}
workloads:
  a: {class: service, namespace: apps, image: "a:latest", platforms: [linux/arm64],
      resources: {cpu: 100m, memory: 64Mi}}
  b: {class: service, namespace: apps, image: "b:latest", platforms: [linux/arm64],
      resources: {cpu: 100m, memory: 64Mi}}
"""
TODAY = dt.date(2026, 6, 1)


def check(policy: str = "", today: dt.date = TODAY) -> CheckReport:
    spec = parse_spec(BASE + policy, "policy.yaml")
    return run_checks(spec, plan(spec), today=today)


def rules(report: CheckReport, rule: str) -> list[tuple[str | None, Severity]]:
    return [(f.workload, f.severity) for f in report.findings if f.rule == rule]


def test_without_policy_both_latest_images_are_errors() -> None:
    report = check()
    assert rules(report, "BH-IMG-001") == [("a", Severity.error), ("b", Severity.error)]
    assert not report.ok


def test_severity_override_changes_the_level_and_off_silences() -> None:
    report = check('policy:\n  severity: {BH-IMG-001: warning, BH-IMG-002: "off"}\n')
    assert rules(report, "BH-IMG-001") == [("a", Severity.warning), ("b", Severity.warning)]
    assert report.ok
    silenced = check('policy:\n  severity: {BH-IMG-001: "off"}\n')
    assert rules(silenced, "BH-IMG-001") == []


def test_a_waiver_silences_only_its_workload_and_keeps_its_reason() -> None:
    report = check("policy:\n  waivers:\n    - {rule: BH-IMG-001, workload: a, reason: vendor}\n")
    assert rules(report, "BH-IMG-001") == [("b", Severity.error)]
    assert [(w.finding.rule, w.finding.workload, w.reason, w.waiver) for w in report.waived] == [
        ("BH-IMG-001", "a", "vendor", 0)
    ]
    assert rules(report, "BH-POL-002") == []


def test_a_waiver_without_workload_covers_every_workload() -> None:
    report = check("policy:\n  waivers:\n    - {rule: BH-IMG-001, reason: all vendored}\n")
    assert rules(report, "BH-IMG-001") == []
    assert len(report.waived) == 2


def test_a_waiver_holds_through_its_expiry_date_and_not_a_day_longer() -> None:
    policy = "policy:\n  waivers:\n    - {rule: BH-IMG-001, reason: soon, expires: 2026-06-01}\n"
    on_the_day = check(policy, today=dt.date(2026, 6, 1))
    assert rules(on_the_day, "BH-IMG-001") == []
    day_after = check(policy, today=dt.date(2026, 6, 2))
    assert len(rules(day_after, "BH-IMG-001")) == 2
    assert rules(day_after, "BH-POL-001") == [(None, Severity.warning)]
    assert not day_after.waived


def test_policy_findings_cannot_be_waived() -> None:
    policy = (
        "policy:\n  waivers:\n"
        "    - {rule: BH-SEC-001, reason: nothing privileged here}\n"
        "    - {rule: BH-POL-002, reason: trying to hide the unused one}\n"
    )
    report = check(policy)
    first = BASE.count("\n") + 3  # policy:, waivers:, then the first item
    lines = sorted(f.location.line for f in report.findings if f.rule == "BH-POL-002")
    assert lines == [first, first + 1]  # the POL-002 waiver is itself unused


def test_turning_a_policy_rule_off_silences_it() -> None:
    policy = (
        'policy:\n  severity: {BH-POL-002: "off"}\n'
        "  waivers:\n    - {rule: BH-SEC-001, reason: nothing privileged here}\n"
    )
    assert rules(check(policy), "BH-POL-002") == []


def test_findings_are_sorted_by_location_and_deduplicated() -> None:
    report = check()
    keys = [(f.location, f.rule, f.message) for f in report.findings]
    assert keys == sorted(set(keys))
