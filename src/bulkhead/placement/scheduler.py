"""One scheduling loop for every environment that has nodes, and its explanations.

A :class:`Profile` says how an environment filters, scores and binds: the K3s profile is the
kube-scheduler's (:mod:`.filters`, :mod:`.scores`); the Docker profile bin-packs
(:mod:`.docker`). :func:`schedule` takes pods one at a time in queue order (priority, then spec
order, then replica) and binds each to the best node that passes every filter.

One pass is final. The real queue retries a pending pod when the cluster changes, but binding
more pods only takes room, ports and nodes away; the one filter a bind can relax, topology
spread (a higher minimum), rejects a node only where a replica already runs, which the
anti-affinity between replicas rejects for good. So no retry could ever succeed.

Filters that depend only on the pod's workload and the node (cordon, taints, node affinity,
storage class) are evaluated once per workload and node: the rest run per pod.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from bulkhead.placement.filters import Cycle, Plugin, Verdict
from bulkhead.placement.model import (
    Cluster,
    NodeState,
    PodSpec,
    StaticCache,
    schedule_order,
)
from bulkhead.placement.result import EnvKind, NodeFailure, Unplaced


@dataclass(frozen=True)
class Profile:
    """How one kind of environment filters (plugins in order), pre-filters, picks and binds.

    ``sample``: stop filtering once enough feasible nodes are found, as kube-scheduler's
    percentageOfNodesToScore does in clusters of 100 nodes or more.
    """

    kind: EnvKind
    filters: tuple[Plugin, ...]
    prefilter: Callable[[PodSpec, Cluster, StaticCache], Cycle]
    pick: Callable[[PodSpec, Sequence[NodeState]], NodeState]
    bind: Callable[[PodSpec, NodeState], NodeState]
    sample: bool = False

    @cached_property
    def dynamic(self) -> tuple[Verdict, ...]:
        """The verdicts of the plugins that depend on what is already bound."""
        return tuple(p.fits for p in self.filters if not p.static)


@dataclass(frozen=True)
class Outcome:
    """Where every pod went: the final cluster, the bindings in order, what stayed pending."""

    cluster: Cluster
    placed: tuple[tuple[PodSpec, str], ...]
    pending: tuple[PodSpec, ...]


MIN_FEASIBLE_NODES = 100  # kube-scheduler's minFeasibleNodesToFind
MIN_PERCENTAGE = 5  # minFeasibleNodesPercentageToFind


def nodes_to_find(total: int) -> int:
    """kube-scheduler's numFeasibleNodesToFind with the default (adaptive) percentage:
    every node below 100 nodes, then ``50 − nodes/125`` percent, at least 100 nodes."""
    if total < MIN_FEASIBLE_NODES:
        return total
    percentage = max(50 - total // 125, MIN_PERCENTAGE)
    return max(total * percentage // 100, MIN_FEASIBLE_NODES)


def static_memo(pod: PodSpec, profile: Profile, cache: StaticCache) -> dict[str, bool]:
    """The verdicts of the profile's static plugins for pods like ``pod``, by node name."""
    return cache.setdefault((profile.kind, pod.static_key), {})


def _fits(
    profile: Profile, pod: PodSpec, state: NodeState, cycle: Cycle, memo: dict[str, bool]
) -> bool:
    node = state.node
    verdict = memo.get(node.name)
    if verdict is None:
        empty = NodeState(node)
        verdict = memo[node.name] = all(
            p.fits(pod, empty, Cycle()) for p in profile.filters if p.static
        )
    if not verdict:
        return False
    for fits in profile.dynamic:  # noqa: SIM110 - a loop: this is the hottest line of a plan
        if not fits(pod, state, cycle):
            return False
    return True


def find_feasible(
    pod: PodSpec, cluster: Cluster, profile: Profile, cache: StaticCache, start: int = 0
) -> tuple[list[NodeState], int]:
    """The feasible nodes the scheduler finds for ``pod`` scanning from node ``start`` (it
    stops early in large clusters when ``profile.sample``), and how many nodes it examined."""
    view = nodes_for(pod, cluster)
    states = list(view.values())
    cycle = profile.prefilter(pod, view, cache)
    memo = static_memo(pod, profile, cache)
    limit = nodes_to_find(len(states)) if profile.sample else len(states)
    found: list[NodeState] = []
    for examined in range(1, len(states) + 1):
        state = states[(start + examined - 1) % len(states)]
        if _fits(profile, pod, state, cycle, memo):
            found.append(state)
            if len(found) == limit:
                return found, examined
    return found, len(states)


