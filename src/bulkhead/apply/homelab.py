"""A homelab's live targets: its rendered state, its cluster and its Docker engines.

What the ``apply``, ``diff`` and ``doctor`` verbs share: place and render the spec (refusing,
exit 2, when a workload does not fit — deploying half a plan would mislead), read the secrets
the chosen environments need (refusing, exit 3, before any change when one does not resolve),
find the k3s environment and the docker environments, and open the adapters for them (the
kubeconfig context checked against the spec).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2

from bulkhead.apply.kube import KubeCluster, choose_context, connect, load_kubeconfig
from bulkhead.apply.secrets import (
    SecretFile,
    Values,
    plan_secrets,
    resolve_values,
    secret_objects,
)
from bulkhead.errors import BulkheadError, Problem, SpecError
from bulkhead.placement import plan
from bulkhead.render import render_cluster_objects, render_compose
from bulkhead.spec.models import DockerEnvironment, Homelab, K3sEnvironment


class Unplaceable(BulkheadError):
    """Some workload does not fit: nothing is applied (``bulkhead plan`` explains)."""

    exit_code = 2


@dataclass(frozen=True)
class Rendered:
    """What the spec renders for the live layers; with :func:`with_secrets`, also the Secret
    objects among ``objects``, each docker environment's secret files, and the values."""

    spec: Homelab
    objects: tuple[dict[str, Any], ...] = field(repr=False)
    compose: Mapping[str, dict[str, Any]]
    files: Mapping[str, tuple[SecretFile, ...]] = field(default_factory=dict)
    values: Values = field(default_factory=Values, repr=False)

    @property
    def homelab(self) -> str:
        """The homelab's name: the value of the inventory label."""
        return self.spec.metadata.name


def render(spec: Homelab) -> Rendered:
    """Place and render; raise :class:`Unplaceable` when a replica finds no node."""
    placement = plan(spec)
    if not placement.ok:
        lines = [f"{u.workload}/{u.replica}: {u.kubernetes}" for u in placement.unplaced]
        raise Unplaceable("not applied, some workloads do not fit:\n  " + "\n  ".join(lines))
    objects = tuple(render_cluster_objects(spec, placement))
    return Rendered(spec, objects, render_compose(spec, placement))


def with_secrets(rendered: Rendered, only: Sequence[str] = ()) -> Rendered:
    """Read the secrets that the chosen environments' render refers to (SecretError, every
    problem located, before anything is changed) and add what holds them."""
    spec = rendered.spec
    objects = rendered.objects if cluster_environment(spec, only) else ()
    compose = {n: rendered.compose.get(n, {}) for n in docker_environments(spec, only)}
    plan = plan_secrets(spec, objects, compose)
    values = resolve_values(spec, plan.names())
    secrets = secret_objects(rendered.homelab, plan.cluster, values)
    return replace(
        rendered, objects=(*rendered.objects, *secrets), files=plan.docker, values=values
    )


def cluster_environment(spec: Homelab, only: Sequence[str] = ()) -> str | None:
    """The k3s environment to apply to (bulkhead applies one cluster per homelab)."""
    names = [n for n, e in spec.environments.items() if isinstance(e, K3sEnvironment)]
    if len(names) > 1:
        where = spec.locate("environments", names[1])
        raise SpecError([Problem(where, "bulkhead apply supports one k3s environment")])
    chosen = [n for n in names if not only or n in only]
    return chosen[0] if chosen else None


def docker_environments(spec: Homelab, only: Sequence[str] = ()) -> dict[str, DockerEnvironment]:
    """The docker environments to deploy, by name."""
    return {
        name: env
        for name, env in spec.environments.items()
        if isinstance(env, DockerEnvironment) and (not only or name in only)
    }


def unknown_environments(spec: Homelab, only: Sequence[str]) -> list[str]:
    """Names passed with ``--env`` that the spec does not declare."""
    return [name for name in only if name not in spec.environments]


def open_cluster(
    environment: str,
    context: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx2.BaseTransport | None = None,
) -> KubeCluster:
    """The cluster adapter for the chosen kubeconfig context (refusing one not named)."""
    config = load_kubeconfig(os.environ if environ is None else environ)
    target = choose_context(config, context, environment)
    return connect(config, target, transport=transport)
