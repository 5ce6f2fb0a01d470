"""Run every environment's placement once over a :class:`~.layout.Layout`.

:func:`place` schedules each k3s cluster with the K3s profile, every docker workload over the
pooled docker machines, and every ci-job onto the runners. :func:`assignments` and
:func:`explanations` turn the outcome into result values: the bindings, and for every pod left
over the Kubernetes line plus every failing predicate on every node.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from bulkhead.placement import ci
from bulkhead.placement.docker import DOCKER
from bulkhead.placement.k3s import K3S
from bulkhead.placement.layout import Layout
from bulkhead.placement.model import Cluster, NodeState
from bulkhead.placement.result import Assignment, EnvKind, Unplaced
from bulkhead.placement.scheduler import Outcome, Profile, explain, schedule


@dataclass(frozen=True)
class Placed:
    """Where everything went, per environment kind."""

    clusters: Mapping[str, Outcome]  # k3s environment → its outcome
    docker: Outcome
    ci_placed: tuple[Assignment, ...]
    ci_unplaced: tuple[Unplaced, ...]

    def outcomes(self) -> Iterator[tuple[Profile, str | None, Outcome]]:
        """Every scheduled outcome with its profile and (k3s) environment."""
        for env, outcome in self.clusters.items():
            yield K3S, env, outcome
        yield DOCKER, None, self.docker


def place(layout: Layout) -> Placed:
    """Place every pod and job of the layout."""
    clusters = {
        env: schedule(layout.cluster_pods.get(env, ()), cluster, K3S, layout.cache)
        for env, cluster in layout.clusters.items()
    }
    docker = schedule(layout.docker_pods, layout.machines, DOCKER, layout.cache)
    ci_placed, ci_unplaced = ci.assign(layout.jobs, layout.runners)
    return Placed(clusters, docker, ci_placed, ci_unplaced)


def assignments(layout: Layout, placed: Placed) -> tuple[Assignment, ...]:
    """Every binding, in spec order of workloads, then by replica."""
    found = [
        _assignment(profile.kind, pod.workload, pod.replica, outcome.cluster[node])
        for profile, _, outcome in placed.outcomes()
        for pod, node in outcome.placed
    ]
    found.extend(placed.ci_placed)
    return tuple(sorted(found, key=lambda a: (layout.order(a.workload), a.replica)))


def _assignment(kind: EnvKind, workload: str, replica: int, state: NodeState) -> Assignment:
    gpus = state.devices.get(f"{workload}/{replica}", ())
    return Assignment(workload, replica, state.node.environment, kind, state.name, gpus=gpus)


def explanations(layout: Layout, placed: Placed) -> list[Unplaced]:
    """Every replica left over, explained, in spec order."""
    found = [*_refused(layout), *placed.ci_unplaced]
    for profile, env, outcome in placed.outcomes():
        empty = layout.clusters[env] if env is not None else layout.machines
        found.extend(_explain_all(outcome, empty, profile, env))
    return sorted(found, key=lambda u: (layout.order(u.workload), u.replica))


def _explain_all(
    outcome: Outcome, empty: Cluster, profile: Profile, env: str | None
) -> Iterator[Unplaced]:
    for pod in outcome.pending:
        where = env or (pod.environments[0] if pod.environments else "")
        yield explain(pod, outcome.cluster, empty, profile, where)


def _refused(layout: Layout) -> Iterator[Unplaced]:
    for name, refusal in layout.refusals().items():
        for replica in range(layout.spec.workloads[name].replicas):
            yield Unplaced(
                workload=name,
                replica=replica,
                environment=refusal.environment,
                kind=refusal.kind,
                kubernetes=refusal.message,
                failures=(),
                unresolvable=True,
            )