def feasible(
    pod: PodSpec, cluster: Cluster, profile: Profile, cache: StaticCache | None = None
) -> list[NodeState]:
    """Every node ``pod`` passes every filter on, in name order."""
    view = nodes_for(pod, cluster)
    cache = {} if cache is None else cache
    cycle = profile.prefilter(pod, view, cache)
    memo = static_memo(pod, profile, cache)
    return [s for s in view.values() if _fits(profile, pod, s, cycle, memo)]


@dataclass
class _Run:
    profile: Profile
    cluster: dict[str, NodeState]
    placed: list[tuple[PodSpec, str]] = field(default_factory=list)
    cache: StaticCache = field(default_factory=dict)
    next_start: int = 0  # kube-scheduler's nextStartNodeIndex

    def attempt(self, pod: PodSpec) -> bool:
        options, examined = find_feasible(
            pod, self.cluster, self.profile, self.cache, self.next_start
        )
        self.next_start = (self.next_start + examined) % max(len(self.cluster), 1)
        if not options:
            return False
        chosen = self.profile.pick(pod, options)
        self.cluster[chosen.name] = self.profile.bind(pod, chosen)
        self.placed.append((pod, chosen.name))
        return True


def nodes_for(pod: PodSpec, cluster: Cluster) -> Cluster:
    """The part of ``cluster`` the pod may land in (its environments)."""
    if not pod.environments:
        return cluster
    return {n: s for n, s in cluster.items() if s.node.environment in pod.environments}


def schedule(
    pods: Sequence[PodSpec], cluster: Cluster, profile: Profile, cache: StaticCache | None = None
) -> Outcome:
    """Place ``pods`` on ``cluster`` one at a time in queue order.

    ``cache`` memoizes the per-workload filters; share one across runs over the same nodes.
    """
    run = _Run(profile, dict(cluster), cache=cache if cache is not None else {})
    pending = tuple(pod for pod in sorted(pods, key=schedule_order) if not run.attempt(pod))
    return Outcome(run.cluster, tuple(run.placed), pending)


def failures_by_node(
    pod: PodSpec, cluster: Cluster, profile: Profile
) -> dict[str, tuple[NodeFailure, ...]]:
    """Every failing predicate of ``pod`` on every node it may use, in filter order."""
    view = nodes_for(pod, cluster)
    cycle = profile.prefilter(pod, view, {})
    return {
        n: tuple(x for p in profile.filters for x in p.explain(pod, s, cycle))
        for n, s in view.items()
    }


def kubernetes_line(failures: Mapping[str, tuple[NodeFailure, ...]], noun: str = "nodes") -> str:
    """``0/N nodes are available: …`` exactly as the scheduler's FitError prints it.

    Per node only the first failing plugin counts (the framework stops there); its distinct
    reasons are counted, and the ``"<count> <reason>"`` strings are sorted as strings.
    """
    histogram: Counter[str] = Counter()
    for found in failures.values():
        if found:
            first = found[0].predicate
            histogram.update({f.reason for f in found if f.predicate == first})
    line = f"0/{len(failures)} {noun} are available:"
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    return f"{line} {', '.join(parts)}." if parts else line


def explain(
    pod: PodSpec, cluster: Cluster, empty: Cluster, profile: Profile, environment: str
) -> Unplaced:
    """Why ``pod`` found no node in ``cluster``; unresolvable when none fits even ``empty``."""
    failures = failures_by_node(pod, cluster, profile)
    even_empty = failures_by_node(pod, empty, profile)
    return Unplaced(
        workload=pod.workload,
        replica=pod.replica,
        environment=environment,
        kind=profile.kind,
        kubernetes=kubernetes_line(failures),
        failures=tuple(f for name in sorted(failures) for f in failures[name]),
        unresolvable=all(even_empty.values()),
    )
