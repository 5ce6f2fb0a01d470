"""Each score plugin with hand-computed numbers, its normalisation, and the weighted winner."""

from __future__ import annotations

from dataclasses import replace

from bulkhead.placement import scores as s
from bulkhead.placement.model import NodeState
from bulkhead.spec.taints import Taint, Toleration
from tests.placement.test_filters import GI, MI, node, pod


def test_least_allocated_uses_the_scoring_view_of_requests() -> None:
    state = NodeState(node()).bind(pod("a", cpu_nonzero=1000, memory_nonzero=2 * GI))
    asked = pod(cpu_nonzero=1000, memory_nonzero=2 * GI)
    # cpu (4000-2000)·100/4000 = 50, memory (8-4)·100/8 = 50 → (50+50)/2
    assert s.least_allocated(asked, state) == 50
    lopsided = pod(cpu_nonzero=3000, memory_nonzero=GI)
    # cpu (4000-4000)·100/4000 = 0, memory (8-3)·100/8 = 62 (integer) → 31
    assert s.least_allocated(lopsided, state) == 31
    assert s.least_allocated(pod(cpu_nonzero=5000), NodeState(node())) == 50  # cpu over → 0


def test_balanced_allocation_uses_real_requests() -> None:
    state = NodeState(node()).bind(pod("a", cpu=1000, memory=GI))
    # cpu (1000+1000)/4000 = 0.5, memory (1+1)/8 = 0.25 → 100·(1 − 0.125) = 87.5 → 87
    assert s.balanced_allocation(pod(cpu=1000, memory=GI), state) == 87
    assert s.balanced_allocation(pod(cpu=2000, memory=4 * GI), NodeState(node())) == 100


def test_normalize_is_integer_and_reversible() -> None:
    assert s.normalize({"a": 1, "b": 3, "c": 0}) == {"a": 33, "b": 100, "c": 0}
    assert s.normalize({"a": 1, "b": 3, "c": 0}, reverse=True) == {"a": 67, "b": 0, "c": 100}
    assert s.normalize({"a": 0, "b": 0}, reverse=True) == {"a": 100, "b": 100}
    assert s.normalize({"a": 0, "b": 0}) == {"a": 0, "b": 0}


def test_taint_and_affinity_raw_scores() -> None:
    soft = NodeState(node(taints=(Taint.parse("old=1:PreferNoSchedule"),)))
    assert s.intolerable_prefer_taints(pod(), soft) == 1
    tolerant = pod(tolerations=(Toleration.parse("old"),))
    assert s.intolerable_prefer_taints(tolerant, soft) == 0
    only_no_schedule = pod(tolerations=(Toleration.parse("old:NoSchedule"),))
    assert s.intolerable_prefer_taints(only_no_schedule, soft) == 1
    labelled = NodeState(node(labels={"disk": "ssd", "zone": "a"}))
    assert s.preferred_matches(pod(prefer=(("disk", "ssd"), ("zone", "b"))), labelled) == 1


def test_spread_score_of_the_system_default_constraint() -> None:
    # count·ln(nodes+2) + maxSkew−1 with maxSkew 3, rounded half away from zero
    assert s.spread_raw(0, 4) == 2
    assert s.spread_raw(1, 4) == 4  # ln 6 = 1.79 → 3.79 → 4
    assert s.spread_raw(2, 4) == 6  # 3.58 + 2 = 5.58 → 6
    # 100·(max + min − score) / max
    assert s.spread_normalize({"a": 2, "b": 4, "c": 6}) == {"a": 100, "b": 66, "c": 33}
    assert s.spread_normalize({"a": 0, "b": 0}) == {"a": 100, "b": 100}


def test_prefer_no_schedule_taint_outweighs_free_resources() -> None:
    busy = NodeState(node("pi-1")).bind(
        pod("a", cpu=2000, memory=4 * GI, cpu_nonzero=2000, memory_nonzero=4 * GI)
    )
    tainted = NodeState(node("pi-2", taints=(Taint.parse("x=y:PreferNoSchedule"),)))
    asked = pod(cpu=100, memory=100 * MI, cpu_nonzero=100, memory_nonzero=100 * MI)
    totals = s.totals(asked, [busy, tainted])
    # pi-1: taint 3·100 + spread 2·100 + least (47+48)/2=47 + balanced 99 = 646
    # pi-2: taint 3·0 + spread 2·100 + least (97+98)/2=97 + balanced 99 = 396
    assert totals == {"pi-1": 646, "pi-2": 396}
    assert s.best(asked, [busy, tainted]).name == "pi-1"


def test_preferred_labels_and_ties_break_on_name() -> None:
    plain, labelled = NodeState(node("pi-1")), NodeState(node("pi-2", labels={"disk": "ssd"}))
    assert s.best(pod(), [labelled, plain]).name == "pi-1"
    assert s.best(pod(prefer=(("disk", "ssd"),)), [plain, labelled]).name == "pi-2"


def test_single_replica_pods_get_the_default_spread_score_and_replicated_ones_skip_it() -> None:
    states = [NodeState(node("pi-1")), NodeState(node("pi-2"))]
    single = s.totals(pod(), states)
    spread = s.totals(replace(pod(), spread=True), states)
    assert {n: single[n] - spread[n] for n in single} == {"pi-1": 200, "pi-2": 200}
