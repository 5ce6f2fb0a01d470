"""RES: resources. Requests that the scheduler can count, memory limits that contain a leak,
requests within limits, and GPU memory declared and within each GPU's VRAM."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import DockerEnvironment, Homelab, Severity, Workload
from bulkhead.spec.quantity import Quantity, human_cpu, human_memory


def requests_set(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Every container workload requests cpu and memory."""
    for name, workload in facts.workloads(spec):
        res = workload.resources
        missing = [k for k, v in (("cpu", res.cpu), ("memory", res.memory)) if v is None]
        if facts.runs_containers(workload) and missing:
            message = f"{name} sets no {' or '.join(missing)} request"
            yield Hit(facts.at(spec, name, "resources"), message, name)


def memory_limit_set(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Every container workload has a memory limit (explicit, or defaulted from the request)."""
    for name, workload in facts.workloads(spec):
        if facts.runs_containers(workload) and _memory_limit(workload) is None:
            message = f"{name} has no memory limit (and no memory request to default it from)"
            key = "limits" if facts.written(spec, "workloads", name, "limits") else "resources"
            yield Hit(facts.at(spec, name, key), message, name)


def _memory_limit(workload: Workload) -> Quantity | None:
    return workload.limits.memory or workload.resources.memory


def requests_within_limits(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """No request is above its limit."""
    for name, workload in facts.workloads(spec):
        req, lim = workload.resources, workload.limits
        if req.cpu and lim.cpu and req.cpu.millis > lim.cpu.millis:
            over = f"{human_cpu(req.cpu.millis)} CPU above its limit {human_cpu(lim.cpu.millis)}"
            yield Hit(facts.at(spec, name, "limits", "cpu"), f"{name} requests {over}", name)
        if req.memory and lim.memory and req.memory.units > lim.memory.units:
            over = f"{human_memory(req.memory.units)} memory above its limit "
            over += human_memory(lim.memory.units)
            yield Hit(facts.at(spec, name, "limits", "memory"), f"{name} requests {over}", name)


def gpu_memory_declared(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Every workload that asks for a GPU declares the VRAM it uses."""
    for name, workload in facts.workloads(spec):
        if workload.resources.gpu and workload.resources.gpu_memory is None:
            message = f"{name} asks for {workload.resources.gpu} GPU(s) but declares no gpuMemory"
            yield Hit(facts.at(spec, name, "resources", "gpu"), message, name)


def gpu_memory_fits(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """The declared gpuMemory of everything sharing a GPU stays within that GPU's VRAM."""
    for env_name, env in spec.environments.items():
        if isinstance(env, DockerEnvironment):
            shares = _shares(placement, env)
            yield from _overcommitted(spec, env, shares)
            yield from _no_room(spec, placement, env_name, env, shares)


Shares = dict[tuple[str, int], list[str]]


def _shares(placement: PlacementResult, env: DockerEnvironment) -> Shares:
    """(node, GPU index) → the workloads placed on that GPU, one entry per replica."""
    shares: Shares = {}
    for a in placement.assignments:
        if a.node in env.nodes:
            for index in a.gpus:
                shares.setdefault((a.node, index), []).append(a.workload)
    return shares


def _overcommitted(spec: Homelab, env: DockerEnvironment, shares: Shares) -> Iterator[Hit]:
    for (node_name, index), names in sorted(shares.items()):
        gpus = env.nodes[node_name].gpus
        if index < len(gpus) and _used(spec, names) > gpus[index].memory.units:
            message = f"{_describe(spec, env, node_name, index, names)}: over its VRAM"
            for name in dict.fromkeys(names):
                yield Hit(facts.at(spec, name, "resources", "gpuMemory"), message, name)


def _no_room(
    spec: Homelab, placement: PlacementResult, env_name: str, env: DockerEnvironment, shares: Shares
) -> Iterator[Hit]:
    """An unplaced GPU workload whose gpuMemory fits no GPU of its environment, with the sums."""
    for name, workload in facts.workloads(spec):
        wanted = _vram(workload)
        mine = facts.environment_of(spec, placement, name) == env_name
        if not (mine and wanted and facts.is_unplaced(placement, name)):
            continue
        gpus = [(n, i) for n, node in env.nodes.items() for i in range(len(node.gpus))]
        free = [_free(spec, env, n, i, shares.get((n, i), [])) for n, i in gpus]
        if all(room < wanted for room in free):
            held = [_describe(spec, env, n, i, shares.get((n, i), [])) for n, i in gpus]
            message = (
                f"{name} declares {human_memory(wanted)} of gpuMemory; no GPU of {env_name} "
                f"has that free: {'; '.join(held) or 'it has no GPU'}"
            )
            yield Hit(facts.at(spec, name, "resources", "gpuMemory"), message, name)


def _used(spec: Homelab, names: list[str]) -> int:
    return sum(_vram(spec.workloads[n]) for n in names)


def _free(
    spec: Homelab, env: DockerEnvironment, node_name: str, index: int, names: list[str]
) -> int:
    return env.nodes[node_name].gpus[index].memory.units - _used(spec, names)


def _describe(
    spec: Homelab, env: DockerEnvironment, node_name: str, index: int, names: list[str]
) -> str:
    gpu = env.nodes[node_name].gpus[index]
    held = ", ".join(f"{n} {human_memory(_vram(spec.workloads[n]))}" for n in names) or "nothing"
    return (
        f"GPU {index} of {node_name} ({gpu.model}, {human_memory(gpu.memory.units)}) "
        f"holds {human_memory(_used(spec, names))} ({held})"
    )


def _vram(workload: Workload) -> int:
    declared = workload.resources.gpu_memory
    return declared.units if declared else 0


RULES = (
    Rule(
        id="BH-RES-001",
        title="CPU and memory requests are set",
        severity=Severity.error,
        summary="Reports a workload (other than a ci-job) without a cpu or a memory request.",
        rationale=(
            "Requests are what the scheduler counts. A pod without them is BestEffort: it lands "
            "on a full Pi, is the first to be evicted, and bulkhead's headroom and node-loss "
            "answers cannot account for it."
        ),
        example="workloads:\n  api:\n    class: service\n    resources: {cpu: 100m}   # no memory",
        fix="Set resources: {cpu: ..., memory: ...} to what the workload uses at steady load.",
        check=requests_set,
    ),
    Rule(
        id="BH-RES-002",
        title="A memory limit is set",
        severity=Severity.error,
        summary=(
            "Reports a workload with neither a memory limit nor a memory request to default "
            "the limit from."
        ),
        rationale=(
            "Without a memory limit one leaking service can take the whole Pi; the kernel's OOM "
            "killer then picks victims among its neighbours, and the failure cascades."
        ),
        example="workloads:\n  api:\n    class: service\n    resources: {cpu: 100m}   # no memory",
        fix="Set resources.memory (the limit defaults to it) or limits.memory.",
        check=memory_limit_set,
    ),
    Rule(
        id="BH-RES-003",
        title="Requests do not exceed limits",
        severity=Severity.error,
        summary="Reports a cpu or memory request above the matching limit.",
        rationale=(
            "The API server rejects such a pod outright ('must be less than or equal to ... "
            "limit'), and Docker refuses a memory reservation above the memory limit: the "
            "deploy fails half-way."
        ),
        example=(
            "workloads:\n  api:\n    class: service\n"
            "    resources: {cpu: 100m, memory: 512Mi}\n    limits: {memory: 256Mi}"
        ),
        fix="Raise the limit to at least the request, or lower the request.",
        check=requests_within_limits,
    ),
    Rule(
        id="BH-RES-004",
        title="GPU workloads declare their GPU memory",
        severity=Severity.error,
        summary="Reports a workload that asks for a GPU (resources.gpu) without gpuMemory.",
        rationale=(
            "Docker shares a GPU between containers; VRAM, not the device count, is what runs "
            "out on a 3090 shared by an LLM, an embedder and an experiment. Undeclared VRAM "
            "cannot be packed, and the first CUDA out-of-memory error happens at run time."
        ),
        example=(
            "workloads:\n  ollama:\n    class: gpu-service\n"
            "    resources: {cpu: '4', memory: 16Gi, gpu: 1}"
        ),
        fix="Set resources.gpuMemory to the model's footprint (nvidia-smi shows it under load).",
        check=gpu_memory_declared,
    ),
    Rule(
        id="BH-RES-005",
        title="GPU memory fits each GPU's VRAM",
        severity=Severity.error,
        summary=(
            "Sums the declared gpuMemory of the workloads sharing each GPU and reports a GPU "
            "over its VRAM, and a GPU workload that no GPU has room for, with the sums."
        ),
        rationale=(
            "Two models that together exceed the card's VRAM fail with CUDA out-of-memory, or "
            "one of them never starts; which one depends on start order, not on intent."
        ),
        example=(
            "environments:\n  gpu:\n    nodes:\n"
            "      rtx: {gpus: [{model: RTX 3090, memory: 24Gi}]}\n"
            "workloads:\n  ollama: {resources: {gpu: 1, gpuMemory: 16Gi}}\n"
            "  vllm: {resources: {gpu: 1, gpuMemory: 12Gi}}"
        ),
        fix="Lower gpuMemory (a smaller or quantised model), or move one model to another GPU.",
        check=gpu_memory_fits,
    ),
)
