"""What-if per node, and the verified remedies for pods the greedy scheduler strands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bulkhead.placement import exact, plan
from bulkhead.placement.k3s import K3S
from bulkhead.placement.layout import layout_of
from bulkhead.placement.scheduler import schedule
from bulkhead.spec import load_spec
from tests.placement.specs import homelab, pi, workload


def test_reference_homelab_what_if(homelab_path: Path) -> None:
    result = plan(load_spec(homelab_path))
    assert "postgres" in result.resilience["pi-4"]
    assert result.resilience_reasons["pi-4"]["postgres"] == (
        "volume data is bound to pi-4 (a local-path volume pins its pod)"
    )
    for lost in result.resilience["pi-1"]:
        assert result.resilience_reasons["pi-1"][lost] == (
            "pi-1 is the only server: with no control plane nothing is rescheduled"
        )
    assert "refresh-embeddings" in result.resilience["rtx"]
    hosts = {(a.workload, a.node) for a in result.assignments}
    for node, lost in result.resilience.items():
        assert all((name, node) in hosts for name in lost)


def mem(size: str, **fields: Any) -> dict[str, Any]:
    return workload(resources={"cpu": "100m", "memory": size}, **fields)


def test_pods_move_to_survivors_unless_nothing_fits() -> None:
    spec = homelab(
        {"pi-1": pi("4Gi", role="server"), "pi-2": pi("4Gi", role="server"), "pi-3": pi("4Gi")},
        {"small": mem("1Gi"), "big": mem("3.5Gi"), "huge": mem("3.5Gi"), "tiny": mem("100Mi")},
        ingress="nginx",
    )
    result = plan(spec)
    where = {a.workload: a.node for a in result.assignments}
    assert where == {"small": "pi-2", "big": "pi-3", "huge": "pi-1", "tiny": "pi-2"}
    assert result.resilience == {"pi-1": ("huge",), "pi-2": ("small",), "pi-3": ("big",)}
    assert result.resilience_reasons["pi-1"]["huge"] == (
        "no other node fits: 0/2 nodes are available: 2 Insufficient memory."
    )


FRAGMENTED = {"p1": mem("2Gi"), "p2": mem("2Gi"), "p3": mem("3.5Gi")}


def test_one_move_remedy_is_stated_and_really_works() -> None:
    nodes = {"pi-1": pi("4Gi"), "pi-2": pi("4Gi")}
    result = plan(homelab(nodes, FRAGMENTED, ingress="nginx"))
    (stranded,) = result.unplaced
    assert stranded.workload == "p3"
    assert stranded.suggestion == (
        "p3/0 fits: run it on pi-1 and move p2/0 to pi-2 (pin both with a "
        "kubernetes.io/hostname nodeSelector); the scheduler places one pod at a time and "
        "does not find this itself"
    )
    pinned = dict(FRAGMENTED)
    pinned["p3"] = mem("3.5Gi", placement={"nodeSelector": {"kubernetes.io/hostname": "pi-1"}})
    pinned["p2"] = mem("2Gi", placement={"nodeSelector": {"kubernetes.io/hostname": "pi-2"}})
    assert plan(homelab(nodes, pinned, ingress="nginx")).ok


def test_priority_remedy() -> None:
    nodes = {"pi-1": pi("4Gi"), "pi-2": pi("4Gi", labels={"disk": "ssd"})}
    ssd = {"nodeSelector": {"disk": "ssd"}}
    workloads = {"a": mem("1.5Gi"), "b": mem("1.5Gi"), "c": mem("3Gi", placement=ssd)}
    result = plan(homelab(nodes, workloads, ingress="nginx"))
    (stranded,) = result.unplaced
    assert stranded.suggestion == (
        "c/0 fits: give c priority 1 so it is scheduled first; it then lands on pi-2 and "
        "everything placed now still fits"
    )
    workloads["c"] = mem("3Gi", placement=ssd, priority=1)
    assert plan(homelab(nodes, workloads, ingress="nginx")).ok


def test_exact_search_finds_what_greedy_misses_and_proves_impossibility() -> None:
    spec = homelab({"pi-1": pi("4Gi"), "pi-2": pi("4Gi")}, FRAGMENTED, ingress="nginx")
    layout = layout_of(spec)
    pods, start = layout.cluster_pods["cluster"], layout.clusters["cluster"]
    assert schedule(pods, start, K3S).pending  # greedy strands p3
    found = exact.search(pods, start, K3S)
    assert isinstance(found, dict)
    pinned = [p.pinned_to(found[p.key]) for p in pods]
    assert not schedule(pinned, start, K3S).pending
    assert exact.search(pods, start, K3S, budget=1) is exact.UNKNOWN
    too_much = homelab(
        {"pi-1": pi("4Gi"), "pi-2": pi("4Gi")}, {**FRAGMENTED, "p4": mem("3Gi")}, ingress="nginx"
    )
    layout = layout_of(too_much)
    pods = layout.cluster_pods["cluster"]
    assert exact.search(pods, layout.clusters["cluster"], K3S) is exact.INFEASIBLE
    # total memory fits (6.3Gi of 8Gi), but no node holds two: only the search can tell
    thirds = homelab(
        {"pi-1": pi("4Gi"), "pi-2": pi("4Gi")},
        {n: mem("2.1Gi") for n in ("x", "y", "z")},
        ingress="nginx",
    )
    layout = layout_of(thirds)
    pods = layout.cluster_pods["cluster"]
    assert exact.search(pods, layout.clusters["cluster"], K3S) is exact.INFEASIBLE
