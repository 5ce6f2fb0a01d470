"""The rendered tree as a whole: golden files, determinism, YAML round trip, kustomize, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bulkhead.placement import PlacementResult, plan
from bulkhead.render import render_cluster_objects, render_compose, render_tree
from bulkhead.render.dump import dump_documents
from bulkhead.spec import Homelab, load_spec
from tests.render.conftest import OUT_DIR, SPEC_PATH
from tests.render.specs import EXAMPLES, example_data
from tests.support.cli import run_cli

GOLDEN = Path(__file__).resolve().parent / "golden"


def _on_disk(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_golden_files(example_tree: dict[str, str], update_golden: bool) -> None:
    if update_golden:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for name, text in example_tree.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_text(text)
    golden = _on_disk(GOLDEN)
    assert sorted(golden) == sorted(example_tree), "run: make golden (and review the diff)"
    for name, text in example_tree.items():
        assert text == golden[name], f"{name} differs from the golden file; run: make golden"


def test_same_input_gives_the_same_bytes(example_tree: dict[str, str]) -> None:
    spec = load_spec(EXAMPLES / "homelab.yaml")
    again = render_tree(spec, plan(spec), spec_path=SPEC_PATH, out_dir=OUT_DIR)
    assert again == example_tree
    assert list(again) == sorted(again)


def _canonical(documents: list[Any]) -> list[str]:
    return sorted(json.dumps(d, sort_keys=True) for d in documents)


def test_yaml_round_trips_to_the_same_data(
    example: Homelab, example_placement: PlacementResult, example_tree: dict[str, str]
) -> None:
    cluster = [
        doc
        for name, text in example_tree.items()
        if name.startswith("cluster/")
        and name.count("/") == 2
        and "kustomization" not in name
        and "/k3s-config/" not in name
        for doc in yaml.safe_load_all(text)
    ]
    assert _canonical(cluster) == _canonical(render_cluster_objects(example, example_placement))
    compose = yaml.safe_load(example_tree["gpu/compose.yaml"])
    assert compose == render_compose(example, example_placement)["gpu"]
    for name, text in example_tree.items():
        if name.endswith(".yaml"):
            body = text[text.index("\n---\n") + 1 :] if "\n---\n" in text else None
            documents = list(yaml.safe_load_all(text))
            if body is not None:
                assert dump_documents(documents) == body, name


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_every_object(
    example: Homelab, example_placement: PlacementResult, written_tree: Path
) -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(written_tree / "cluster")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    documents = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert _canonical(documents) == _canonical(render_cluster_objects(example, example_placement))


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A repository root holding a copy of the examples."""
    shutil.copytree(EXAMPLES, tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_cli_writes_the_library_render_byte_for_byte(
    workdir: Path, example_tree: dict[str, str]
) -> None:
    first = run_cli("render", SPEC_PATH, "-o", OUT_DIR, cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert _on_disk(workdir / OUT_DIR) == example_tree
    assert (workdir / OUT_DIR / "cluster" / "nodes.sh").stat().st_mode & 0o111
    second = run_cli("render", SPEC_PATH, "-o", OUT_DIR, cwd=workdir)
    assert "0 changed, 0 removed" in second.stdout
    assert _on_disk(workdir / OUT_DIR) == example_tree


def test_cli_removes_stale_generated_files_and_keeps_the_user_s(workdir: Path) -> None:
    out = workdir / OUT_DIR
    assert run_cli("render", SPEC_PATH, "-o", OUT_DIR, cwd=workdir).returncode == 0
    mine = out / "cluster" / "NOTES.md"
    mine.write_text("mine\n")
    data = example_data()
    del data["workloads"]["notes-api"]
    (workdir / SPEC_PATH).write_text(dump_documents([data]))
    result = run_cli("render", SPEC_PATH, "-o", OUT_DIR, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert not (out / "cluster" / "apps" / "notes-api.yaml").exists()
    assert mine.read_text() == "mine\n"
    assert "1 removed" in result.stdout


def test_cli_refuses_an_unplaceable_spec(workdir: Path) -> None:
    data = example_data()
    data["workloads"]["redis"]["resources"]["memory"] = "64Gi"
    (workdir / SPEC_PATH).write_text(dump_documents([data]))
    result = run_cli("render", SPEC_PATH, "-o", OUT_DIR, cwd=workdir)
    assert result.returncode == 2
    assert "redis/0" in result.stderr
    assert "Insufficient memory" in result.stderr
    assert not (workdir / OUT_DIR).exists()


def test_cli_reports_a_located_spec_problem(workdir: Path) -> None:
    data = example_data()
    data["workloads"]["postgres"]["volumes"]["data"]["backup"]["schedule"] = "0 3 * *"
    text = dump_documents([data])
    (workdir / SPEC_PATH).write_text(text)
    result = run_cli("render", SPEC_PATH, "-o", OUT_DIR, cwd=workdir)
    assert result.returncode == 3
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "0 3 * *" in row)
    assert f"{SPEC_PATH}:{line}:" in result.stderr
    assert "Traceback" not in result.stderr
