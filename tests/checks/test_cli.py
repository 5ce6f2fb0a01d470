"""`bulkhead check` as a user and CI run it: formats, exit codes, malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.checks.rule_cases import CASES
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "homelab.yaml"


def test_the_reference_homelab_has_no_errors() -> None:
    result = run_cli("check", str(EXAMPLE), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["error"] == 0
    assert not [f for f in document["findings"] if f["severity"] == "error"]


def test_text_output_shows_locations_and_the_summary() -> None:
    result = run_cli("check", str(EXAMPLE))
    assert result.returncode == 0
    assert f"at {EXAMPLE}:" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("0 errors")


def test_errors_exit_1() -> None:
    result = run_cli("check", str(CASES / "BH-IMG-001" / "fail.yaml"))
    assert result.returncode == 1
    assert "BH-IMG-001" in result.stdout


def test_unplaceable_workloads_exit_2_and_still_report() -> None:
    result = run_cli("check", str(CASES / "BH-PLC-001" / "fail.yaml"), "-f", "sarif")
    assert result.returncode == 2
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert [r["ruleId"] for r in results if r["level"] == "error"] == ["BH-PLC-001"]


def test_today_judges_waiver_expiry() -> None:
    case = str(CASES / "BH-POL-001" / "pass.yaml")  # the waiver expires on 2026-06-01
    assert run_cli("check", case, "--today", "2026-06-01").returncode == 0
    assert run_cli("check", case, "--today", "2026-06-02").returncode == 1


MALFORMED = {
    "syntax": "apiVersion: bulkhead/v1alpha1\nkind: [Homelab\n",
    "shape": "apiVersion: bulkhead/v1alpha1\nkind: Homelab\nmetadata: {name: X}\n"
    "environments: {}\nworkloadz: {}\n",
    "reference": (CASES / "BH-SEP-003" / "pass.yaml")
    .read_text()
    .replace("uses: [embeddings]", "uses: [embedings]"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_input_behaves_exactly_like_validate(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "homelab.yaml"
    path.write_text(MALFORMED[kind])
    validate = run_cli("validate", str(path))
    assert validate.returncode == 3
    for fmt in ("text", "json", "sarif"):
        check = run_cli("check", str(path), "--format", fmt)
        assert (check.returncode, check.stdout, check.stderr) == (3, "", validate.stderr)
    assert f"{path}:" in validate.stderr
    assert "Traceback" not in validate.stderr


def test_a_missing_file_behaves_like_validate(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.yaml")
    check, validate = run_cli("check", path), run_cli("validate", path)
    assert check.returncode == validate.returncode == 3
    assert check.stderr == validate.stderr
    assert "cannot read the file" in check.stderr
