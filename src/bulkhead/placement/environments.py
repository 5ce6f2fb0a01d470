"""Right workload, right environment: which environment(s) a workload may land in.

By class: service, database, cache and ci-runner go to the k3s environment (the first one
declared, when there are several); gpu-service and gpu-batch to the docker environments that
have a GPU (all of them are one pool); a ci-job to the Gitea runners (all gitea environments
pooled). An ``environment:`` override is honoured where it is possible and refused, with the
reason, where it is not: a ci-job runs only on a Gitea runner and nothing else does; GPU work
(``gpu > 0``) cannot go to a k3s environment (bulkhead's k3s nodes have no GPUs) nor to a
docker environment without one. Refusing is placement's part; the separation checks still
flag a service sent to the GPU machine, which is possible but unwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from bulkhead.placement.result import EnvKind
from bulkhead.spec.models import (
    DockerEnvironment,
    GiteaEnvironment,
    Homelab,
    K3sEnvironment,
    Workload,
    WorkloadClass,
)
from bulkhead.spec.references import CLUSTER_CLASSES

GPU_CLASSES = frozenset({WorkloadClass.gpu_service, WorkloadClass.gpu_batch})


@dataclass(frozen=True)
class Target:
    """The environments a workload may land in (one, or a pool of the same kind)."""

    kind: EnvKind
    environments: tuple[str, ...]


@dataclass(frozen=True)
class Refusal:
    """A workload that has nowhere to go, and why."""

    environment: str | None
    kind: EnvKind | None
    message: str


def target(spec: Homelab, name: str) -> Target | Refusal:
    """Where workload ``name`` may land, or why it may land nowhere."""
    workload = spec.workloads[name]
    if workload.environment is not None:
        return _override(spec, workload, workload.environment)
    return _by_class(spec, workload)


def _kind(env: K3sEnvironment | DockerEnvironment | GiteaEnvironment) -> EnvKind:
    return EnvKind(env.type)


def _by_class(spec: Homelab, workload: Workload) -> Target | Refusal:
    klass = workload.class_
    if klass in CLUSTER_CLASSES:
        return _first(spec, EnvKind.k3s, f"a {klass.value} runs in a k3s cluster")
    if klass in GPU_CLASSES:
        pool = tuple(n for n, e in spec.environments.items() if _has_gpu(e))
        why = f"a {klass.value} runs on a docker machine with a GPU, and none is declared"
        return Target(EnvKind.docker, pool) if pool else Refusal(None, EnvKind.docker, why)
    pool = _of_kind(spec, EnvKind.gitea)
    why = "a ci-job runs on a Gitea runner, and no gitea environment is declared"
    return Target(EnvKind.gitea, pool) if pool else Refusal(None, EnvKind.gitea, why)


def _first(spec: Homelab, kind: EnvKind, what: str) -> Target | Refusal:
    pool = _of_kind(spec, kind)
    if not pool:
        return Refusal(None, kind, f"{what}, and no {kind.value} environment is declared")
    return Target(kind, pool[:1])


def _of_kind(spec: Homelab, kind: EnvKind) -> tuple[str, ...]:
    return tuple(name for name, env in spec.environments.items() if _kind(env) is kind)


def _has_gpu(env: K3sEnvironment | DockerEnvironment | GiteaEnvironment) -> bool:
    return isinstance(env, DockerEnvironment) and any(n.gpus for n in env.nodes.values())


def _override(spec: Homelab, workload: Workload, env_name: str) -> Target | Refusal:
    env = spec.environments[env_name]
    kind = _kind(env)
    refusal = _override_refusal(workload, env_name, env)
    return Refusal(env_name, kind, refusal) if refusal else Target(kind, (env_name,))


def _override_refusal(
    workload: Workload,
    env_name: str,
    env: K3sEnvironment | DockerEnvironment | GiteaEnvironment,
) -> str | None:
    klass = workload.class_.value
    is_job = workload.class_ is WorkloadClass.ci_job
    gpus = workload.resources.gpu
    if isinstance(env, GiteaEnvironment) and not is_job:
        return f"environment {env_name!r} is Gitea: only a ci-job runs on its runners"
    if is_job and not isinstance(env, GiteaEnvironment):
        return f"a ci-job runs on a Gitea runner; {env_name!r} is a {env.type} environment"
    if isinstance(env, K3sEnvironment) and gpus:
        return f"{env_name!r} is a k3s cluster without GPUs; this {klass} needs {gpus} GPU(s)"
    if isinstance(env, DockerEnvironment) and gpus and not _has_gpu(env):
        return f"{env_name!r} has no GPU; this {klass} needs {gpus} GPU(s)"
    return None
