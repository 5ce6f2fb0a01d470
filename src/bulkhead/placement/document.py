"""The stable JSON form of a :class:`~bulkhead.placement.result.PlacementResult`.

Quantities are Kubernetes strings (``1500m``, ``7866Mi``), pod counts are integers, every key
is always present, and the order of everything follows the spec, so the same spec always gives
byte-identical output::

    {"placements": [{workload, replica, environment, kind, node, runner, gpus}],
     "unplaced": [{workload, replica, environment, kind, reasons, kubernetes, unresolvable,
                   suggestion}],
     "nodes": [{name, environment, kind, role, arch, cpu, memory, pods, storage, gpuMemory,
                gpus, overhead, system, workloads}],
     "runners": [{name, environment, node, labels, capacity, jobs}],
     "resilience": {node: [workload, ...]},
     "resilienceReasons": {node: {workload: reason}},
     "summary": {placed, unplaced, ok}}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bulkhead.placement.result import (
    Assignment,
    Capacity,
    NodeUsage,
    PlacementResult,
    RunnerUsage,
    Unplaced,
)
from bulkhead.spec.quantity import format_cpu, format_memory


def to_json(result: PlacementResult) -> str:
    """The document as indented JSON text, ending in a newline."""
    return json.dumps(as_document(result), indent=2, ensure_ascii=False) + "\n"


def as_document(result: PlacementResult) -> dict[str, Any]:
    """The document as plain data."""
    return {
        "placements": [_placement(a) for a in result.assignments],
        "unplaced": [_unplaced(u) for u in result.unplaced],
        "nodes": [_node(n) for n in result.nodes],
        "runners": [_runner(r) for r in result.runners],
        "resilience": {node: list(lost) for node, lost in result.resilience.items()},
        "resilienceReasons": {n: dict(why) for n, why in result.resilience_reasons.items()},
        "summary": {
            "placed": len(result.assignments),
            "unplaced": len(result.unplaced),
            "ok": result.ok,
        },
    }


def _placement(a: Assignment) -> dict[str, Any]:
    return {
        "workload": a.workload,
        "replica": a.replica,
        "environment": a.environment,
        "kind": a.kind.value,
        "node": a.node,
        "runner": a.runner,
        "gpus": list(a.gpus),
    }


def _unplaced(u: Unplaced) -> dict[str, Any]:
    return {
        "workload": u.workload,
        "replica": u.replica,
        "environment": u.environment,
        "kind": u.kind.value if u.kind else None,
        "reasons": list(u.reasons),
        "kubernetes": u.kubernetes,
        "unresolvable": u.unresolvable,
        "suggestion": u.suggestion,
    }


def _capacity(c: Capacity, show: Callable[[int], Any]) -> dict[str, Any]:
    return {
        "allocatable": show(c.allocatable),
        "requested": show(c.requested),
        "free": show(c.free),
    }


def _count(value: int) -> int:
    return value


def _node(n: NodeUsage) -> dict[str, Any]:
    return {
        "name": n.name,
        "environment": n.environment,
        "kind": n.kind.value,
        "role": n.role,
        "arch": n.arch,
        "cpu": _capacity(n.cpu, format_cpu),
        "memory": _capacity(n.memory, format_memory),
        "pods": _capacity(n.pods, _count),
        "storage": _capacity(n.storage, format_memory),
        "gpuMemory": _capacity(n.gpu_memory, format_memory),
        "gpus": [_capacity(g, format_memory) for g in n.gpus],
        "overhead": {"cpu": format_cpu(n.overhead_cpu), "memory": format_memory(n.overhead_memory)},
        "system": list(n.system),
        "workloads": list(n.workloads),
    }


def _runner(r: RunnerUsage) -> dict[str, Any]:
    return {
        "name": r.name,
        "environment": r.environment,
        "node": r.node,
        "labels": list(r.labels),
        "capacity": r.capacity,
        "jobs": list(r.jobs),
    }
