"""Every kind of bad input is a located problem (exit 3 in the CLI), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkhead.errors import SpecError
from bulkhead.spec import Homelab, load_spec, parse_spec
from tests.support.cli import run_cli

HEADER = "apiVersion: bulkhead/v1alpha1\nkind: Homelab\nmetadata: {name: lab}\n"
CLUSTER = (
    "environments:\n"
    "  cluster:\n"
    "    type: k3s\n"
    "    nodes:\n"
    "      pi-1: {role: server, cpu: 4, memory: 8Gi}\n"
)
VALID = HEADER + CLUSTER + "namespaces: {apps: {}}\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "lab.yaml")
    return [str(p) for p in info.value.problems]


def test_minimal_spec_is_valid() -> None:
    spec = parse_spec(VALID, "lab.yaml")
    assert isinstance(spec, Homelab)
    assert spec.environments["cluster"].type == "k3s"


def test_defaults_follow_the_contract() -> None:
    env = parse_spec(VALID, "lab.yaml").environments["cluster"]
    assert env.type == "k3s"
    assert env.version == "1.31"
    assert env.network_policy == "embedded"
    assert env.server_overhead.cpu.millis == 500
    assert env.server_overhead.memory.units == 800 * 2**20
    assert env.nodes["pi-1"].max_pods == 110


def test_reference_example_is_valid(homelab_path: Path) -> None:
    spec = load_spec(homelab_path)
    assert spec.metadata.name == "attic"
    assert spec.locate("workloads", "postgres", "image").line > 1


def test_locations_point_at_values() -> None:
    spec = parse_spec(VALID, "lab.yaml")
    loc = spec.locate("environments", "cluster", "nodes", "pi-1", "memory")
    assert (loc.file, loc.line, loc.column) == ("lab.yaml", 8, 44)


BAD_INPUTS = {
    "syntax": (HEADER + "environments: [\n", "lab.yaml:5:1: YAML syntax error"),
    "tab": (HEADER + "environments:\n\tcluster: {}\n", "lab.yaml:5:1: YAML syntax error: a tab"),
    "duplicate key": (
        VALID + "namespaces: {x: {}}\n",
        "lab.yaml:10:1: duplicate key 'namespaces' (first defined at line 9)",
    ),
    "unknown key": (
        VALID.replace("role: server", "rol: server"),
        "lab.yaml:8:14: unknown key 'rol'; did you mean 'role'?",
    ),
    "wrong type": (VALID.replace("{apps: {}}", "{apps: {sensitive: maybe}}"), "lab.yaml:9:32:"),
    "bad quantity": (
        VALID.replace("memory: 8Gi", "memory: 5Gigs"),
        "lab.yaml:8:44: '5Gigs' is not a quantity",
    ),
    "negative count": (
        VALID + "workloads:\n  a: {class: service, namespace: apps, image: a:1, replicas: -1}\n",
        "lab.yaml:11:62: Input should be greater than or equal to 0",
    ),
    "dangling reference": (
        VALID + "workloads:\n  a: {class: service, namespace: aps, image: a:1}\n",
        "lab.yaml:11:34: unknown namespace 'aps'; did you mean 'apps'?",
    ),
    "empty file": ("", "lab.yaml:1:1: the file is empty"),
    "only comments": ("# nothing\n", "lab.yaml:1:1: the file is empty"),
    "top-level list": ("- a\n- b\n", "lab.yaml:1:1: the top level must be a mapping"),
    "top-level scalar": ("hello\n", "lab.yaml:1:1: the top level must be a mapping"),
    "wrong apiVersion": (
        VALID.replace("v1alpha1", "v2"),
        "lab.yaml:1:13: Input should be 'bulkhead/v1alpha1'",
    ),
    "unknown environment type": (
        VALID.replace("type: k3s", "type: k8s"),
        "lab.yaml:6:11: unknown type 'k8s'",
    ),
    "missing key": (
        VALID.replace("cpu: 4, ", ""),
        "lab.yaml:8:7: missing required key 'cpu' in environments.cluster.nodes.pi-1",
    ),
    "two documents": (VALID + "---\na: 1\n", "YAML syntax error: more than one YAML document"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_located(case: str) -> None:
    text, expected = BAD_INPUTS[case]
    assert any(p.startswith(expected) or expected in p for p in problems_of(text)), case


def test_all_problems_are_reported_not_just_the_first() -> None:
    text = VALID.replace("memory: 8Gi", "memory: 5Gigs").replace("role: server", "rol: server")
    text += "workloads:\n  a: {class: service, namespace: apps, image: a:1}\n  a: {}\n"
    problems = problems_of(text)
    assert len(problems) == 3
    assert [p.split(":")[1] for p in problems] == ["8", "8", "12"]


def test_dangling_references_are_all_reported() -> None:
    text = VALID + (
        "apis: {emb: {provider: nobody, port: http}}\n"
        "workloads:\n"
        "  a: {class: service, namespace: apps, image: a:1, uses: [b, emb2], exposes: [x]}\n"
    )
    problems = problems_of(text)
    assert any("unknown workload 'nobody'" in p for p in problems)
    assert any("unknown workload or api 'b'" in p for p in problems)
    assert any("'emb2'; did you mean 'emb'?" in p for p in problems)
    assert any("unknown api 'x'" in p for p in problems)


def test_yaml_1_1_booleans_do_not_eat_keys() -> None:
    text = VALID.replace("namespaces: {apps: {}}\n", "") + (
        "  ci: {type: gitea, url: 'https://git.lab', runners: {r: {node: pi-1, labels: [x]}}}\n"
        "workloads:\n"
        "  job: {class: ci-job, ci: {on: [push], runsOn: [x], steps: [{run: make}]}}\n"
    )
    spec = parse_spec(text, "lab.yaml")
    ci = spec.workloads["job"].ci
    assert ci is not None
    assert ci.on == ["push"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_bytes(VALID.replace("lab}", "l\xffb}").encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (problem,) = info.value.problems
    assert problem.location is not None
    assert (problem.location.line, problem.location.column) == (3, 19)
    assert "not valid UTF-8" in problem.message


@pytest.mark.parametrize("case", ["tab", "unknown key", "top-level list", "empty file"])
def test_cli_exits_3_with_located_lines(tmp_path: Path, case: str) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(BAD_INPUTS[case][0])
    result = run_cli("validate", str(path))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}:")


def test_cli_missing_file_is_exit_3(tmp_path: Path) -> None:
    result = run_cli("validate", str(tmp_path / "absent.yaml"))
    assert result.returncode == 3
    assert "cannot read the file" in result.stderr


def test_unquoted_off_means_off_in_severity() -> None:
    spec = parse_spec(VALID + "policy: {severity: {BH-IMG-002: off, BH-PRB-001: error}}\n", "x")
    assert {k: v.value for k, v in spec.policy.severity.items()} == {
        "BH-IMG-002": "off",
        "BH-PRB-001": "error",
    }


def test_usage_errors_exit_3_not_2() -> None:
    result = run_cli("validate")
    assert result.returncode == 3
    assert "Missing argument" in result.stderr


def test_a_node_name_is_unique_across_environments() -> None:
    gpu = "{type: docker, host: 'unix:///run/docker.sock', nodes: {pi-1: {cpu: 1, memory: 1Gi}}}"
    text = VALID + f"  gpu: {gpu}\n"
    text = text.replace("namespaces: {apps: {}}\n", "") + "namespaces: {apps: {}}\n"
    (problem,) = problems_of(text)
    assert "node 'pi-1' is already declared in environment 'cluster'" in problem
