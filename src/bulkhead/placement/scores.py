"""The kube-scheduler's score plugins and how the winner is picked.

Total = 3·TaintToleration + 2·NodeAffinity + 2·PodTopologySpread + 2·InterPodAffinity
+ 1·NodeResourcesFit (LeastAllocated) + 1·NodeResourcesBalancedAllocation, each 0–100 after
the plugin's own normalisation over the feasible nodes, with the plugin's integer arithmetic.

- TaintToleration counts intolerable PreferNoSchedule taints; fewer is better (reverse).
- NodeAffinity sums the matched ``prefer`` entries (each one preferred term; render gives
  them equal weights, so the normalised score is the same).
- PodTopologySpread scores only soft constraints. A pod with ``replicas > 1`` has hard ones
  only, so the plugin skips it; a single replica gets the system default (hostname,
  maxSkew 3, ScheduleAnyway), which counts its own workload's pods per node.
- InterPodAffinity scores preferred pod (anti-)affinity; bulkhead renders none, so it is 0 on
  every node and is left out.
- LeastAllocated uses the scoring view of requests (a missing request counts as 100m / 200Mi);
  BalancedAllocation uses the real requests.
- ImageLocality (weight 1) is left out: which images a node has cached is not in the spec.

Ties break on the node name (the real scheduler picks at random among the best).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from bulkhead.placement.model import NodeState, PodSpec

MAX_SCORE = 100
WEIGHTS = {"TaintToleration": 3, "NodeAffinity": 2, "PodTopologySpread": 2}
_DEFAULT_SKEW = 3


def intolerable_prefer_taints(pod: PodSpec, state: NodeState) -> int:
    """TaintToleration's raw score: PreferNoSchedule taints no toleration covers."""
    tolerations = [t for t in pod.tolerations if t.effect in ("", "PreferNoSchedule")]
    soft = (t for t in state.node.taints if t.effect == "PreferNoSchedule")
    return sum(1 for t in soft if not any(tol.tolerates(t) for tol in tolerations))


def preferred_matches(pod: PodSpec, state: NodeState) -> int:
    """NodeAffinity's raw score: how many ``prefer`` labels the node carries."""
    return sum(1 for key, value in pod.prefer if state.node.labels.get(key) == value)


def normalize(raw: Mapping[str, int], reverse: bool = False) -> dict[str, int]:
    """The scheduler's DefaultNormalizeScore: scale to 0–100 by the maximum, integer math."""
    top = max(raw.values(), default=0)
    if top == 0:
        return dict.fromkeys(raw, MAX_SCORE if reverse else 0)
    scaled = {name: MAX_SCORE * value // top for name, value in raw.items()}
    return {n: MAX_SCORE - v for n, v in scaled.items()} if reverse else scaled


def spread_raw(count: int, nodes: int, max_skew: int = _DEFAULT_SKEW) -> int:
    """PodTopologySpread's raw score on one node: ``count·log(nodes+2) + maxSkew-1``, rounded
    half away from zero as Go's ``math.Round``."""
    return math.floor(count * math.log(nodes + 2) + (max_skew - 1) + 0.5)


def spread_normalize(raw: Mapping[str, int]) -> dict[str, int]:
    """PodTopologySpread's NormalizeScore: fewer matching pods is better."""
    if not raw:
        return {}
    low, high = min(raw.values()), max(raw.values())
    if high == 0:
        return dict.fromkeys(raw, MAX_SCORE)
    return {name: MAX_SCORE * (high + low - value) // high for name, value in raw.items()}


def least_allocated(pod: PodSpec, state: NodeState) -> int:
    """NodeResourcesFit's LeastAllocated score over cpu and memory, weights 1 and 1."""
    node = state.node
    cpu = _least(state.cpu_nonzero + pod.cpu_nonzero, node.cpu)
    memory = _least(state.memory_nonzero + pod.memory_nonzero, node.memory)
    return (cpu + memory) // 2


def _least(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_SCORE // capacity


def balanced_allocation(pod: PodSpec, state: NodeState) -> int:
    """NodeResourcesBalancedAllocation: 100·(1 − |cpu fraction − memory fraction| / 2), each
    fraction capped at 1; a resource the node has none of is left out (then it scores 100)."""
    node = state.node
    if not node.cpu or not node.memory:
        return MAX_SCORE
    cpu = min((state.cpu + pod.cpu) / node.cpu, 1.0)
    memory = min((state.memory + pod.memory) / node.memory, 1.0)
    return int((1 - abs(cpu - memory) / 2) * MAX_SCORE)


def totals(pod: PodSpec, feasible: Sequence[NodeState]) -> dict[str, int]:
    """The weighted total score of every feasible node."""
    taint = _taint_scores(pod, feasible)
    affinity = (
        normalize({s.name: preferred_matches(pod, s) for s in feasible}) if pod.prefer else {}
    )
    spread = _spread_scores(pod, feasible)
    return {
        s.name: WEIGHTS["TaintToleration"] * taint.get(s.name, MAX_SCORE)
        + WEIGHTS["NodeAffinity"] * affinity.get(s.name, 0)
        + WEIGHTS["PodTopologySpread"] * spread.get(s.name, 0)
        + least_allocated(pod, s)
        + balanced_allocation(pod, s)
        for s in feasible
    }


def _taint_scores(pod: PodSpec, feasible: Sequence[NodeState]) -> dict[str, int]:
    """Normalized TaintToleration scores; nodes without soft taints score 100 (left out)."""
    if not any(s.node.taints for s in feasible):
        return {}
    return normalize({s.name: intolerable_prefer_taints(pod, s) for s in feasible}, reverse=True)


def _spread_scores(pod: PodSpec, feasible: Sequence[NodeState]) -> dict[str, int]:
    if pod.spread or pod.system:
        return {}
    nodes = len(feasible)
    return spread_normalize(
        {s.name: spread_raw(s.replicas.get(pod.workload, 0), nodes) for s in feasible}
    )


def best(pod: PodSpec, feasible: Sequence[NodeState]) -> NodeState:
    """The highest-scoring feasible node; ties go to the first name."""
    scores = totals(pod, feasible)
    return min(feasible, key=lambda s: (-scores[s.name], s.name))
