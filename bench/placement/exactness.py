"""How often does the greedy, Kubernetes-faithful scheduler strand a pod that could fit?

    python -m bench.placement.exactness [--instances 300] [--seed 1]

Random small K3s instances (2-6 nodes, up to 20 pods, demand near capacity, some host ports,
replicated workloads with anti-affinity, node selectors and taints) are planned by
``plan()``; each one where the simulation strands a pod is then decided exactly by a 0-1 MILP
(scipy's HiGHS): is there an assignment of every pod at once? The MILP is independent of
the simulation's search: it gets each pod's allowed nodes from the static filters
(cordon, taints, node affinity, ports held by svclb) and models resources, pod counts, host
ports and replica anti-affinity as linear constraints (topology spread with maxSkew 1 is
implied by the anti-affinity). Reported: the greedy miss rate, how often ``plan`` then states
a verified remedy, that it never claims a placement the MILP refutes, how the bounded exact
search of :mod:`bulkhead.placement.exact` agrees with the MILP, and the time of each, side by
side.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import yaml
from scipy.optimize import Bounds, LinearConstraint, milp

from bulkhead.placement import exact, plan
from bulkhead.placement.filters import Cycle
from bulkhead.placement.k3s import K3S
from bulkhead.placement.layout import layout_of
from bulkhead.placement.model import Cluster, PodSpec
from bulkhead.spec import Homelab, parse_spec

MI = 2**20
T = TypeVar("T")
BANDS = ((0.5, 0.8), (0.8, 1.0))  # memory demand as a share of capacity


def instance(rng: random.Random, band: tuple[float, float]) -> Homelab:
    """One random small homelab whose memory demand is ``band`` of its capacity."""
    count = rng.randint(2, 6)
    nodes = {f"n{i}": _node(rng, i) for i in range(count)}
    capacity = sum(int(n["memory"][:-2]) for n in nodes.values()) * 1024
    workloads: dict[str, Any] = {}
    pods, demand, target = 0, 0, capacity * rng.uniform(*band)
    while pods < 20 and demand < target:
        replicas = min(rng.choice((1, 1, 1, 2, 3)), 20 - pods, count)
        memory = rng.choice((256, 512, 768, 1024, 1536, 2048, 3072))
        workloads[f"w{len(workloads)}"] = _workload(rng, replicas, memory)
        pods, demand = pods + replicas, demand + replicas * memory
    data = {
        "apiVersion": "bulkhead/v1alpha1",
        "kind": "Homelab",
        "metadata": {"name": "bench"},
        "environments": {"cluster": {"type": "k3s", "nodes": nodes}},
        "namespaces": {"apps": {}},
        "workloads": workloads,
    }
    return parse_spec(yaml.safe_dump(data), "bench.yaml")


def _node(rng: random.Random, index: int) -> dict[str, Any]:
    node: dict[str, Any] = {
        "role": "server" if index == 0 else "agent",
        "cpu": rng.choice((2, 4)),
        "memory": rng.choice(("2Gi", "4Gi", "4Gi", "8Gi")),
        "maxPods": rng.choice((8, 110, 110, 110)),
    }
    if index == 1 or rng.random() < 0.3:  # every instance has an ssd node
        node["labels"] = {"disk": "ssd"}
    if index > 1 and rng.random() < 0.15:
        node["taints"] = ["dedicated=db:NoSchedule"]
    return node


def _workload(rng: random.Random, replicas: int, memory: int) -> dict[str, Any]:
    cpu = rng.choice((50, 100, 250, 500))
    workload: dict[str, Any] = {
        "class": "service",
        "namespace": "apps",
        "image": "registry.lab/app:1",
        "replicas": replicas,
        "resources": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
    }
    if rng.random() < 0.15:
        port = rng.choice((8080, 9090))
        workload.update(ports={"http": port}, hostPorts={"http": port})
    placement: dict[str, Any] = {}
    if rng.random() < 0.2:
        placement["nodeSelector"] = {"disk": "ssd"}
    if rng.random() < 0.2:
        placement["tolerations"] = ["dedicated"]
    if placement:
        workload["placement"] = placement
    return workload


def milp_max_placed(pods: tuple[PodSpec, ...], start: Cluster) -> int:
    """The most pods any assignment places at once: a 0-1 program solved exactly by HiGHS."""
    pairs = [(p, n) for p in range(len(pods)) for n in start if _allowed(pods[p], start, n)]
    if not pairs:
        return 0
    rows: list[tuple[list[float], float, float]] = []
    for p in range(len(pods)):
        rows.append(([1.0 if q == p else 0.0 for q, _ in pairs], 0, 1))
    for name, state in start.items():
        rows.extend(_node_rows(pods, pairs, name, state))
    matrix = np.array([r[0] for r in rows])
    constraint = LinearConstraint(matrix, [r[1] for r in rows], [r[2] for r in rows])
    result = milp(
        -np.ones(len(pairs)),
        constraints=constraint,
        integrality=np.ones(len(pairs)),
        bounds=Bounds(0, 1),
    )
    assert result.status == 0, result.message
    return round(float(-result.fun))


def _allowed(pod: PodSpec, start: Cluster, name: str) -> bool:
    """Static filters plus the ports held from the start (svclb)."""
    state = start[name]
    static = [p for p in K3S.filters if p.static or p.name == "NodePorts"]
    return all(not p.explain(pod, state, Cycle()) for p in static)


def _node_rows(
    pods: tuple[PodSpec, ...], pairs: list[tuple[int, str]], name: str, state: Any
) -> list[tuple[list[float], float, float]]:
    node = state.node

    def row(weight: Any) -> list[float]:
        return [float(weight(pods[p])) if n == name else 0.0 for p, n in pairs]

    rows = [
        (row(lambda p: p.cpu), -np.inf, node.cpu - state.cpu),
        (row(lambda p: p.memory / MI), -np.inf, (node.memory - state.memory) / MI),
        (row(lambda p: 1), -np.inf, node.max_pods - len(state.pods)),
    ]
    for port in {port for p in pods for port in p.host_ports}:
        rows.append((row(lambda p, port=port: port in p.host_ports), -np.inf, 1))
    for workload in {p.workload for p in pods if p.spread}:
        rows.append((row(lambda p, w=workload: p.workload == w), -np.inf, 1))
    return rows


@dataclass
class Tally:
    """What the run found."""

    instances: int = 0
    pods: int = 0
    feasible: int = 0  # instances where every pod fits at once (MILP)
    greedy_missed: int = 0  # … and the greedy scheduler stranded a pod anyway
    stranded: int = 0  # pods the greedy scheduler left out
    placeable: int = 0  # … of which a better assignment would have placed (MILP maximum)
    remedied: Counter[str] = field(default_factory=Counter)  # greedy-missed instances
    remedies: Counter[str] = field(default_factory=Counter)
    verified: Counter[str] = field(default_factory=Counter)
    proofs: int = 0
    search: Counter[str] = field(default_factory=Counter)
    times: dict[str, list[float]] = field(
        default_factory=lambda: {"plan (greedy + remedies)": [], "MILP": [], "exact search": []}
    )


def _timed(tally: Tally, what: str, action: Callable[[], T]) -> T:
    began = time.perf_counter()
    value = action()
    tally.times[what].append(time.perf_counter() - began)
    return value


def _kind(suggestion: str | None) -> str:
    if not suggestion:
        return "none"
    if suggestion.startswith("no placement"):
        return "proof"
    if suggestion.startswith("a placement of every pod"):
        return "exact search"
    return "priority" if "priority" in suggestion else "one move"


def run(instances: int, seed: int, band: tuple[float, float]) -> Tally:
    """Plan, decide exactly and compare ``instances`` random instances."""
    rng = random.Random(seed)
    tally = Tally()
    for _ in range(instances):
        _one(tally, instance(rng, band))
    return tally


def _one(tally: Tally, spec: Homelab) -> None:
    result = _timed(tally, "plan (greedy + remedies)", lambda: plan(spec))
    layout = layout_of(spec)
    pods, start = layout.cluster_pods["cluster"], layout.clusters["cluster"]
    best = _timed(tally, "MILP", lambda: milp_max_placed(pods, start))
    found = _timed(tally, "exact search", lambda: exact.search(pods, start, K3S))
    everything = best == len(pods)
    tally.instances += 1
    tally.pods += len(pods)
    tally.feasible += everything
    tally.greedy_missed += everything and not result.ok
    tally.stranded += len(result.unplaced)
    tally.placeable += best - len(result.assignments)
    tally.search[_agreement(found, everything)] += 1
    for item in result.unplaced:
        kind = _kind(item.suggestion)
        tally.remedies[kind] += 1
        if kind == "priority":
            tally.verified[_verify_priority(spec, result, item.workload, item.suggestion)] += 1
    tally.proofs += any(_kind(u.suggestion) == "proof" for u in result.unplaced)
    if everything and not result.ok:
        kinds = [_kind(u.suggestion) for u in result.unplaced]
        covered = sum(k not in ("none", "proof") for k in kinds)
        tally.remedied["all" if covered == len(kinds) else "some" if covered else "none"] += 1


def _agreement(found: object, everything: bool) -> str:
    if found is exact.UNKNOWN:
        return "out of budget"
    return "agrees" if isinstance(found, dict) == everything else "DISAGREES"


def _verify_priority(spec: Homelab, before: Any, workload: str, suggestion: str | None) -> str:
    """Apply a priority remedy to the spec itself and plan again through the public API."""
    assert suggestion is not None
    top = int(suggestion.split(" priority ")[1].split()[0])
    workloads = dict(spec.workloads)
    workloads[workload] = workloads[workload].model_copy(update={"priority": top})
    after = plan(spec.model_copy(update={"workloads": workloads}))
    placed = {(a.workload, a.replica) for a in after.assignments}
    kept = {(a.workload, a.replica) for a in before.assignments} <= placed
    return "holds" if kept and any(w == workload for w, _ in placed) else "FAILS"


def report(tally: Tally, seed: int, band: tuple[float, float]) -> str:
    """The findings as text."""
    missed = tally.greedy_missed / max(tally.feasible, 1)
    share = tally.placeable / max(tally.stranded, 1)
    lines = [
        f"== memory demand {band[0]:.0%}-{band[1]:.0%} of capacity: {tally.instances} instances "
        f"(seed {seed}; 2-6 nodes, ≤ 20 pods, {tally.pods} pods)",
        f"instances where every pod fits at once (MILP): {tally.feasible}",
        f"  … where the greedy scheduler still strands a pod: {tally.greedy_missed} "
        f"(greedy miss rate {missed:.1%})",
        f"pods the greedy scheduler strands: {tally.stranded}; a better assignment places "
        f"{tally.placeable} of them ({share:.1%})",
        f"  … with a verified remedy for every stranded pod: {dict(tally.remedied)}",
        f"remedies stated per stranded pod: {dict(tally.remedies)}",
        f"priority remedies applied to the spec and planned again: {dict(tally.verified)}",
        f"instances proved to have no placement of every pod: {tally.proofs} of "
        f"{tally.instances - tally.feasible}",
        f"bounded exact search vs MILP (can every pod fit?): {dict(tally.search)}",
        "time per instance, median (same run):",
    ]
    base = statistics.median(tally.times["plan (greedy + remedies)"])
    for what, samples in tally.times.items():
        median = statistics.median(samples)
        lines.append(f"  {what:<26} {median * 1000:8.2f} ms  ({median / base:5.2f}× plan)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for band in BANDS:
        print(report(run(args.instances, args.seed, band), args.seed, band))


if __name__ == "__main__":
    main()
