"""``bulkhead plan`` as a user runs it: text, JSON, exit codes 0 / 2 / 3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bulkhead.spec import load_spec
from bulkhead.spec.quantity import format_memory
from tests.support.cli import run_cli


def test_text_report_of_the_reference_homelab(homelab_path: Path) -> None:
    result = run_cli("plan", str(homelab_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    replicas = sum(w.replicas for w in load_spec(homelab_path).workloads.values())
    assert f"attic: {replicas} of {replicas} replicas placed" in out
    for heading in ("cluster (k3s)", "gpu (docker)", "runners (gitea)", "If a node dies"):
        assert heading in out
    assert "pi-4: search-api/0" in out or "postgres/0" in out
    assert "postgres: volume data is bound to pi-4" in out


def test_json_is_stable_and_has_the_documented_shape(homelab_path: Path) -> None:
    first = run_cli("plan", str(homelab_path), "--format", "json")
    second = run_cli("plan", str(homelab_path), "--format", "json")
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    doc = json.loads(first.stdout)
    assert set(doc) >= {"placements", "unplaced", "nodes", "resilience"}
    pg = next(p for p in doc["placements"] if p["workload"] == "postgres")
    assert (pg["environment"], pg["node"], pg["replica"]) == ("cluster", "pi-4", 0)
    pi4 = next(n for n in doc["nodes"] if n["name"] == "pi-4")
    assert pi4["cpu"]["allocatable"] == "4"
    assert pi4["memory"]["allocatable"] == "8Gi"
    spec = load_spec(homelab_path)
    on_pi4 = {p["workload"] for p in doc["placements"] if p["node"] == "pi-4"}
    volumes = sum(v.size.units for w in on_pi4 for v in spec.workloads[w].volumes.values())
    assert pi4["storage"]["requested"] == format_memory(volumes)
    assert "postgres" in doc["resilience"]["pi-4"]


def test_unplaceable_spec_exits_2_with_the_explanation(homelab_path: Path, tmp_path: Path) -> None:
    shutil.copytree(homelab_path.parent, tmp_path, dirs_exist_ok=True)
    spec = tmp_path / "homelab.yaml"
    text = spec.read_text()
    redis = text.index("  redis:\n")
    before, after = text[:redis], text[redis:]
    spec.write_text(before + after.replace("memory: 256Mi}", "memory: 12Gi}", 1))
    result = run_cli("plan", str(spec))
    assert result.returncode == 2, result.stderr
    assert "redis/0 → cluster" in result.stdout
    assert "4 Insufficient memory" in result.stdout
    doc = json.loads(run_cli("plan", str(spec), "-f", "json").stdout)
    (unplaced,) = doc["unplaced"]
    assert unplaced["workload"] == "redis"
    assert unplaced["unresolvable"] is True
    assert unplaced["kubernetes"] == "0/4 nodes are available: 4 Insufficient memory."


def test_invalid_spec_exits_3_with_a_location(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("apiVersion: bulkhead/v1alpha1\nkind: Homelab\nmetadata: {name: x}\n")
    result = run_cli("plan", str(spec))
    assert result.returncode == 3
    assert f"{spec}:" in result.stderr
    assert "Traceback" not in result.stderr
