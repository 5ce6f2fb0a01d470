"""Workloads → the pods (replicas) the scheduler places, as :class:`~.model.PodSpec` values.

In a k3s environment a pod reserves its requests. Under Docker nothing is reserved, so the
bin-packing counts limits: the memory limit defaults to the memory request, the CPU limit to
the CPU request. Host ports are the declared ``hostPorts``; with ``hostNetwork`` every container
port is a host port too (Kubernetes defaults ``hostPort`` to ``containerPort`` there); under
Docker the ports of the apis a workload exposes are published on the host as well.
"""

from __future__ import annotations

from dataclasses import replace

from bulkhead.placement.model import PodSpec, VolumeClaim
from bulkhead.placement.result import EnvKind
from bulkhead.spec.models import Homelab, Workload, WorkloadClass
from bulkhead.spec.quantity import Quantity

DEFAULT_CPU = 100  # millicores a missing CPU request counts as when scoring
DEFAULT_MEMORY = 200 * 2**20  # bytes a missing memory request counts as when scoring


def pods_of(spec: Homelab, name: str, kind: EnvKind, order: int = 0) -> tuple[PodSpec, ...]:
    """Every replica of workload ``name`` (``order``: its position in the spec)."""
    workload = spec.workloads[name]
    base = _base_pod(spec, name, workload, order, kind)
    return tuple(replace(base, replica=i) for i in range(workload.replicas))


def _base_pod(spec: Homelab, name: str, workload: Workload, order: int, kind: EnvKind) -> PodSpec:
    cpu, memory = _reserved(workload, kind)
    placement = workload.placement
    return PodSpec(
        workload=name,
        replica=0,
        order=order,
        priority=workload.priority,
        cpu=cpu,
        memory=memory,
        cpu_nonzero=cpu if workload.resources.cpu is not None else DEFAULT_CPU,
        memory_nonzero=memory if workload.resources.memory is not None else DEFAULT_MEMORY,
        gpus=workload.resources.gpu,
        gpu_memory=_units(workload.resources.gpu_memory),
        host_ports=host_ports(spec, name, kind),
        node_selector=tuple(sorted(placement.node_selector.items())),
        tolerations=tuple(placement.tolerations),
        prefer=tuple(sorted(placement.prefer.items())),
        platforms=tuple(workload.platforms) if workload.platforms is not None else None,
        volumes=_volumes(workload),
        needs_fast=workload.class_ is WorkloadClass.database,
        spread=kind is EnvKind.k3s and workload.replicas > 1,
    )


def _reserved(workload: Workload, kind: EnvKind) -> tuple[int, int]:
    """(cpu millicores, memory bytes) that count against the node."""
    requests, limits = workload.resources, workload.limits
    cpu = requests.cpu.millis if requests.cpu is not None else 0
    memory = _units(requests.memory)
    if kind is EnvKind.docker:
        cpu = limits.cpu.millis if limits.cpu is not None else cpu
        memory = _units(limits.memory) or memory
    return cpu, memory


def _units(quantity: Quantity | None) -> int:
    return quantity.units if quantity is not None else 0


def host_ports(spec: Homelab, name: str, kind: EnvKind) -> tuple[int, ...]:
    """The host ports one replica of ``name`` binds on its node."""
    workload = spec.workloads[name]
    ports = set(workload.host_ports.values())
    if workload.security.host_network:
        ports.update(workload.ports.values())
    if kind is EnvKind.docker:
        exposed = (spec.apis[api].port for api in workload.exposes if api in spec.apis)
        ports.update(workload.ports[p] for p in exposed if p in workload.ports)
    return tuple(sorted(ports))


def _volumes(workload: Workload) -> tuple[VolumeClaim, ...]:
    return tuple(
        VolumeClaim(name, volume.size.units, volume.storage_class)
        for name, volume in sorted(workload.volumes.items())
    )
