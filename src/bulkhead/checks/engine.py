"""Running the table: every rule's hits become findings, then the policy has its say.

Order of work: rules turned ``off`` by ``policy.severity`` do not run; each hit gets its rule
id, its effective severity and a fix; waivers in force move matching findings aside; the POL
rules report on the policy itself. Findings come out sorted by location, so output is stable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from bulkhead.checks import facts, policy
from bulkhead.checks.model import CheckReport, Finding, Waived
from bulkhead.checks.registry import BY_ID, RULES
from bulkhead.errors import Location
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Severity


def run_checks(
    spec: Homelab, placement: PlacementResult, *, today: dt.date | None = None
) -> CheckReport:
    """Every finding of every rule on ``spec`` and its placement, after the user's policy."""
    day = today or dt.date.today()
    found = sorted(set(_rule_findings(spec, placement)), key=_order)
    active, waived = policy.apply_waivers(spec, found, day)
    active.extend(_policy_findings(spec, waived, day))
    return CheckReport(tuple(sorted(active, key=_order)), tuple(waived))


def _rule_findings(spec: Homelab, placement: PlacementResult) -> Iterator[Finding]:
    for rule in RULES:
        severity = policy.severity_of(spec, rule)
        if rule.check is None or severity is Severity.off:
            continue
        for hit in rule.check(spec, placement):
            fix = hit.fix or rule.fix
            yield Finding(rule.id, severity, hit.message, fix, hit.workload, hit.location)


def _policy_findings(spec: Homelab, waived: list[Waived], today: dt.date) -> Iterator[Finding]:
    for rule_id, key, message in policy.policy_hits(spec, BY_ID, waived, today):
        rule = BY_ID[rule_id]
        severity = policy.severity_of(spec, rule)
        if severity is not Severity.off:
            where, workload = _policy_place(spec, key)
            yield Finding(rule_id, severity, message, rule.fix, workload, where)


def _policy_place(spec: Homelab, key: int | str) -> tuple[Location, str | None]:
    if isinstance(key, int):
        return facts.where(spec, "policy", "waivers", key), spec.policy.waivers[key].workload
    return facts.where(spec, "policy", "severity", key), None


def _order(finding: Finding) -> tuple[Location, str, str]:
    return finding.location, finding.rule, finding.message
