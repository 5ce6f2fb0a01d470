"""The scheduling loop itself: queue order, retries, and how many nodes a large cluster scans."""

from __future__ import annotations

import pytest

from bulkhead.placement.k3s import K3S
from bulkhead.placement.model import NodeState
from bulkhead.placement.scheduler import find_feasible, nodes_to_find, schedule
from tests.placement.test_filters import GI, node, pod


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [(5, 5), (99, 99), (100, 100), (200, 100), (500, 230), (5000, 500), (20000, 1000)],
)
def test_percentage_of_nodes_to_score(nodes: int, expected: int) -> None:
    """numFeasibleNodesToFind: all below 100, then (50 − n/125)% with floors of 5% and 100."""
    assert nodes_to_find(nodes) == expected


def test_large_clusters_stop_scanning_and_rotate_the_start() -> None:
    cluster = {f"n{i:03d}": NodeState(node(f"n{i:03d}")) for i in range(200)}
    found, examined = find_feasible(pod(cpu=10), cluster, K3S, {}, start=150)
    assert (len(found), examined) == (100, 100)
    assert (found[0].name, found[-1].name) == ("n150", "n049")  # wrapped around the end


def test_queue_order_is_priority_then_spec_order_then_replica() -> None:
    cluster = {"pi-1": NodeState(node("pi-1", memory=GI))}
    pods = [
        pod("late", 1, order=1, memory=GI // 4),
        pod("late", 0, order=1, memory=GI // 4),
        pod("first", 0, order=2, priority=5, memory=GI // 4),
        pod("early", 0, order=0, memory=GI // 4),
    ]
    outcome = schedule(pods, cluster, K3S)
    assert [p.key for p, _ in outcome.placed] == ["first/0", "early/0", "late/0", "late/1"]
