"""The simulation's own values: what a node offers, what a pod asks, and how full a node is.

Everything is an exact integer: CPU in millicores, memory, storage and VRAM in bytes.
:class:`NodeSpec` and :class:`PodSpec` are derived once from the spec (:mod:`.nodes`,
:mod:`.pods`); :class:`NodeState` is a node plus the pods bound to it, replaced (never mutated)
on every bind. A :data:`Cluster` maps node names to states, in name order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from bulkhead.placement.result import EnvKind
from bulkhead.spec.taints import Taint, Toleration

SYSTEM_PRIORITY = 2_000_000_000  # system-cluster-critical: k3s add-ons go before user pods


@dataclass(frozen=True)
class StorageSpec:
    """A node's volume storage: its storage class, size and performance tier."""

    class_: str
    size: int
    tier: str


@dataclass(frozen=True)
class NodeSpec:
    """What one node offers, as the scheduler sees it (allocatable = capacity on K3s)."""

    name: str
    environment: str
    kind: EnvKind
    role: str  # server / agent / docker
    arch: str
    cpu: int
    memory: int
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    max_pods: int = 0  # 0: no pod limit (docker)
    storage: StorageSpec | None = None
    gpus: tuple[int, ...] = ()  # VRAM of each GPU (docker)
    overhead_cpu: int = 0  # the k3s server process: not seen by the scheduler
    overhead_memory: int = 0


@dataclass(frozen=True)
class VolumeClaim:
    """One persistent volume a pod needs on its node."""

    name: str
    size: int
    storage_class: str | None  # None: whatever the node's storage class is


@dataclass(frozen=True)
class PodSpec:
    """One replica of a workload as the scheduler sees it.

    ``cpu``/``memory`` are what is reserved: requests in k3s, limits (memory limit defaulting
    to the request) under Docker. ``cpu_nonzero``/``memory_nonzero`` are the scoring view, in
    which a missing request counts as 100m / 200Mi. ``spread`` marks replicas of a workload
    with ``replicas > 1``: topology spread (hostname, maxSkew 1, DoNotSchedule) plus required
    anti-affinity on the hostname between its own replicas.
    """

    workload: str
    replica: int
    order: int
    priority: int = 0
    cpu: int = 0
    memory: int = 0
    cpu_nonzero: int = 0
    memory_nonzero: int = 0
    gpus: int = 0
    gpu_memory: int = 0
    host_ports: tuple[int, ...] = ()
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    prefer: tuple[tuple[str, str], ...] = ()
    platforms: tuple[str, ...] | None = None
    volumes: tuple[VolumeClaim, ...] = ()
    needs_fast: bool = False
    spread: bool = False
    system: bool = False
    daemon: bool = False  # a DaemonSet pod (svclb): bound to its node, never rescheduled
    environments: tuple[str, ...] = ()  # the environments it may land in (empty: any)

    @property
    def key(self) -> str:
        """``workload/replica``, as shown to users."""
        return f"{self.workload}/{self.replica}"

    @property
    def label(self) -> str:
        """How this pod is named in explanations: ``workload/replica``, or the add-on's name."""
        return self.workload if self.system else self.key

    @cached_property
    def archs(self) -> frozenset[str] | None:
        """The CPU architectures the image runs on, or None when platforms are not declared."""
        if self.platforms is None:
            return None
        return frozenset(p.split("/")[1] for p in self.platforms)

    @cached_property
    def static_key(self) -> tuple[object, ...]:
        """Everything the static filters (cordon, taints, node affinity) read of a pod: pods
        alike in these fields are admitted by the same nodes."""
        return (self.node_selector, self.tolerations, self.platforms, self.needs_fast)

    @property
    def storage_request(self) -> int:
        """Bytes of volume storage this pod needs on its node."""
        return sum(v.size for v in self.volumes)

    def pinned_to(self, node: str) -> PodSpec:
        """This pod with a ``kubernetes.io/hostname`` nodeSelector for ``node``."""
        selector = (*self.node_selector, ("kubernetes.io/hostname", node))
        return replace(self, node_selector=selector)


