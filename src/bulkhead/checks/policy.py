"""The user's policy over the findings: severity overrides, waivers, and the POL rules that
report on the policy itself (an expired waiver, an unused one, a rule id that does not exist).

A waiver names a rule, optionally a workload, and a reason; it silences the matching findings
until the day after ``expires``. From that day it silences nothing and is reported instead.
POL findings are never waived: they are about the waivers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from bulkhead.checks.model import Finding, Rule, Waived
from bulkhead.spec.models import Homelab, Severity, Waiver
from bulkhead.spec.suggest import did_you_mean

EXPIRED, UNUSED, UNKNOWN = "BH-POL-001", "BH-POL-002", "BH-POL-003"


def severity_of(spec: Homelab, rule: Rule) -> Severity:
    """The rule's severity after ``policy.severity`` (possibly ``off``)."""
    return spec.policy.severity.get(rule.id, rule.severity)


def expired(waiver: Waiver, today: dt.date) -> bool:
    """True from the day after the waiver's ``expires`` date."""
    return waiver.expires is not None and today > waiver.expires


def _matches(waiver: Waiver, finding: Finding) -> bool:
    same_workload = waiver.workload is None or waiver.workload == finding.workload
    return waiver.rule == finding.rule and same_workload


def apply_waivers(
    spec: Homelab, findings: Iterable[Finding], today: dt.date
) -> tuple[list[Finding], list[Waived]]:
    """Split findings into the active ones and the ones a waiver in force silences."""
    active: list[Finding] = []
    waived: list[Waived] = []
    live = [(i, w) for i, w in enumerate(spec.policy.waivers) if not expired(w, today)]
    for finding in findings:
        match = next(((i, w) for i, w in live if _matches(w, finding)), None)
        if match is None or finding.rule.startswith("BH-POL-"):
            active.append(finding)
        else:
            waived.append(Waived(finding, match[1].reason, match[0]))
    return active, waived


def policy_hits(
    spec: Homelab, known: Iterable[str], waived: Iterable[Waived], today: dt.date
) -> Iterator[tuple[str, int | str, str]]:
    """(rule id, waiver index or severity key, message) for every problem with the policy."""
    known = sorted(known)
    used = {w.waiver for w in waived}
    for key in spec.policy.severity:
        if key not in known:
            yield (
                UNKNOWN,
                key,
                f"policy.severity names unknown rule {key}{did_you_mean(key, known)}",
            )
    for i, waiver in enumerate(spec.policy.waivers):
        yield from _waiver_problem(i, waiver, known, i in used, today)


def _waiver_problem(
    i: int, waiver: Waiver, known: list[str], used: bool, today: dt.date
) -> Iterator[tuple[str, int | str, str]]:
    target = f"waiver of {waiver.rule}" + (f" for {waiver.workload}" if waiver.workload else "")
    if waiver.rule not in known:
        hint = did_you_mean(waiver.rule, known)
        yield UNKNOWN, i, f"{target} names an unknown rule{hint}"
    elif expired(waiver, today):
        yield EXPIRED, i, f"{target} expired on {waiver.expires}; its findings are reported again"
    elif not used:
        yield UNUSED, i, f"{target} matches no finding"


RULES = (
    Rule(
        id=EXPIRED,
        title="Expired waivers are reported",
        severity=Severity.warning,
        summary=(
            "Reports a waiver whose expires date has passed. From the day after that date it "
            "silences nothing, so the findings it covered are reported again too."
        ),
        rationale=(
            "A waiver with an expiry is a promise to fix something by a date; when the date "
            "passes, the promise is due and the exception must be looked at again."
        ),
        example=(
            "policy:\n  waivers:\n    - {rule: BH-SEC-001, workload: home-assistant,\n"
            "       reason: needs host bluetooth, expires: 2025-01-01}"
        ),
        fix="Fix what the waiver covered and delete it, or renew it with a new date and reason.",
        check=None,
    ),
    Rule(
        id=UNUSED,
        title="Unused waivers are reported",
        severity=Severity.warning,
        summary="Reports a waiver in force that matches no finding.",
        rationale=(
            "A waiver that waives nothing is stale: the problem was fixed or the workload renamed. "
            "Left in place it would silently swallow the next, unrelated finding of that rule."
        ),
        example="policy:\n  waivers:\n    - {rule: BH-IMG-001, workload: api, reason: pinned soon}",
        fix="Delete the waiver.",
        check=None,
    ),
    Rule(
        id=UNKNOWN,
        title="Policies name existing rules",
        severity=Severity.warning,
        summary="Reports a severity override or a waiver naming a rule id bulkhead does not have.",
        rationale=(
            "A typo in a rule id makes an override or a waiver do nothing, while it reads as if "
            "it did something."
        ),
        example="policy:\n  severity: {BH-IMG-020: off}",
        fix="Use an id from bulkhead explain (the list of rules), or delete the entry.",
        check=None,
    ),
)
