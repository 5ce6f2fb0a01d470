"""docs/rules.md is generated from the registry, and `bulkhead explain` prints the same text."""

from __future__ import annotations

from pathlib import Path

from bulkhead.checks import RULES
from bulkhead.checks.docs import main, rule_markdown, rules_markdown
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
RULES_MD = ROOT / "docs" / "rules.md"


def test_committed_rules_page_is_current() -> None:
    assert RULES_MD.read_text(encoding="utf-8") == rules_markdown(), (
        "docs/rules.md is stale: run python -m bulkhead.checks.docs"
    )


def test_every_rule_has_the_same_four_sections() -> None:
    page = rules_markdown()
    for row in RULES:
        section = rule_markdown(row)
        assert section in page
        headings = [line for line in section.splitlines() if line.startswith("#### ")]
        assert headings == ["#### What it does", "#### Why it matters", "#### Example", "#### Fix"]


def test_check_mode_reports_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "rules.md"
    assert main([str(page), "--check"]) == 1
    assert main([str(page)]) == 0
    assert main([str(page), "--check"]) == 0


def test_explain_prints_the_rules_docs_section() -> None:
    result = run_cli("explain", "bh-sep-003")
    assert result.returncode == 0, result.stderr
    assert result.stdout == rule_markdown(RULES[[r.id for r in RULES].index("BH-SEP-003")])


def test_explain_without_a_rule_lists_them_all() -> None:
    result = run_cli("explain")
    assert result.returncode == 0
    from bulkhead.doctor.rules import RULES as DIAGNOSES

    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == [r.id for r in RULES] + [d.id for d in DIAGNOSES]


def test_explain_an_unknown_rule_suggests_the_closest() -> None:
    result = run_cli("explain", "BH-SPE-003")
    assert result.returncode == 3
    assert "unknown rule 'BH-SPE-003'" in result.stderr
    assert "did you mean 'BH-SEP-003'" in result.stderr
    assert "Traceback" not in result.stderr
