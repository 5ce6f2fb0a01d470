"""What placement produces: frozen values that checks, render, plan output and doctor read.

A :class:`PlacementResult` says, for every replica of every workload, which environment and node
it landed on (:class:`Assignment`) or why it could not (:class:`Unplaced`), how full each node is
(:class:`NodeUsage`), and which workloads would become unplaceable if a node died
(``resilience``). Quantities are exact integers: CPU in millicores, memory and storage in bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class EnvKind(StrEnum):
    """The kind of environment a replica lands in."""

    k3s = "k3s"
    docker = "docker"
    gitea = "gitea"


@dataclass(frozen=True)
class Assignment:
    """One replica placed on one node (for ci-jobs: on one runner, ``runner`` set)."""

    workload: str
    replica: int
    environment: str
    kind: EnvKind
    node: str
    runner: str | None = None
    gpus: tuple[int, ...] = ()  # docker: indices of the GPUs this replica shares


@dataclass(frozen=True)
class NodeFailure:
    """Why one node rejected one replica: the predicate and its numbers."""

    node: str
    predicate: str  # e.g. "NodeResourcesFit", "TaintToleration", "Arch"
    reason: str  # the Kubernetes-style short reason, e.g. "Insufficient memory"
    detail: str  # with numbers, e.g. "pi-3: memory 1.1Gi free < 2Gi requested"


@dataclass(frozen=True)
class Unplaced:
    """A replica that found no home, with every failing predicate on every node."""

    workload: str
    replica: int
    environment: str | None
    kind: EnvKind | None
    kubernetes: str  # "0/4 nodes are available: 2 Insufficient memory, ..."
    failures: tuple[NodeFailure, ...]
    unresolvable: bool  # no node could hold it even when empty
    suggestion: str | None = None  # a verified remedy ("x/0 fits: …"), or "no placement …"

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every failing predicate, one line per node and predicate, with numbers."""
        return tuple(f.detail for f in self.failures) or (self.kubernetes,)


@dataclass(frozen=True)
class Capacity:
    """Allocatable vs requested for one resource on one node (integers in base units)."""

    allocatable: int
    requested: int

    @property
    def free(self) -> int:
        """What is left (may be negative only when something is over-committed)."""
        return self.allocatable - self.requested


@dataclass(frozen=True)
class NodeUsage:
    """Headroom of one node: cpu (millicores), memory, storage, GPU memory (bytes), pods."""

    name: str
    environment: str
    kind: EnvKind
    role: str  # server / agent / docker / runner host
    cpu: Capacity
    memory: Capacity
    pods: Capacity
    storage: Capacity
    gpu_memory: Capacity
    workloads: tuple[str, ...]  # "name/replica" of what runs here, in placement order
    system: tuple[str, ...] = ()  # what k3s binds first: "k3s-server", "coredns", ...
    # The declared k3s server overhead (servers only). Invisible to the scheduler, so it is not
    # in ``cpu.requested``/``memory.requested``; ``cpu.free - overhead_cpu`` is the real headroom.
    overhead_cpu: int = 0
    overhead_memory: int = 0
    gpus: tuple[Capacity, ...] = ()  # docker: VRAM per GPU, by device index
    arch: str = ""

    @property
    def cpu_headroom(self) -> int:
        """Millicores left once the server overhead is counted (negative: it has no room)."""
        return self.cpu.free - self.overhead_cpu

    @property
    def memory_headroom(self) -> int:
        """Bytes left once the server overhead is counted (negative: it has no room)."""
        return self.memory.free - self.overhead_memory


@dataclass(frozen=True)
class RunnerUsage:
    """One Gitea runner: the jobs it may pick up against the concurrency its capacity allows."""

    name: str
    environment: str
    node: str  # the host the runner lives on
    labels: tuple[str, ...]
    capacity: int  # concurrent jobs; more jobs than this queue, they are not refused
    jobs: tuple[str, ...]  # "name/replica" of the ci-jobs that fit only or best here


@dataclass(frozen=True)
class PlacementResult:
    """The whole answer of :func:`bulkhead.placement.plan`."""

    assignments: tuple[Assignment, ...]
    unplaced: tuple[Unplaced, ...]
    nodes: tuple[NodeUsage, ...]
    resilience: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    environments: Mapping[str, str] = field(default_factory=dict)  # workload → environment
    runners: tuple[RunnerUsage, ...] = ()
    # node → workload → why it could not be placed again without that node
    resilience_reasons: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every replica of every workload is placed."""
        return not self.unplaced

    def of(self, workload: str) -> tuple[Assignment, ...]:
        """The assignments of one workload, by replica."""
        return tuple(a for a in self.assignments if a.workload == workload)

    def node(self, name: str) -> NodeUsage | None:
        """The usage of one node by name."""
        return next((n for n in self.nodes if n.name == name), None)
