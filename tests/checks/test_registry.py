"""The registry table: one row per rule, ids well formed and unique, every section written."""

from __future__ import annotations

import re

from bulkhead.checks import RULES, rule
from bulkhead.checks.model import FAMILIES
from bulkhead.checks.registry import RETIRED
from bulkhead.spec import Severity

ISSUE_FAMILIES = {"PLC", "SEP", "RES", "PRB", "SEC", "NET", "IMG", "VOL", "REL", "CI"}


def test_ids_are_well_formed_unique_and_never_retired_ones() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"BH-[A-Z]{2,4}-[0-9]{3}", i) for i in ids)
    assert not set(ids) & RETIRED


def test_every_family_of_the_issue_has_rules_and_no_family_is_unknown() -> None:
    families = {r.family for r in RULES}
    assert ISSUE_FAMILIES <= families <= set(FAMILIES)


def test_every_row_has_every_section_and_a_real_severity() -> None:
    for row in RULES:
        for section in (row.title, row.summary, row.rationale, row.example, row.fix):
            assert section.strip(), row.id
        assert row.severity is not Severity.off
        assert (row.check is None) == (row.family == "POL"), row.id


def test_lookup_is_case_insensitive() -> None:
    assert rule(" bh-sep-003 ") is rule("BH-SEP-003") is not None
    assert rule("BH-SEP-999") is None
