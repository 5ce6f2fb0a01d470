"""docs/doctor.md is generated from the doctor's rule table; `explain` prints its sections."""

from __future__ import annotations

from pathlib import Path

from bulkhead.doctor.docs import page, rule_markdown
from bulkhead.doctor.rules import RULES
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_page_is_fresh() -> None:
    committed = (ROOT / "docs" / "doctor.md").read_text()
    assert committed == page(), "docs/doctor.md is stale: run `make docs`"


def test_ids_are_unique_and_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(("DR-CLU-", "DR-GPU-", "DR-CI-")) for i in ids)


def test_explain_prints_a_diagnosis() -> None:
    first = RULES[0]
    result = run_cli("explain", first.id.lower())
    assert result.returncode == 0
    assert result.stdout == rule_markdown(first)


def test_explain_unknown_suggests() -> None:
    result = run_cli("explain", "DR-CLU-01")
    assert result.returncode == 3
    assert "did you mean" in result.stderr
