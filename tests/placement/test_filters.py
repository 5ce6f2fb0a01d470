"""Each kube-scheduler filter on hand-built nodes and pods: verdict, reason text, numbers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bulkhead.placement import filters as f
from bulkhead.placement.addons import svclb_pod
from bulkhead.placement.model import NodeSpec, NodeState, PodSpec, StorageSpec, VolumeClaim
from bulkhead.placement.result import EnvKind
from bulkhead.spec.taints import Taint, Toleration

GI = 2**30
MI = 2**20


def node(name: str = "pi-3", **fields: object) -> NodeSpec:
    base = NodeSpec(
        name=name,
        environment="cluster",
        kind=EnvKind.k3s,
        role="agent",
        arch="arm64",
        cpu=4000,
        memory=8 * GI,
        labels={"kubernetes.io/hostname": name, "kubernetes.io/arch": "arm64"},
        max_pods=110,
        storage=StorageSpec("local-path", 58 * GI, "standard"),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def pod(workload: str = "web", replica: int = 0, **fields: object) -> PodSpec:
    return replace(PodSpec(workload, replica, order=0), **fields)  # type: ignore[arg-type]


NONE = f.Cycle()


def test_cordoned_node_is_unschedulable() -> None:
    state = NodeState(node(unschedulable=True))
    (failure,) = f.node_unschedulable(pod(), state, NONE)
    assert failure.reason == "node(s) were unschedulable"
    assert failure.detail == "pi-3: node is cordoned"
    tolerant = pod(tolerations=(Toleration.parse("node.kubernetes.io/unschedulable"),))
    assert f.node_unschedulable(tolerant, state, NONE) == ()


def test_first_untolerated_taint_is_the_reason_and_all_are_listed() -> None:
    taints = (Taint.parse("gpu=true:NoSchedule"), Taint.parse("dedicated:NoExecute"))
    state = NodeState(node(taints=(*taints, Taint.parse("soft=1:PreferNoSchedule"))))
    (failure,) = f.taint_toleration(pod(), state, NONE)
    assert failure.reason == "node(s) had untolerated taint {gpu: true}"
    assert failure.detail == "pi-3: taint gpu=true:NoSchedule, dedicated:NoExecute not tolerated"
    one = pod(tolerations=(Toleration.parse("gpu=true:NoSchedule"),))
    (failure,) = f.taint_toleration(one, state, NONE)
    assert failure.reason == "node(s) had untolerated taint {dedicated: }"
    both = pod(tolerations=(Toleration.parse("gpu"), Toleration.parse("dedicated")))
    assert f.taint_toleration(both, state, NONE) == ()


def test_node_selector_arch_and_tier_are_node_affinity() -> None:
    state = NodeState(node(labels={"kubernetes.io/hostname": "pi-2", "disk": "hdd"}, name="pi-2"))
    wanted = pod(
        node_selector=(("disk", "ssd"), ("zone", "attic")),
        platforms=("linux/amd64",),
        needs_fast=True,
    )
    failures = f.node_affinity(wanted, state, NONE)
    assert {x.reason for x in failures} == {"node(s) didn't match Pod's node affinity/selector"}
    assert [x.detail for x in failures] == [
        "pi-2: nodeSelector disk=ssd, node has disk=hdd",
        "pi-2: nodeSelector zone=attic, node has no label zone",
        "pi-2: arch arm64 not in image platforms [linux/amd64]",
        "pi-2: storage tier standard, a database needs fast",
    ]
    assert not f.matches_affinity(wanted, state.node)
    fits = pod(platforms=("linux/arm64", "linux/amd64"), node_selector=(("disk", "hdd"),))
    assert f.node_affinity(fits, state, NONE) == ()
    assert f.matches_affinity(fits, state.node)


def test_host_ports_held_by_svclb() -> None:
    state = NodeState(node()).bind(svclb_pod())
    (failure,) = f.node_ports(pod(host_ports=(80, 8080)), state, NONE)
    assert failure.reason == "node(s) didn't have free ports for the requested pod ports"
    assert failure.detail == "pi-3: host port 80 (held by svclb-traefik) already in use"
    assert f.node_ports(pod(host_ports=(8080,)), state, NONE) == ()


def test_resources_fit_reasons_in_plugin_order_with_numbers() -> None:
    busy = NodeState(node(max_pods=2)).bind(pod("a", cpu=3850, memory=8 * GI - 1126 * MI))
    busy = busy.bind(pod("b"))
    asked = pod(cpu=250, memory=2 * GI, gpus=1)
    failures = f.resources_fit(asked, busy, NONE)
    assert [x.reason for x in failures] == [
        "Too many pods",
        "Insufficient cpu",
        "Insufficient memory",
        "Insufficient nvidia.com/gpu",
    ]
    assert [x.detail for x in failures] == [
        "pi-3: 2 pods already, maxPods 2",
        "pi-3: cpu 150m free < 250m requested",
        "pi-3: memory 1.1Gi free < 2Gi requested",
        "pi-3: nvidia.com/gpu 0 free < 1 requested",
    ]


def test_zero_requests_always_fit_and_exact_fit_passes() -> None:
    full = NodeState(node()).bind(pod("a", cpu=4000, memory=8 * GI))
    assert f.resources_fit(pod(), full, NONE) == ()
    half = NodeState(node()).bind(pod("a", cpu=2000, memory=4 * GI))
    assert f.resources_fit(pod(cpu=2000, memory=4 * GI), half, NONE) == ()


def test_volume_binding_storage_class_and_room() -> None:
    data = VolumeClaim("data", 20 * GI, None)
    bare = NodeState(node(storage=None))
    (failure,) = f.volume_binding(pod(volumes=(data,)), bare, NONE)
    assert failure.reason == "node(s) didn't find available persistent volumes to bind"
    assert failure.detail == "pi-3: no storage for volume data (20Gi)"
    nvme = pod(volumes=(VolumeClaim("data", GI, "nvme"),))
    (failure,) = f.volume_binding(nvme, NodeState(node()), NONE)
    assert failure.detail == "pi-3: storage class local-path, volume data asks nvme"
    filled = NodeState(node()).bind(pod("db", volumes=(VolumeClaim("x", 50 * GI, None),)))
    (failure,) = f.volume_binding(pod(volumes=(data,)), filled, NONE)
    assert failure.reason == "node(s) did not have enough free storage"
    assert failure.detail == "pi-3: storage 8Gi free < 20Gi requested (local-path)"


def test_topology_spread_skew_against_global_minimum() -> None:
    here = NodeState(node()).bind(pod(replica=0, spread=True))
    second = pod(replica=1, spread=True)
    (failure,) = f.topology_spread(second, here, f.Cycle(spread_min=0))
    assert failure.reason == "node(s) didn't match pod topology spread constraints"
    assert failure.detail == (
        "pi-3: topology spread: 1 replica(s) of web here, 0 on the emptiest eligible node "
        "(maxSkew 1)"
    )
    assert f.topology_spread(second, here, f.Cycle(spread_min=1)) == ()
    assert f.topology_spread(replace(second, spread=False), here, NONE) == ()


def test_anti_affinity_between_replicas() -> None:
    here = NodeState(node(name="pi-2")).bind(pod(replica=0, spread=True))
    (failure,) = f.inter_pod_affinity(pod(replica=1, spread=True), here, NONE)
    assert failure.reason == "node(s) didn't match pod anti-affinity rules"
    assert failure.detail == "pi-2: anti-affinity: web/0 runs here"
    assert f.inter_pod_affinity(pod("other", spread=True), here, NONE) == ()


def test_prefilter_counts_cordoned_nodes_as_domains() -> None:
    """nodeTaintsPolicy Ignore: a cordoned node with no replica keeps the minimum at 0."""
    spread = pod(replica=2, spread=True)
    full = {
        n: NodeState(node(n)).bind(pod(replica=i, spread=True))
        for i, n in enumerate(("pi-1", "pi-2"))
    }
    cordoned = {"pi-3": NodeState(node("pi-3", unschedulable=True))}
    assert f.prefilter(spread, {**full, **cordoned}).spread_min == 0
    assert f.prefilter(spread, full).spread_min == 1
    other_arch = {"x": NodeState(node("x", arch="amd64"))}
    assert f.prefilter(replace(spread, platforms=("linux/arm64",)), {**full, **other_arch}) == (
        f.Cycle(spread_min=1)
    )


@pytest.mark.parametrize("plugin", f.FILTERS, ids=lambda p: p.name)
def test_every_filter_passes_an_unconstrained_pod_on_an_empty_node(plugin: f.Plugin) -> None:
    assert plugin.explain(pod(cpu=100, memory=MI), NodeState(node()), NONE) == ()
    assert plugin.fits(pod(cpu=100, memory=MI), NodeState(node()), NONE)


def test_all_failures_lists_every_plugin_in_order() -> None:
    state = NodeState(node(unschedulable=True, memory=GI))
    found = f.all_failures(pod(memory=2 * GI, platforms=("linux/amd64",)), state, NONE)
    assert [x.predicate for x in found] == ["NodeUnschedulable", "NodeAffinity", "NodeResourcesFit"]
