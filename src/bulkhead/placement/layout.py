"""Everything placement needs before a single pod is placed: targets, starting nodes, pods.

A :class:`Layout` is derived once from the spec and shared by the plan, the repair search and
the what-if: where each workload may go (:mod:`.environments`), each k3s cluster with its
add-ons bound, the docker machines, the runners, and the pods and jobs to place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bulkhead.placement import ci, docker, k3s
from bulkhead.placement.environments import Refusal, Target, target
from bulkhead.placement.model import Cluster, PodSpec, StaticCache
from bulkhead.placement.pods import pods_of
from bulkhead.placement.result import EnvKind
from bulkhead.spec.models import DockerEnvironment, Homelab, K3sEnvironment


@dataclass(frozen=True)
class Layout:
    """The starting point of a plan (nothing placed yet)."""

    spec: Homelab
    targets: Mapping[str, Target | Refusal]
    clusters: Mapping[str, Cluster]  # k3s environment → its nodes with add-ons bound
    machines: Cluster  # every docker machine, empty
    cluster_pods: Mapping[str, tuple[PodSpec, ...]]  # k3s environment → pods to place
    docker_pods: tuple[PodSpec, ...]
    jobs: tuple[ci.Job, ...]
    runners: tuple[ci.RunnerSpec, ...]
    positions: Mapping[str, int]  # workload → its index in the spec
    cache: StaticCache = field(default_factory=dict, compare=False)  # shared by every run

    def refusals(self) -> dict[str, Refusal]:
        """Workloads that have no environment to go to, with the reason."""
        return {n: t for n, t in self.targets.items() if isinstance(t, Refusal)}

    def order(self, workload: str) -> int:
        """The workload's position in the spec."""
        return self.positions[workload]


def layout_of(spec: Homelab) -> Layout:
    """Derive the layout of a spec."""
    targets = {name: target(spec, name) for name in spec.workloads}
    positions = {name: i for i, name in enumerate(spec.workloads)}
    jobs = (ci.jobs_of(spec, n, positions[n]) for n in _of(targets, EnvKind.gitea))
    return Layout(
        spec=spec,
        targets=targets,
        clusters=_clusters(spec),
        machines=docker.machines_of(_docker_envs(spec)),
        cluster_pods=_cluster_pods(spec, targets, positions),
        docker_pods=_docker_pods(spec, targets, positions),
        jobs=tuple(j for found in jobs for j in found),
        runners=ci.runners_of(spec, _gitea_envs(spec)),
        positions=positions,
    )


def _clusters(spec: Homelab) -> dict[str, Cluster]:
    return {
        name: k3s.cluster_of(name, env)
        for name, env in spec.environments.items()
        if isinstance(env, K3sEnvironment)
    }


def _docker_envs(spec: Homelab) -> list[tuple[str, DockerEnvironment]]:
    return [(n, e) for n, e in spec.environments.items() if isinstance(e, DockerEnvironment)]


def _gitea_envs(spec: Homelab) -> list[str]:
    return [n for n, e in spec.environments.items() if e.type == "gitea"]


def _of(targets: Mapping[str, Target | Refusal], kind: EnvKind) -> list[str]:
    return [n for n, t in targets.items() if isinstance(t, Target) and t.kind is kind]


def _cluster_pods(
    spec: Homelab, targets: Mapping[str, Target | Refusal], positions: Mapping[str, int]
) -> dict[str, tuple[PodSpec, ...]]:
    pods: dict[str, list[PodSpec]] = {}
    for name in _of(targets, EnvKind.k3s):
        env = _environments(targets[name])[0]
        pods.setdefault(env, []).extend(pods_of(spec, name, EnvKind.k3s, positions[name]))
    return {env: tuple(found) for env, found in pods.items()}


def _docker_pods(
    spec: Homelab, targets: Mapping[str, Target | Refusal], positions: Mapping[str, int]
) -> tuple[PodSpec, ...]:
    found: list[PodSpec] = []
    for name in _of(targets, EnvKind.docker):
        envs = _environments(targets[name])
        pods = pods_of(spec, name, EnvKind.docker, positions[name])
        found.extend(replace(p, environments=envs) for p in pods)
    return tuple(found)


def _environments(found: Target | Refusal) -> tuple[str, ...]:
    return found.environments if isinstance(found, Target) else ()