def schedule_order(pod: PodSpec) -> tuple[int, int, int]:
    """The scheduling queue's order: priority (high first), then spec order, then replica."""
    return (-pod.priority, pod.order, pod.replica)


@dataclass(frozen=True)
class NodeState:
    """A node and what is bound to it; :meth:`bind` returns a new state."""

    node: NodeSpec
    pods: tuple[PodSpec, ...] = ()
    cpu: int = 0
    memory: int = 0
    cpu_nonzero: int = 0
    memory_nonzero: int = 0
    gpus: int = 0
    storage: int = 0
    ports: Mapping[int, str] = field(default_factory=dict)  # host port → label of its holder
    replicas: Mapping[str, int] = field(default_factory=dict)  # workload → replicas here
    vram: tuple[int, ...] = ()  # VRAM used on each GPU (docker)
    devices: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # pod key → its GPUs

    @property
    def name(self) -> str:
        """The node's name."""
        return self.node.name

    @property
    def user_pods(self) -> tuple[PodSpec, ...]:
        """The pods of the user's workloads, without k3s add-ons."""
        return tuple(p for p in self.pods if not p.system)

    def vram_free(self) -> tuple[int, ...]:
        """Free VRAM of each GPU, by index."""
        used = self.vram or (0,) * len(self.node.gpus)
        return tuple(total - u for total, u in zip(self.node.gpus, used, strict=True))

    def bind(self, pod: PodSpec, gpus: tuple[int, ...] = ()) -> NodeState:
        """This node with ``pod`` bound (sharing the GPUs ``gpus``, under Docker)."""
        state = self._shift(pod, 1, gpus)
        return replace(state, devices={**self.devices, pod.key: gpus}) if gpus else state

    def unbind(self, pod: PodSpec) -> NodeState:
        """This node with ``pod`` removed (a node failure, a repair)."""
        gpus = self.devices.get(pod.key, ())
        state = self._shift(pod, -1, gpus)
        if not gpus:
            return state
        return replace(state, devices={k: v for k, v in self.devices.items() if k != pod.key})

    def _shift(self, pod: PodSpec, sign: int, gpus: tuple[int, ...]) -> NodeState:
        return replace(
            self,
            pods=(*self.pods, pod) if sign > 0 else tuple(p for p in self.pods if p != pod),
            cpu=self.cpu + sign * pod.cpu,
            memory=self.memory + sign * pod.memory,
            cpu_nonzero=self.cpu_nonzero + sign * pod.cpu_nonzero,
            memory_nonzero=self.memory_nonzero + sign * pod.memory_nonzero,
            gpus=self.gpus + sign * pod.gpus,
            storage=self.storage + sign * pod.storage_request,
            ports=_shift_ports(self.ports, pod, sign),
            replicas=_shift_count(self.replicas, pod.workload, sign),
            vram=self._shift_vram(pod.gpu_memory * sign, gpus),
        )

    def _shift_vram(self, amount: int, gpus: tuple[int, ...]) -> tuple[int, ...]:
        used = list(self.vram or (0,) * len(self.node.gpus))
        for index in gpus:
            used[index] += amount
        return tuple(used)


def _shift_ports(ports: Mapping[int, str], pod: PodSpec, sign: int) -> Mapping[int, str]:
    if not pod.host_ports:
        return ports
    if sign > 0:
        return {**ports, **dict.fromkeys(pod.host_ports, pod.label)}
    return {port: key for port, key in ports.items() if key != pod.label}


def _shift_count(counts: Mapping[str, int], workload: str, sign: int) -> Mapping[str, int]:
    count = counts.get(workload, 0) + sign
    rest = {w: c for w, c in counts.items() if w != workload}
    return {**rest, workload: count} if count else rest


Cluster = Mapping[str, NodeState]
# memo of verdicts that depend only on a pod's static_key and the node: (purpose, static_key)
# → node name → verdict
StaticCache = dict[tuple[object, ...], dict[str, bool]]


def with_state(cluster: Cluster, state: NodeState) -> dict[str, NodeState]:
    """``cluster`` with one node's state replaced."""
    return {**cluster, state.name: state}
