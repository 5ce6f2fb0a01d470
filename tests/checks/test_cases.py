"""Every rule's pass and fail cases, run through the real loader, planner and checks."""

from __future__ import annotations

import pytest

from bulkhead.checks import RULES, run_checks
from bulkhead.placement import plan
from bulkhead.spec import load_spec
from tests.checks.rule_cases import CASES, Case, all_cases

ALL = all_cases()


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.name)
def test_case_reports_exactly_what_it_expects(case: Case) -> None:
    spec = load_spec(case.path)
    report = run_checks(spec, plan(spec), today=case.today)
    found = sorted(
        (f.rule, f.workload or "-", f.location.line) for f in report.findings if f.rule == case.rule
    )
    assert found == list(case.expected)
    assert all(f.location.file == str(case.path) for f in report.findings)


@pytest.mark.parametrize("case", ALL, ids=lambda c: c.name)
def test_case_files_are_well_formed(case: Case) -> None:
    assert case.path.stem.startswith(("pass", "fail")), "name case files pass*.yaml or fail*.yaml"
    if case.passing:
        assert not case.expected, "a pass case expects no finding of its rule"
    else:
        assert case.expected, "a fail case names at least one expected finding"
        assert {rule for rule, _, _ in case.expected} == {case.rule}


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    kinds: dict[str, set[bool]] = {}
    for case in ALL:
        kinds.setdefault(case.rule, set()).add(case.passing)
    missing = [r.id for r in RULES if kinds.get(r.id) != {True, False}]
    assert not missing, f"rules without both a pass and a fail case under {CASES}: {missing}"
    strays = set(kinds) - {r.id for r in RULES}
    assert not strays, f"case folders for rules not in the table: {sorted(strays)}"
