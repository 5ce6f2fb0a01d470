"""``plan()`` on whole specs: the reference homelab, the scheduler's message, the K3s traps."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bulkhead.placement import plan
from bulkhead.placement.result import NodeFailure, PlacementResult
from bulkhead.placement.scheduler import kubernetes_line
from bulkhead.spec import load_spec
from tests.placement.specs import homelab, pi, workload


def nodes_of(result: PlacementResult, name: str) -> list[str]:
    return [a.node for a in result.of(name)]


def test_reference_homelab_places_everything(homelab_path: Path) -> None:
    spec = load_spec(homelab_path)
    result = plan(spec)
    assert result.ok, result.unplaced
    assert nodes_of(result, "postgres") == ["pi-4"]  # the only fast-tier node
    for gpu_work in ("gateway", "ollama", "embed-corpus"):
        assert {a.environment for a in result.of(gpu_work)} == {"gpu"}
        assert nodes_of(result, gpu_work) == ["rtx"]
    for name, w in spec.workloads.items():
        if w.replicas > 1:
            assert len(set(nodes_of(result, name))) == w.replicas, name
    runners = {a.workload: a.runner for a in result.assignments if a.runner}
    assert runners == {"refresh-embeddings": "gpu-runner", "deploy-check": "pi-runner"}
    pi1 = result.node("pi-1")
    assert pi1 is not None
    assert pi1.system[0] == "k3s-server"
    assert {"coredns", "metrics-server", "traefik", "svclb-traefik"} <= set(pi1.system)
    assert (pi1.overhead_cpu, pi1.overhead_memory) == (500, 800 * 2**20)


def test_the_kubernetes_line_has_the_schedulers_exact_form() -> None:
    spec = homelab(
        {
            "pi-1": pi("1Gi"),
            "pi-2": pi(taints=["gpu=true:NoSchedule"]),
            "pi-3": pi(arch="amd64"),
            "pi-4": pi(arch="amd64"),
        },
        {"api": workload(platforms=["linux/arm64"], resources={"cpu": "100m", "memory": "2Gi"})},
    )
    (unplaced,) = plan(spec).unplaced
    assert unplaced.kubernetes == (
        "0/4 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint "
        "{gpu: true}, 2 node(s) didn't match Pod's node affinity/selector."
    )
    # 1Gi − CoreDNS 70Mi − metrics-server 70Mi: with no server, add-ons land on the first node
    assert "pi-1: memory 884Mi free < 2Gi requested" in unplaced.reasons
    assert "pi-3: arch amd64 not in image platforms [linux/arm64]" in unplaced.reasons
    assert unplaced.unresolvable


def test_kubernetes_line_sorts_counts_as_strings_and_counts_first_plugin_only() -> None:
    def fail(node: str, predicate: str, reason: str) -> NodeFailure:
        return NodeFailure(node, predicate, reason, f"{node}: x")

    failures = {
        f"n{i}": (fail(f"n{i}", "NodeResourcesFit", "Insufficient cpu"),) for i in range(10)
    }
    failures["a"] = (
        fail("a", "TaintToleration", "t"),
        fail("a", "NodeResourcesFit", "Insufficient cpu"),
    )
    failures["b"] = (fail("b", "NodeAffinity", "x"), fail("b", "NodeAffinity", "x"))
    assert kubernetes_line(failures) == "0/12 nodes are available: 1 t, 1 x, 10 Insufficient cpu."


def test_cordoned_node_blocks_the_last_replica_through_topology_spread() -> None:
    """A known K3s trap: a cordoned node still counts as a spread domain with 0 replicas."""
    spec = homelab(
        {"pi-1": pi(), "pi-2": pi(), "pi-3": pi(unschedulable=True)},
        {"web": workload(replicas=3, resources={"cpu": "100m", "memory": "64Mi"})},
    )
    result = plan(spec)
    assert sorted(nodes_of(result, "web")) == ["pi-1", "pi-2"]
    (unplaced,) = result.unplaced
    assert unplaced.kubernetes == (
        "0/3 nodes are available: 1 node(s) were unschedulable, "
        "2 node(s) didn't match pod topology spread constraints."
    )
    assert "pi-2: anti-affinity: web/0 runs here" in unplaced.reasons
    assert unplaced.suggestion is not None
    assert unplaced.suggestion.startswith("no placement of every pod exists")
    assert not unplaced.unresolvable


def test_host_network_port_80_collides_with_servicelb() -> None:
    spec = homelab(
        {"pi-1": pi()},
        {"proxy": workload(ports={"http": 80}, security={"hostNetwork": True})},
    )
    (unplaced,) = plan(spec).unplaced
    assert unplaced.kubernetes == (
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
    )
    assert unplaced.reasons == ("pi-1: host port 80 (held by svclb-traefik) already in use",)
    without_traefik = homelab(
        {"pi-1": pi()},
        {"proxy": workload(ports={"http": 80}, security={"hostNetwork": True})},
        ingress="nginx",
    )
    assert plan(without_traefik).ok


def test_addons_count_against_the_first_server() -> None:
    spec = homelab(
        {"pi-1": pi("1Gi", role="server"), "pi-2": pi("1Gi")},
        {"big": workload(resources={"cpu": "100m", "memory": "950Mi"})},
    )
    result = plan(spec)
    assert nodes_of(result, "big") == ["pi-2"]
    pi1 = result.node("pi-1")
    assert pi1 is not None
    assert (pi1.cpu.requested, pi1.memory.requested) == (200, 140 * 2**20)
    assert pi1.pods.requested == 5  # coredns, local-path, metrics-server, traefik, svclb


def test_higher_priority_is_placed_first() -> None:
    spec = homelab(
        {"pi-1": pi("2Gi")},
        {
            "low": workload(resources={"memory": "1500Mi"}),
            "high": workload(priority=10, resources={"memory": "1500Mi"}),
        },
    )
    result = plan(spec)
    assert [a.workload for a in result.assignments] == ["high"]
    assert [u.workload for u in result.unplaced] == ["low"]


def test_database_needs_the_fast_tier_and_storage_room() -> None:
    fast = {"class": "nvme", "size": "10Gi", "tier": "fast"}
    spec = homelab(
        {"pi-1": pi(storage={"size": "100Gi"}), "pi-4": pi(storage=fast)},
        {
            "pg": workload("database", volumes={"data": {"mount": "/d", "size": "8Gi"}}),
            "pg2": workload("database", volumes={"data": {"mount": "/d", "size": "8Gi"}}),
        },
    )
    result = plan(spec)
    assert nodes_of(result, "pg") == ["pi-4"]
    (unplaced,) = result.unplaced
    assert unplaced.reasons == (
        "pi-1: storage tier standard, a database needs fast",
        "pi-4: storage 2Gi free < 8Gi requested (nvme)",
    )
    assert unplaced.kubernetes == (
        "0/2 nodes are available: 1 node(s) did not have enough free storage, "
        "1 node(s) didn't match Pod's node affinity/selector."
    )


def on(key: str, value: str) -> dict[str, Any]:
    return workload(placement={"nodeSelector": {key: value}})


def test_node_selector_on_builtin_labels() -> None:
    spec = homelab(
        {"pi-1": pi(role="server"), "pi-2": pi(), "mini": pi(arch="amd64")},
        {
            "on-server": workload(
                placement={"nodeSelector": {"node-role.kubernetes.io/control-plane": "true"}}
            ),
            "on-amd64": workload(placement={"nodeSelector": {"kubernetes.io/arch": "amd64"}}),
            "on-pi-2": workload(placement={"nodeSelector": {"kubernetes.io/hostname": "pi-2"}}),
        },
    )
    result = plan(spec)
    assert (nodes_of(result, "on-server"), nodes_of(result, "on-amd64")) == (["pi-1"], ["mini"])
    assert nodes_of(result, "on-pi-2") == ["pi-2"]


def test_replicas_spread_and_the_load_balances() -> None:
    spec = homelab(
        {f"pi-{i}": pi() for i in range(1, 5)},
        {
            "a": workload(replicas=3, resources={"cpu": "500m", "memory": "512Mi"}),
            "b": workload(replicas=3, resources={"cpu": "500m", "memory": "512Mi"}),
        },
    )
    result = plan(spec)
    per_node = Counter(a.node for a in result.assignments)
    assert max(per_node.values()) - min(per_node.values()) <= 1
    assert len(set(nodes_of(result, "a"))) == 3
