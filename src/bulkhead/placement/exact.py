"""Exact feasibility: is there *any* node for every pod, in the scheduler's own order?

A depth-first search over the pods of one environment in queue order; at each pod it tries
every node that passes every filter at that moment (the greedy choice first), so a complete
assignment it finds is one the real scheduler accepts when each pod is pinned to its node.
Nodes that are indistinguishable (same resources, labels, taints and load, and not named by any
selector) are tried once. The search is bounded; it answers an assignment,
:data:`INFEASIBLE` (proved: none exists), or :data:`UNKNOWN` (too large, or out of budget).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from bulkhead.placement.model import (
    Cluster,
    NodeState,
    PodSpec,
    StaticCache,
    schedule_order,
    with_state,
)
from bulkhead.placement.scheduler import Profile, feasible

MAX_PODS = 40
MAX_NODES = 12
MAX_STEPS = 20_000
HOSTNAME = "kubernetes.io/hostname"


class Verdict(Enum):
    """A search that found no assignment: proved impossible, or gave up."""

    infeasible = "infeasible"
    unknown = "unknown"


INFEASIBLE = Verdict.infeasible
UNKNOWN = Verdict.unknown


class _OutOfSteps(Exception):
    pass


@dataclass
class _Search:
    profile: Profile
    named: frozenset[str]
    budget: int
    found: dict[str, str] = field(default_factory=dict)
    cache: StaticCache = field(default_factory=dict)

    def run(self, pods: Sequence[PodSpec], cluster: Cluster) -> bool:
        if not pods:
            return True
        self.budget -= 1
        if self.budget < 0:
            raise _OutOfSteps
        pod, rest = pods[0], pods[1:]
        for state in self._options(pod, cluster):
            self.found[pod.key] = state.name
            bound = with_state(cluster, self.profile.bind(pod, state))
            if _room_left(rest, bound) and self.run(rest, bound):
                return True
        self.found.pop(pod.key, None)
        return False

    def _options(self, pod: PodSpec, cluster: Cluster) -> list[NodeState]:
        options = feasible(pod, cluster, self.profile, self.cache)
        if not options:
            return []
        first = self.profile.pick(pod, options)
        seen = {self._signature(first)}
        distinct = [first]
        for state in options:
            signature = self._signature(state)
            if signature not in seen:
                seen.add(signature)
                distinct.append(state)
        return distinct

    def _signature(self, state: NodeState) -> tuple[object, ...]:
        node = state.node
        if node.name in self.named:
            return (node.name,)
        labels = tuple(sorted((k, v) for k, v in node.labels.items() if k != HOSTNAME))
        shape = (node.environment, node.role, node.arch, node.cpu, node.memory, node.max_pods)
        extra = (node.taints, node.unschedulable, node.storage, node.gpus, labels)
        load = (state.cpu, state.memory, state.gpus, state.storage, tuple(sorted(state.ports)))
        counts = (len(state.pods), tuple(sorted(state.replicas.items())), state.vram)
        return (shape, extra, load, counts)


def _room_left(pods: Sequence[PodSpec], cluster: Cluster) -> bool:
    """A cheap bound: the pods still to place fit the total free cpu and memory."""
    free_cpu = sum(s.node.cpu - s.cpu for s in cluster.values())
    free_memory = sum(s.node.memory - s.memory for s in cluster.values())
    return sum(p.cpu for p in pods) <= free_cpu and sum(p.memory for p in pods) <= free_memory


def search(
    pods: Sequence[PodSpec], start: Cluster, profile: Profile, budget: int = MAX_STEPS
) -> dict[str, str] | Verdict:
    """An assignment pod key → node for every pod, or why there is none."""
    if len(pods) > MAX_PODS or len(start) > MAX_NODES:
        return UNKNOWN
    named = frozenset(v for p in pods for k, v in p.node_selector if k == HOSTNAME)
    state = _Search(profile, named, budget)
    try:
        ok = state.run(sorted(pods, key=schedule_order), start)
    except _OutOfSteps:
        return UNKNOWN
    return dict(state.found) if ok else INFEASIBLE
