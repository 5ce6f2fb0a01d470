"""Headroom: per node, what is allocatable, what is requested, what is left.

Requests include what K3s binds first (CoreDNS, metrics-server on the first server; svclb on
every node), because the scheduler counts them. The k3s server process is not a pod: its
declared overhead is reported beside the requests (``overhead_cpu``/``overhead_memory``), not
inside them. A docker machine has no pod limit, so its ``pods`` allocatable equals the number
of containers on it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bulkhead.placement.addons import system_names
from bulkhead.placement.model import NodeState
from bulkhead.placement.result import Capacity, NodeUsage


def node_usage(state: NodeState) -> NodeUsage:
    """The headroom of one node in its final state."""
    node = state.node
    pods = len(state.pods)
    return NodeUsage(
        name=node.name,
        environment=node.environment,
        kind=node.kind,
        role=node.role,
        cpu=Capacity(node.cpu, state.cpu),
        memory=Capacity(node.memory, state.memory),
        pods=Capacity(node.max_pods or pods, pods),
        storage=Capacity(node.storage.size if node.storage else 0, state.storage),
        gpu_memory=Capacity(sum(node.gpus), sum(state.vram)),
        workloads=tuple(p.key for p in state.user_pods),
        system=system_names(state),
        overhead_cpu=node.overhead_cpu,
        overhead_memory=node.overhead_memory,
        gpus=tuple(Capacity(total, total - free) for total, free in _vram(state)),
        arch=node.arch,
    )


def _vram(state: NodeState) -> Iterable[tuple[int, int]]:
    return zip(state.node.gpus, state.vram_free(), strict=True)
