"""When the greedy scheduler leaves a pod out that *could* fit: find how, and prove it.

Kubernetes places one pod at a time and never moves one it has placed, so it can strand a pod
although an assignment of every pod exists (fragmentation). That is its real behaviour and the
simulation keeps it; ``plan`` then says how to reach the assignment, trying in turn:

1. a priority: the stranded workload scheduled first;
2. one move: the stranded pod on node N once one pod of N moves to another node M;
3. an exact search over every pod of the environment (small environments only, see
   :mod:`.exact`), which can also prove that no assignment exists at all.

A remedy is reported only after the full simulation, re-run with it, places the stranded pod
and everything it placed before. Those re-runs draw on one :class:`Budget` per plan.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from bulkhead.placement import exact
from bulkhead.placement.model import Cluster, NodeState, PodSpec, StaticCache, with_state
from bulkhead.placement.scheduler import Outcome, Profile, feasible, schedule

MAX_MOVES = 2_000  # evaluations of (pod, node) pairs spent on one-move repairs per pod
BUDGET = 15_000  # pods the verifications of one plan may re-schedule, in all


@dataclass
class Budget:
    """What the remedies of one plan may still spend: each verification re-runs a whole
    environment, so a plan of thousands of pods verifies only a few."""

    pods: int = BUDGET

    def spend(self, count: int) -> bool:
        """Take ``count`` pods from the budget, if it has them."""
        if count > self.pods:
            return False
        self.pods -= count
        return True


@dataclass(frozen=True)
class Case:
    """One stranded pod and what a remedy may re-run: the environment's pods and start."""

    pods: Sequence[PodSpec]
    start: Cluster
    outcome: Outcome
    pod: PodSpec
    profile: Profile
    budget: Budget
    cache: StaticCache

    def rerun(self, pods: Sequence[PodSpec]) -> Outcome | None:
        """The environment scheduled again with ``pods``, or None when the budget is spent."""
        if not self.budget.spend(len(pods)):
            return None
        return schedule(pods, self.start, self.profile, self.cache)

    def improved(self, after: Outcome | None) -> bool:
        """Whether ``after`` places the stranded pod and everything placed before."""
        if after is None:
            return False
        still = {p.key for p in after.pending}
        before = {p.key for p in self.outcome.pending}
        return self.pod.key not in still and still <= before


def suggest(case: Case) -> str | None:
    """A verified remedy for the stranded pod, or the proof that none exists."""
    for remedy in (_by_priority, _by_one_move, _by_search):
        found = remedy(case)
        if found is not None:
            return found
    return None


def _node_of(outcome: Outcome, pod: PodSpec) -> str:
    return next(node for placed, node in outcome.placed if placed.key == pod.key)


def _by_priority(case: Case) -> str | None:
    pod = case.pod
    top = max(p.priority for p in case.pods) + 1
    raised = [replace(p, priority=top) if p.workload == pod.workload else p for p in case.pods]
    after = case.rerun(raised)
    if after is None or not case.improved(after):
        return None
    return (
        f"{pod.key} fits: give {pod.workload} priority {top} so it is scheduled first; it then "
        f"lands on {_node_of(after, pod)} and everything placed now still fits"
    )


def _by_one_move(case: Case) -> str | None:
    pod = case.pod
    for target, moved, dest in _moves(case.outcome.cluster, pod, case.profile):
        pins = {pod.key: target, moved.key: dest}
        if case.improved(case.rerun([_pin(p, pins) for p in case.pods])):
            return (
                f"{pod.key} fits: run it on {target} and move {moved.key} to {dest} (pin both "
                "with a kubernetes.io/hostname nodeSelector); the scheduler places one pod at "
                "a time and does not find this itself"
            )
    return None


def _pin(pod: PodSpec, pins: Mapping[str, str]) -> PodSpec:
    return pod.pinned_to(pins[pod.key]) if pod.key in pins else pod


def _moves(cluster: Cluster, pod: PodSpec, profile: Profile) -> Iterator[tuple[str, PodSpec, str]]:
    """(node for ``pod``, pod to move off it, its new node), cheapest checks first."""
    budget = MAX_MOVES
    for state in cluster.values():
        for victim in (p for p in state.user_pods if not p.daemon):
            budget -= len(cluster)
            if budget < 0:
                return
            dest = _swap(cluster, state, victim, pod, profile)
            if dest is not None:
                yield state.name, victim, dest


def _swap(
    cluster: Cluster, state: NodeState, victim: PodSpec, pod: PodSpec, profile: Profile
) -> str | None:
    freed = with_state(cluster, state.unbind(victim))
    if state.name not in {s.name for s in feasible(pod, freed, profile)}:
        return None
    taken = with_state(freed, profile.bind(pod, freed[state.name]))
    homes = [s for s in feasible(victim, taken, profile) if s.name != state.name]
    return profile.pick(victim, homes).name if homes else None


def _by_search(case: Case) -> str | None:
    found = exact.search(case.pods, case.start, case.profile)
    if found is exact.INFEASIBLE:
        return (
            "no placement of every pod exists (exact search): however they are arranged, these "
            "nodes cannot hold them all at once; add capacity or lower requests"
        )
    if not isinstance(found, dict) or not case.improved(
        case.rerun([_pin(p, found) for p in case.pods])
    ):
        return None
    return f"a placement of every pod exists (exact search): {_differences(case.outcome, found)}"


def _differences(outcome: Outcome, found: Mapping[str, str]) -> str:
    now = {p.key: node for p, node in outcome.placed}
    moved = [f"{key} → {node}" for key, node in found.items() if now.get(key) != node]
    shown = ", ".join(moved[:6]) + (f" and {len(moved) - 6} more" if len(moved) > 6 else "")
    return f"pin {shown} (kubernetes.io/hostname nodeSelector)"
