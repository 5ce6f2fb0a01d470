"""The Docker profile: bin-packing containers onto the machines of docker environments.

Docker has no scheduler and reserves nothing, so bulkhead packs what the containers may use:
CPU and memory limits (the memory limit defaults to the request), host ports (declared ones
and those of the apis a workload exposes), and GPUs. GPUs under Docker are shared devices:
``gpu: N`` asks for N distinct GPUs of the machine, each with ``gpuMemory`` of free VRAM —
VRAM, not the device count, is what runs out on a 3090 shared by an LLM, an embedder and an
experiment. Among GPUs that fit, the fullest is taken (best fit), then the lowest index.

Nodes are ranked by how full they would be (MostAllocated over cpu and memory, so containers
pack onto fewer machines), ties by name. Explanations reuse Kubernetes' reasons so that one
vocabulary covers both layers, with ``Insufficient GPU memory`` for VRAM.
"""

from __future__ import annotations

from collections.abc import Sequence

from bulkhead.placement.filters import (
    GPU_RESOURCE,
    Cycle,
    Plugin,
    affinity_fits,
    insufficient,
    node_affinity,
    node_ports,
    ports_free,
    volume_binding,
    volumes_fit,
)
from bulkhead.placement.model import Cluster, NodeSpec, NodeState, PodSpec, StaticCache
from bulkhead.placement.nodes import docker_nodes
from bulkhead.placement.result import EnvKind, NodeFailure
from bulkhead.placement.scheduler import Profile
from bulkhead.spec.models import DockerEnvironment
from bulkhead.spec.quantity import human_cpu, human_memory

VRAM = "Insufficient GPU memory"


def machine_fits(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
    """The verdict of :func:`docker_fit`."""
    node = state.node
    if pod.cpu > 0 and pod.cpu > node.cpu - state.cpu:
        return False
    if pod.memory > 0 and pod.memory > node.memory - state.memory:
        return False
    return pod.gpus <= len(node.gpus) and choose_gpus(pod, state) is not None


def docker_fit(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """CPU and memory limits against the machine, then GPUs by count and by VRAM."""
    if machine_fits(pod, state, cycle):
        return ()
    node = state.node
    found = [
        *insufficient("cpu", pod.cpu, node.cpu - state.cpu, node.name, human_cpu),
        *insufficient("memory", pod.memory, node.memory - state.memory, node.name, human_memory),
    ]
    if pod.gpus > len(node.gpus):
        found.extend(insufficient(GPU_RESOURCE, pod.gpus, len(node.gpus), node.name, str))
    elif pod.gpus and choose_gpus(pod, state) is None:
        found.append(_vram_failure(pod, state))
    return tuple(found)


def _vram_failure(pod: PodSpec, state: NodeState) -> NodeFailure:
    free = state.vram_free()
    amounts = ", ".join(human_memory(f) for f in free)
    devices = ", ".join(f"gpu{i}" for i in range(len(free)))
    asked = f"{human_memory(pod.gpu_memory)} requested on {pod.gpus} GPU(s)"
    detail = f"{state.name}: GPU memory {amounts} free ({devices}) < {asked}"
    return NodeFailure(state.name, "NodeResourcesFit", VRAM, detail)


def choose_gpus(pod: PodSpec, state: NodeState) -> tuple[int, ...] | None:
    """The ``pod.gpus`` GPUs to share (best fit by free VRAM), or None when too few fit."""
    if pod.gpus == 0:
        return ()
    free = state.vram_free()
    fitting = sorted((f, i) for i, f in enumerate(free) if f >= pod.gpu_memory)
    if len(fitting) < pod.gpus:
        return None
    return tuple(sorted(i for _, i in fitting[: pod.gpus]))


def fullness(pod: PodSpec, state: NodeState) -> int:
    """MostAllocated over cpu and memory, 0–100, as if ``pod`` were bound here."""
    node = state.node
    cpu = (state.cpu + pod.cpu) * 100 // node.cpu if node.cpu else 0
    memory = (state.memory + pod.memory) * 100 // node.memory if node.memory else 0
    return (cpu + memory) // 2


def pack(pod: PodSpec, feasible: Sequence[NodeState]) -> NodeState:
    """The fullest machine that still fits; ties by name."""
    return min(feasible, key=lambda s: (-fullness(pod, s), s.name))


def bind(pod: PodSpec, state: NodeState) -> NodeState:
    """Bind ``pod`` with the GPUs it shares."""
    return state.bind(pod, choose_gpus(pod, state) or ())


def _no_prefilter(pod: PodSpec, cluster: Cluster, cache: StaticCache | None = None) -> Cycle:
    return Cycle()


DOCKER_FILTERS = (
    Plugin("NodeAffinity", node_affinity, affinity_fits, True),
    Plugin("NodePorts", node_ports, ports_free),
    Plugin("Resources", docker_fit, machine_fits),
    Plugin("VolumeBinding", volume_binding, volumes_fit),
)
DOCKER = Profile(EnvKind.docker, DOCKER_FILTERS, _no_prefilter, pack, bind)


def machines_of(envs: Sequence[tuple[str, DockerEnvironment]]) -> dict[str, NodeState]:
    """Every machine of the given docker environments, empty."""
    nodes: list[NodeSpec] = [n for name, env in envs for n in docker_nodes(name, env)]
    return {node.name: NodeState(node) for node in nodes}
