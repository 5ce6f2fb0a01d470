"""Properties of plan() on generated specs, checked from the outside wherever possible.

- no node is ever over-committed (requests, pods, storage, VRAM per GPU);
- every placed pod passed every filter on its node when it was bound (replayed);
- every reason given for an unplaced pod is true of that node in the final state, checked
  against the spec and the reported usage, not against the filter code;
- the same spec always gives byte-identical JSON.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from bulkhead.placement import EnvKind, NodeFailure, NodeUsage, PlacementResult, plan, to_json
from bulkhead.placement.layout import layout_of
from bulkhead.placement.model import with_state
from bulkhead.placement.scheduler import nodes_for
from bulkhead.placement.simulate import place
from bulkhead.spec import Homelab
from bulkhead.spec.models import DockerEnvironment, K3sEnvironment, K3sNode, Workload
from bulkhead.spec.taints import Taint
from tests.placement.strategies import homelab_data, to_spec

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(homelab_data())
def test_no_node_is_ever_over_committed(data: dict[str, Any]) -> None:
    spec, _ = to_spec(data)
    for node in plan(spec).nodes:
        for capacity in (
            node.cpu,
            node.memory,
            node.pods,
            node.storage,
            node.gpu_memory,
            *node.gpus,
        ):
            assert 0 <= capacity.requested <= capacity.allocatable, node


@SETTINGS
@given(homelab_data())
def test_every_placed_pod_passed_every_filter_when_bound(data: dict[str, Any]) -> None:
    spec, _ = to_spec(data)
    layout = layout_of(spec)
    placed = place(layout)
    for profile, env, outcome in placed.outcomes():
        cluster = dict(layout.clusters[env] if env else layout.machines)
        for pod, node in outcome.placed:
            cycle = profile.prefilter(pod, nodes_for(pod, cluster), {})
            for plugin in profile.filters:
                assert plugin.explain(pod, cluster[node], cycle) == (), plugin.name
            cluster = with_state(cluster, profile.bind(pod, cluster[node]))
    _check_assignments_from_outside(spec, plan(spec))


@SETTINGS
@given(homelab_data())
def test_quick_verdicts_agree_with_explanations(data: dict[str, Any]) -> None:
    """Scheduling uses each plugin's quick verdict, explanations its messages: they agree,
    and a pod left pending has at least one failure on every node it may use."""
    spec, _ = to_spec(data)
    layout = layout_of(spec)
    for profile, _, outcome in place(layout).outcomes():
        for pod in outcome.pending:
            view = nodes_for(pod, outcome.cluster)
            cycle = profile.prefilter(pod, view, {})
            for state in view.values():
                verdicts = [p.fits(pod, state, cycle) for p in profile.filters]
                explained = [not p.explain(pod, state, cycle) for p in profile.filters]
                assert verdicts == explained
                assert not all(verdicts)


def _check_assignments_from_outside(spec: Homelab, result: PlacementResult) -> None:
    arch = {n.name: n.arch for n in result.nodes}
    for a in result.assignments:
        workload = spec.workloads[a.workload]
        if a.kind is not EnvKind.gitea and workload.platforms:
            assert f"linux/{arch[a.node]}" in workload.platforms
        if a.kind is EnvKind.k3s and workload.replicas > 1:
            assert sum(1 for b in result.of(a.workload) if b.node == a.node) == 1


@SETTINGS
@given(homelab_data())
def test_every_stated_reason_is_true_of_that_node(data: dict[str, Any]) -> None:
    spec, _ = to_spec(data)
    result = plan(spec)
    usage = {n.name: n for n in result.nodes}
    for item in result.unplaced:
        workload = spec.workloads[item.workload]
        for failure in item.failures:
            if failure.predicate == "RunnerLabels":
                _check_runner(spec, result, workload, failure)
            else:
                _check_node(spec, usage[failure.node], workload, item.workload, failure)


def _node_spec(spec: Homelab, name: str) -> Any:
    for env in spec.environments.values():
        if isinstance(env, K3sEnvironment | DockerEnvironment) and name in env.nodes:
            return env.nodes[name]
    raise AssertionError(name)


def _reserved(workload: Workload, node: NodeUsage) -> tuple[int, int]:
    cpu = workload.resources.cpu.millis if workload.resources.cpu else 0
    memory = workload.resources.memory.units if workload.resources.memory else 0
    if node.kind is EnvKind.docker:
        cpu = workload.limits.cpu.millis if workload.limits.cpu else cpu
        memory = workload.limits.memory.units if workload.limits.memory else memory
    return cpu, memory


def _check_node(
    spec: Homelab, node: NodeUsage, workload: Workload, name: str, failure: NodeFailure
) -> None:
    declared = _node_spec(spec, node.name)
    cpu, memory = _reserved(workload, node)
    reason = failure.reason
    checks = {
        "Insufficient cpu": lambda: cpu > node.cpu.free,
        "Insufficient memory": lambda: memory > node.memory.free,
        "Too many pods": lambda: node.pods.requested + 1 > node.pods.allocatable,
        "Insufficient nvidia.com/gpu": lambda: workload.resources.gpu > len(node.gpus),
        "Insufficient GPU memory": lambda: _short_of_vram(workload, node),
        "node(s) were unschedulable": lambda: (
            isinstance(declared, K3sNode) and declared.unschedulable
        ),
        "node(s) didn't match Pod's node affinity/selector": lambda: _affinity_fails(
            workload, node, declared
        ),
        "node(s) didn't have free ports for the requested pod ports": lambda: _port_taken(
            spec, workload, node
        ),
        "node(s) didn't find available persistent volumes to bind": lambda: (
            declared.storage is None
            or any(
                v.storage_class not in (None, declared.storage.class_)
                for v in workload.volumes.values()
            )
        ),
        "node(s) did not have enough free storage": lambda: (
            sum(v.size.units for v in workload.volumes.values()) > node.storage.free
        ),
        "node(s) didn't match pod topology spread constraints": lambda: _runs_here(name, node),
        "node(s) didn't match pod anti-affinity rules": lambda: _runs_here(name, node),
    }
    if reason.startswith("node(s) had untolerated taint"):
        assert _untolerated(workload, declared, reason), failure
    else:
        assert checks[reason](), failure


def _short_of_vram(workload: Workload, node: NodeUsage) -> bool:
    asked = workload.resources.gpu_memory.units if workload.resources.gpu_memory else 0
    return sum(1 for g in node.gpus if g.free >= asked) < workload.resources.gpu


def _affinity_fails(workload: Workload, node: NodeUsage, declared: Any) -> bool:
    labels = getattr(declared, "labels", {})
    selector = any(labels.get(k) != v for k, v in workload.placement.node_selector.items())
    arch = bool(workload.platforms) and f"linux/{node.arch}" not in (workload.platforms or [])
    tier = workload.class_.value == "database" and (
        declared.storage is None or declared.storage.tier.value != "fast"
    )
    return selector or arch or tier


def _port_taken(spec: Homelab, workload: Workload, node: NodeUsage) -> bool:
    wanted = set(workload.host_ports.values())
    held = {80, 443} if "svclb-traefik" in node.system else set()
    for key in node.workloads:
        held |= set(spec.workloads[key.rsplit("/", 1)[0]].host_ports.values())
    return bool(wanted & held)


def _runs_here(name: str, node: NodeUsage) -> bool:
    return any(key.rsplit("/", 1)[0] == name for key in node.workloads)


def _untolerated(workload: Workload, declared: Any, reason: str) -> bool:
    key_value = reason.split("{", 1)[1].rstrip("}")
    key, value = key_value.split(": ", 1)
    taints = [t for t in declared.taints if (t.key, t.value) == (key, value)]
    hard = [t for t in taints if isinstance(t, Taint) and t.effect != "PreferNoSchedule"]
    return any(not any(tol.tolerates(t) for tol in workload.placement.tolerations) for t in hard)


def _check_runner(
    spec: Homelab, result: PlacementResult, workload: Workload, failure: NodeFailure
) -> None:
    runner = next(r for r in result.runners if r.name == failure.node)
    assert workload.ci is not None
    assert not set(workload.ci.runs_on) <= set(runner.labels), failure


@SETTINGS
@given(homelab_data())
def test_the_same_spec_gives_byte_identical_json(data: dict[str, Any]) -> None:
    spec, text = to_spec(data)
    again, _ = to_spec(data)
    first = to_json(plan(spec))
    assert first == to_json(plan(spec)) == to_json(plan(again))
    assert text  # the spec went through the real YAML loader
