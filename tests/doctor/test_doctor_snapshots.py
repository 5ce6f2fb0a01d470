"""``bulkhead doctor --snapshot``: each fixture (kubectl, gateway and Gitea shapes) names the
right layer first, with the right rule and exit code."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bulkhead.doctor import Layer, diagnose, read_snapshot
from bulkhead.errors import InputError
from bulkhead.spec import load_spec
from tests.support.cli import run_cli

SNAPSHOTS = Path(__file__).parent / "snapshots"
NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)

CASES = [
    # scenario, layer first, rule first, exit code, words of the verdict
    ("healthy", None, None, 0, "healthy"),
    ("node-not-ready", Layer.cluster, "DR-CLU-001", 1, "node pi-3 is NotReady"),
    ("memory-pressure", Layer.cluster, "DR-CLU-002", 1, "node pi-2 is under memory pressure"),
    ("pending-insufficient-memory", Layer.cluster, "DR-CLU-010", 1, "3 Insufficient memory"),
    ("oomkilled", Layer.cluster, "DR-CLU-011", 1, "memory limit (384Mi) is too low"),
    ("exec-format-error", Layer.cluster, "DR-CLU-012", 1, "not built for the node's architecture"),
    ("image-pull", Layer.cluster, "DR-CLU-013", 1, "cannot be pulled (ImagePullBackOff)"),
    ("gateway-not-ready", Layer.gpu, "DR-GPU-011", 1, "gateway is up but not ready"),
    ("gateway-queue-growing", Layer.gpu, "DR-GPU-012", 1, "production 120 → 480 → 950"),
    ("deploy-failed", Layer.ci, "DR-CI-001", 1, "deploy deploy-cluster.yaml failed (run #91"),
    ("cluster-only", Layer.gpu, None, 4, "unknown: the Docker engine is not in a snapshot"),
]


@pytest.fixture(scope="module")
def spec():
    return load_spec(Path(__file__).parents[2] / "examples" / "homelab.yaml")


@pytest.mark.parametrize(("scenario", "layer", "rule", "code", "words"), CASES)
def test_each_snapshot_names_the_right_layer_first(spec, scenario, layer, rule, code, words):
    report = diagnose(spec, read_snapshot(SNAPSHOTS / scenario, NOW))

    assert report.exit_code == code
    assert words in report.verdict
    if layer is not None:
        assert report.verdict.startswith(f"look here first: {layer} — ")
    if rule is not None:
        assert report.problems[0].rule.id == rule


def test_spec_problems_point_at_the_line_to_change(spec):
    report = diagnose(spec, read_snapshot(SNAPSHOTS / "oomkilled", NOW))

    location = report.problems[0].location
    assert location is not None
    line = Path(location.file).read_text(encoding="utf-8").splitlines()[location.line - 1]
    assert line.strip() == "limits: {memory: 384Mi}"


def test_an_amd64_only_image_points_at_the_platforms(spec):
    report = diagnose(spec, read_snapshot(SNAPSHOTS / "exec-format-error", NOW))

    location = report.problems[0].location
    assert location is not None
    line = Path(location.file).read_text(encoding="utf-8").splitlines()[location.line - 1]
    assert "platforms: [linux/arm64]" in line
    assert "exec format error" in report.problems[0].evidence[0]


def test_a_growing_queue_comes_with_rejections_and_gpu_memory_as_evidence(spec):
    report = diagnose(spec, read_snapshot(SNAPSHOTS / "gateway-queue-growing", NOW))

    assert [d.rule.id for d in report.problems] == ["DR-GPU-012", "DR-GPU-013", "DR-GPU-014"]
    assert "rejected 409 requests between scrapes" in report.problems[1].message
    assert report.problems[2].message == "GPU 0 (NVIDIA GeForce RTX 3090) memory is 98% used"


def test_missing_files_are_unknown_never_healthy(spec):
    report = diagnose(spec, read_snapshot(SNAPSHOTS / "cluster-only", NOW))

    states = {str(layer.layer): str(layer.state) for layer in report.layers}
    assert states == {"cluster": "healthy", "GPU machine": "unknown", "CI": "unknown"}


def test_the_cli_prints_the_verdict_first_then_the_evidence(homelab_path):
    result = run_cli("doctor", str(homelab_path), "--snapshot", str(SNAPSHOTS / "oomkilled"))

    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[0].startswith("look here first: cluster — pod apps/bible-api-6d8f9c7b5-x2x9q")
    assert "            - last exit: OOMKilled, exit code 137" in lines
    assert any(line.startswith("            in the spec: ") for line in lines)


def test_the_cli_speaks_json(homelab_path):
    result = run_cli(
        "doctor",
        str(homelab_path),
        "--snapshot",
        str(SNAPSHOTS / "deploy-failed"),
        "--format",
        "json",
    )

    document = json.loads(result.stdout)
    assert result.returncode == document["exit_code"] == 1
    assert document["diagnoses"][0]["rule"] == "DR-CI-001"
    assert document["diagnoses"][0]["layer"] == "CI"
    assert {layer["layer"]: layer["state"] for layer in document["layers"]}["CI"] == "problem"


def test_a_broken_snapshot_file_is_invalid_input_located(tmp_path, spec):
    (tmp_path / "nodes.json").write_text('{"items": [\n  {"metadata": }\n]}', encoding="utf-8")

    with pytest.raises(InputError) as broken:
        read_snapshot(tmp_path, NOW)

    assert str(broken.value.problems[0].location) == f"{tmp_path / 'nodes.json'}:2:16"


def test_a_missing_snapshot_directory_exits_3(homelab_path, tmp_path):
    result = run_cli("doctor", str(homelab_path), "--snapshot", str(tmp_path / "nope"))

    assert result.returncode == 3
    assert "no such snapshot directory" in result.stderr
