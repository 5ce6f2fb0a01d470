"""Nodes as the scheduler sees them: capacity, the labels K3s sets, taints, storage, GPUs.

K3s sets no kube-reserved or system-reserved and drops the ``memory.available`` eviction
threshold, so allocatable equals capacity. Every node carries the well-known labels the kubelet
and K3s set (``kubernetes.io/hostname``, ``kubernetes.io/arch``, ``kubernetes.io/os``, the
``node-role.kubernetes.io/*`` roles of a server) plus bulkhead's ``bulkhead.dev/storage-tier``
(applied by the rendered ``nodes.sh``) and the labels the user declared.
"""

from __future__ import annotations

from bulkhead.placement.model import NodeSpec, StorageSpec
from bulkhead.placement.result import EnvKind
from bulkhead.spec.models import DockerEnvironment, DockerNode, K3sEnvironment, K3sNode, Storage

TIER_LABEL = "bulkhead.dev/storage-tier"
SERVER_ROLES = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def k3s_nodes(env_name: str, env: K3sEnvironment) -> tuple[NodeSpec, ...]:
    """Every node of a k3s environment, in name order."""
    return tuple(_k3s_node(env_name, env, name, env.nodes[name]) for name in sorted(env.nodes))


def docker_nodes(env_name: str, env: DockerEnvironment) -> tuple[NodeSpec, ...]:
    """Every machine of a docker environment, in name order."""
    return tuple(_docker_node(env_name, name, env.nodes[name]) for name in sorted(env.nodes))


def _k3s_node(env_name: str, env: K3sEnvironment, name: str, node: K3sNode) -> NodeSpec:
    server = node.role == "server"
    return NodeSpec(
        name=name,
        environment=env_name,
        kind=EnvKind.k3s,
        role=node.role,
        arch=node.arch.value,
        cpu=node.cpu.millis,
        memory=node.memory.units,
        labels=k3s_labels(name, node),
        taints=tuple(node.taints),
        unschedulable=node.unschedulable,
        max_pods=node.max_pods,
        storage=_storage(node.storage),
        overhead_cpu=env.server_overhead.cpu.millis if server else 0,
        overhead_memory=env.server_overhead.memory.units if server else 0,
    )


def k3s_labels(name: str, node: K3sNode) -> dict[str, str]:
    """The labels a K3s node carries: well-known ones first, the user's on top."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/arch": node.arch.value,
        "kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": node.arch.value,
        "beta.kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "k3s",
    }
    if node.role == "server":
        labels.update(dict.fromkeys(SERVER_ROLES, "true"))
    if node.storage is not None:
        labels[TIER_LABEL] = node.storage.tier.value
    return {**labels, **node.labels}


def _docker_node(env_name: str, name: str, node: DockerNode) -> NodeSpec:
    return NodeSpec(
        name=name,
        environment=env_name,
        kind=EnvKind.docker,
        role="docker",
        arch=node.arch.value,
        cpu=node.cpu.millis,
        memory=node.memory.units,
        labels={"kubernetes.io/hostname": name, "kubernetes.io/arch": node.arch.value},
        storage=_storage(node.storage),
        gpus=tuple(gpu.memory.units for gpu in node.gpus),
    )


def _storage(storage: Storage | None) -> StorageSpec | None:
    if storage is None:
        return None
    return StorageSpec(storage.class_, storage.size.units, storage.tier.value)
