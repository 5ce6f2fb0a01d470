"""Facts that several rules share, read off the spec and the placement: pure lookups only.

Where a workload runs (its environment and nodes), what a node is (arch, storage), what an image
can run on. Rules stay short by asking these questions instead of walking the spec themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.errors import Location
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import (
    DockerEnvironment,
    DockerNode,
    GiteaEnvironment,
    Homelab,
    K3sEnvironment,
    K3sNode,
    Runner,
    Workload,
    WorkloadClass,
)

GPU_CLASSES = frozenset({WorkloadClass.gpu_service, WorkloadClass.gpu_batch})
Node = K3sNode | DockerNode


def workloads(spec: Homelab) -> Iterator[tuple[str, Workload]]:
    """Every workload, in spec order."""
    yield from spec.workloads.items()


def runs_containers(workload: Workload) -> bool:
    """True for everything but a ci-job (a ci-job is steps on a runner, not a container)."""
    return workload.class_ is not WorkloadClass.ci_job


def where(spec: Homelab, *path: str | int) -> Location:
    """Where a finding about ``path`` points: the key that introduces it (a list item: the
    item), or, for a key the user left out, the nearest written key above it."""
    source = spec.source
    for end in range(len(path), 0, -1):
        head = tuple(path[:end])
        if isinstance(head[-1], int) and head in source.values:
            return source.values[head]
        if head in source.keys:
            return source.keys[head]
    return source.locate()


def written(spec: Homelab, *path: str | int) -> bool:
    """True when the user wrote the key at ``path`` (rather than leaving a default)."""
    return tuple(path) in spec.source.keys


def at(spec: Homelab, name: str, *path: str | int) -> Location:
    """:func:`where` for a path under ``workloads.<name>``."""
    return where(spec, "workloads", name, *path)


def environment_of(spec: Homelab, placement: PlacementResult, name: str) -> str | None:
    """The environment a workload runs in: the placement's answer, else its override."""
    if name in placement.environments:
        return placement.environments[name]
    placed = placement.of(name)
    if placed:
        return placed[0].environment
    unplaced = next((u for u in placement.unplaced if u.workload == name), None)
    if unplaced is not None and unplaced.environment is not None:
        return unplaced.environment
    return spec.workloads[name].environment


def env_type(spec: Homelab, env: str | None) -> str | None:
    """``k3s``, ``docker`` or ``gitea`` for a declared environment, else None."""
    declared = spec.environments.get(env) if env else None
    return declared.type if declared else None


def nodes_of(spec: Homelab, env: str | None) -> dict[str, Node]:
    """The nodes of a k3s or docker environment (empty for gitea or an unknown name)."""
    declared = spec.environments.get(env) if env else None
    if isinstance(declared, K3sEnvironment | DockerEnvironment):
        return dict(declared.nodes)
    return {}


def node(spec: Homelab, name: str) -> tuple[str, Node] | None:
    """(environment, node) of a node name in any environment."""
    for env_name, env in spec.environments.items():
        if isinstance(env, K3sEnvironment | DockerEnvironment) and name in env.nodes:
            return env_name, env.nodes[name]
    return None


def node_path(spec: Homelab, name: str) -> tuple[str, ...]:
    """The YAML path of a node's definition."""
    found = node(spec, name)
    return ("environments", found[0], "nodes", name) if found else ("environments",)


def placed_nodes(placement: PlacementResult, name: str) -> tuple[str, ...]:
    """The distinct nodes a workload's replicas landed on, in replica order."""
    return tuple(dict.fromkeys(a.node for a in placement.of(name)))


def is_unplaced(placement: PlacementResult, name: str) -> bool:
    """True when some replica of the workload found no home."""
    return any(u.workload == name for u in placement.unplaced)


def runners(spec: Homelab) -> dict[str, Runner]:
    """Every runner of every gitea environment, by name."""
    found: dict[str, Runner] = {}
    for env in spec.environments.values():
        if isinstance(env, GiteaEnvironment):
            found.update(env.runners)
    return found


def platform_archs(workload: Workload) -> frozenset[str] | None:
    """The CPU architectures of the image's platforms (``linux/arm/v7`` → ``arm``), if declared."""
    if workload.platforms is None:
        return None
    return frozenset(p.split("/")[1] for p in workload.platforms)
