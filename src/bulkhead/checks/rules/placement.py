"""PLC: placement. Every replica has a home, the cluster survives losing a node, and the k3s
server keeps the headroom its own processes need (the scheduler cannot see them)."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import NodeUsage, PlacementResult, Unplaced
from bulkhead.spec.models import Homelab, Severity
from bulkhead.spec.quantity import human_memory


def unplaced(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """One hit per workload with unplaced replicas, carrying the placement's explanation."""
    by_workload: dict[str, list[Unplaced]] = {}
    for item in placement.unplaced:
        by_workload.setdefault(item.workload, []).append(item)
    for name, items in by_workload.items():
        total = len(placement.of(name)) + len(items)
        first = items[0]
        head = f"{len(items)} of {total} replica(s) of {name} cannot be placed: {first.kubernetes}"
        if first.unresolvable:
            head += " (unresolvable: no node could hold it even when empty)"
        details = "".join(f"\n  - {r}" for r in first.reasons if r not in first.kubernetes)
        yield Hit(facts.at(spec, name), head + details, name, first.suggestion)


def single_node_loss(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """For each cluster node, the workloads that could not be placed again if it died."""
    for node_name, lost in sorted(placement.resilience.items()):
        found = facts.node(spec, node_name)
        if found is None or facts.env_type(spec, found[0]) != "k3s":
            continue
        why = placement.resilience_reasons.get(node_name, {})
        for name in dict.fromkeys(w.split("/")[0] for w in lost):
            if name in spec.workloads:
                message = f"if node {node_name} fails, {name} cannot be placed on the others"
                reason = why.get(name)
                yield Hit(facts.at(spec, name), message + (f": {reason}" if reason else ""), name)


def server_headroom(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Requests on a k3s server node plus the declared server overhead must fit the node."""
    for usage in placement.nodes:
        found = facts.node(spec, usage.name)
        if usage.role != "server" or found is None or facts.env_type(spec, found[0]) != "k3s":
            continue
        short = _short_of(usage)
        if short:
            where = facts.where(spec, *facts.node_path(spec, usage.name))
            yield Hit(where, f"server {usage.name}: " + "; ".join(short))


def _short_of(usage: NodeUsage) -> list[str]:
    """What does not fit once the k3s server's own overhead is added to the pods' requests."""
    short = []
    if usage.cpu_headroom < 0:
        cpu = (usage.cpu.requested, usage.overhead_cpu, usage.cpu.allocatable)
        short.append(
            "CPU: pods request {} + k3s overhead {} > {} allocatable".format(
                *(f"{c}m" for c in cpu)
            )
        )
    if usage.memory_headroom < 0:
        memory = (usage.memory.requested, usage.overhead_memory, usage.memory.allocatable)
        short.append(
            "memory: pods request {} + k3s overhead {} > {} allocatable".format(
                *(human_memory(m) for m in memory)
            )
        )
    return short


RULES = (
    Rule(
        id="BH-PLC-001",
        title="Every replica is placed",
        severity=Severity.error,
        summary=(
            "Reports every workload with a replica that placement could not put on any node, "
            "with the Kubernetes-style line and every failing predicate on every node."
        ),
        rationale=(
            "An unplaced replica is a Pending pod or a container that never starts: the service "
            "runs short or not at all, and Kubernetes only says so once you have deployed."
        ),
        example=(
            "workloads:\n"
            "  big:\n"
            "    class: service\n"
            "    resources: {cpu: 250m, memory: 64Gi}   # no Pi has 64Gi"
        ),
        fix=(
            "Lower the requests, add capacity, or relax the constraints named in the "
            "explanation (selector, tolerations, platforms, storage tier)."
        ),
        check=unplaced,
    ),
    Rule(
        id="BH-PLC-002",
        title="The cluster survives the loss of any one node",
        severity=Severity.warning,
        summary=(
            "Removes each cluster node in turn, places everything again, and reports the "
            "workloads that would then have nowhere to run."
        ),
        rationale=(
            "Raspberry Pis and their SD cards die. When a workload fits only on one node, that "
            "node's failure takes the workload down until the hardware is replaced."
        ),
        example=(
            "workloads:\n"
            "  postgres:\n"
            "    class: database      # needs the fast tier, and only pi-4 has it"
        ),
        fix=(
            "Give a second node the capacity or labels the workload needs, or lower its "
            "requests; or waive it with the reason you accept the risk (and a tested restore)."
        ),
        check=single_node_loss,
    ),
    Rule(
        id="BH-PLC-003",
        title="k3s server nodes keep headroom for the server itself",
        severity=Severity.error,
        summary=(
            "Adds the declared serverOverhead to the requests placed on each k3s server node "
            "and reports a node where the sum exceeds its CPU or memory."
        ),
        rationale=(
            "K3s reserves nothing for itself (allocatable = capacity) and the apiserver, kine "
            "and containerd are invisible to the scheduler. Packing a server full of pods "
            "starves the control plane: the whole cluster stalls, not only that node."
        ),
        example=(
            "environments:\n"
            "  cluster:\n"
            "    serverOverhead: {cpu: 500m, memory: 800Mi}\n"
            "    nodes:\n"
            "      pi-1: {role: server, cpu: 4, memory: 8Gi}   # pods request 7.5Gi here"
        ),
        fix=(
            "Taint the server as k3s documents for dedicated servers (taints: "
            "[CriticalAddonsOnly=true:NoExecute]) so only add-ons land there, move workloads to "
            "agents, or lower requests."
        ),
        check=server_headroom,
    ),
)
