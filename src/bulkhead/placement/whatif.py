"""What if a node dies? Pis and SD cards do. For each node, which workloads lose a replica.

The rest of the homelab stays as placed; only what ran on the dead node moves, as in a real
failure:

- k3s: the pods are rescheduled onto the surviving nodes (add-ons first, by priority). A pod
  with a local-path volume cannot move: its PersistentVolume has node affinity to the dead node
  (local-path pins the pod once bound). If the node was the cluster's only server, nothing is
  rescheduled at all: there is no control plane left.
- docker: containers are re-packed onto the other machines they may use; a container with a
  volume is not, its data is on the dead machine's disk.
- gitea: runners living on the node are gone; their jobs go to other runners that fit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bulkhead.placement import ci
from bulkhead.placement.docker import DOCKER
from bulkhead.placement.k3s import K3S, servers
from bulkhead.placement.layout import Layout
from bulkhead.placement.model import Cluster, PodSpec
from bulkhead.placement.scheduler import (
    Outcome,
    Profile,
    failures_by_node,
    kubernetes_line,
    schedule,
)
from bulkhead.placement.simulate import Placed
from bulkhead.spec.models import K3sEnvironment


@dataclass(frozen=True)
class Loss:
    """One replica that would find no home, and why."""

    workload: str
    reason: str


def resilience(layout: Layout, placed: Placed) -> dict[str, dict[str, str]]:
    """Every node → the workloads that would lose a replica without it → the first reason."""
    report: dict[str, dict[str, str]] = {}
    for node, losses in _all_losses(layout, placed):
        ordered = sorted(losses, key=lambda loss: layout.order(loss.workload))
        reasons: dict[str, str] = {}
        for loss in ordered:
            reasons.setdefault(loss.workload, loss.reason)
        report[node] = reasons
    return report


def _all_losses(layout: Layout, placed: Placed) -> Iterator[tuple[str, list[Loss]]]:
    for env, outcome in placed.clusters.items():
        spec_env = layout.spec.environments[env]
        assert isinstance(spec_env, K3sEnvironment)
        for node in outcome.cluster:
            lost = _cluster_loss(layout, outcome, node, servers(spec_env))
            yield node, [*lost, *_job_loss(layout, placed, node)]
    machines = placed.docker.cluster
    for node, state in machines.items():
        lost = _reschedule(layout, machines, node, state.pods, DOCKER)
        yield node, [*lost, *_job_loss(layout, placed, node)]


def _cluster_loss(
    layout: Layout, outcome: Outcome, node: str, control_plane: Sequence[str]
) -> Iterator[Loss]:
    displaced = [p for p in outcome.cluster[node].pods if not p.daemon]
    if tuple(control_plane) == (node,):
        reason = f"{node} is the only server: with no control plane nothing is rescheduled"
        yield from (Loss(p.workload, reason) for p in displaced if not p.system)
        return
    yield from _reschedule(layout, outcome.cluster, node, displaced, K3S)


def _reschedule(
    layout: Layout, cluster: Cluster, node: str, displaced: Sequence[PodSpec], profile: Profile
) -> Iterator[Loss]:
    survivors = {n: s for n, s in cluster.items() if n != node}
    movable = [p for p in displaced if p.system or not p.volumes]
    for pod in displaced:
        if pod not in movable:
            yield Loss(pod.workload, _pinned(pod, node, profile))
    after = schedule(movable, survivors, profile, layout.cache)
    for pod in after.pending:
        if not pod.system:
            yield Loss(pod.workload, _no_home(pod, after.cluster, profile, node))


def _pinned(pod: PodSpec, node: str, profile: Profile) -> str:
    volumes = ", ".join(v.name for v in pod.volumes)
    if profile is K3S:
        return f"volume {volumes} is bound to {node} (a local-path volume pins its pod)"
    return f"volume {volumes} is on {node}'s disk"


def _no_home(pod: PodSpec, cluster: Cluster, profile: Profile, node: str) -> str:
    failures = failures_by_node(pod, cluster, profile)
    if not failures:
        return f"{node} is the only machine it may run on"
    return f"no other node fits: {kubernetes_line(failures)}"


def _job_loss(layout: Layout, placed: Placed, node: str) -> Iterator[Loss]:
    orphans = {(a.workload, a.replica) for a in placed.ci_placed if a.node == node}
    if not orphans:
        return
    jobs = [j for j in layout.jobs if (j.workload, j.replica) in orphans]
    survivors = [r for r in layout.runners if r.node != node]
    _, unplaced = ci.assign(jobs, survivors)
    for job in (j for j in jobs if any(u.workload == j.workload for u in unplaced)):
        labels = ", ".join(job.runs_on)
        yield Loss(job.workload, f"no other runner has every runs-on label [{labels}]")


def as_lists(report: Mapping[str, Mapping[str, str]]) -> dict[str, tuple[str, ...]]:
    """node → the workloads it would take down, in spec order."""
    return {node: tuple(losses) for node, losses in report.items()}
