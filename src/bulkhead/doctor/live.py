"""Reading the live layers: the cluster and the engine through the apply layer's adapters
(passed in, so the doctor never builds a second client), the gateway and Gitea over HTTP.

A layer that does not answer gives :class:`~bulkhead.doctor.inputs.Unread` ``unreachable``
with the reason; a gateway that does not answer on a reachable machine is a diagnosis, not a
blind spot. Tokens are sent, never printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from bulkhead.doctor.inputs import Json, Readiness, Unread
from bulkhead.doctor.model import State
from bulkhead.errors import BulkheadError
from bulkhead.spec.models import DockerEnvironment, Homelab, WorkloadClass
from bulkhead.spec.references import docker_address


class ClusterReader(Protocol):
    """Listing objects (the apply layer's ``KubeCluster`` is one)."""

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class ClusterReading:
    """Nodes, pods and events, or why they could not be read."""

    nodes: Sequence[Json] | Unread
    pods: Sequence[Json] | Unread
    events: Sequence[Json] | Unread


def read_cluster(reader: ClusterReader) -> ClusterReading:
    """Every node, pod and event of the cluster."""
    try:
        nodes = reader.list("v1", "Node")
        pods = reader.list("v1", "Pod")
        events = reader.list("v1", "Event")
    except BulkheadError as exc:
        gone = Unread(State.unreachable, str(exc))
        return ClusterReading(gone, gone, gone)
    return ClusterReading(nodes, pods, events)


def read_readiness(client: httpx.Client, url: str) -> Readiness:
    """The gateway's ``/readyz``; status 0 when it does not answer."""
    target = f"{url.rstrip('/')}/readyz"
    try:
        answer = client.get(target)
    except httpx.HTTPError as exc:
        return Readiness(0, type(exc).__name__, target)
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text[:200]
    return Readiness(answer.status_code, body, target)


def read_metrics(
    client: httpx.Client,
    url: str,
    *,
    scrapes: int = 2,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, ...] | Unread:
    """``scrapes`` scrapes of ``/metrics``, ``interval`` seconds apart (to see a queue grow)."""
    texts: list[str] = []
    for index in range(scrapes):
        if index:
            sleep(interval)
        try:
            answer = client.get(f"{url.rstrip('/')}/metrics")
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            return tuple(texts) or Unread(State.unreachable, f"/metrics: {type(exc).__name__}")
        texts.append(answer.text)
    return tuple(texts)


def read_gitea_runs(
    client: httpx.Client, url: str, repo: str, token: str | None
) -> Sequence[Json] | Unread:
    """The latest workflow runs of a repository (Gitea 1.24+ ``actions/runs``, else the older
    ``actions/tasks``)."""
    headers = {"Authorization": f"token {token}"} if token else {}
    base = f"{url.rstrip('/')}/api/v1/repos/{repo}/actions"
    for endpoint in ("runs", "tasks"):
        try:
            answer = client.get(f"{base}/{endpoint}", params={"limit": 50}, headers=headers)
        except httpx.HTTPError as exc:
            return Unread(State.unreachable, f"Gitea at {url}: {type(exc).__name__}")
        if answer.status_code == 404 and endpoint == "runs":
            continue
        if answer.status_code in (401, 403):
            return Unread(State.unreachable, f"Gitea refused the token ({answer.status_code})")
        if answer.status_code != 200:
            return Unread(State.unreachable, f"Gitea answered {answer.status_code}")
        runs = answer.json().get("workflow_runs")
        return runs if isinstance(runs, list) else []
    return Unread(State.unreachable, f"{repo}: Gitea serves no actions API for it")


def gateway_url(spec: Homelab, environment: str) -> str | None:
    """Where the gateway listens, from the spec: the gpu-service of ``environment`` whose
    health check is ``/readyz``, on the address the cluster reaches the machine at."""
    env = spec.environments.get(environment)
    if not isinstance(env, DockerEnvironment):
        return None
    address = docker_address(env)
    for workload in spec.workloads.values():
        health = workload.health
        mine = workload.environment in (None, environment)
        if workload.class_ is WorkloadClass.gpu_service and mine and health is not None:
            port = workload.ports.get(health.port) if isinstance(health.port, str) else health.port
            if health.path == "/readyz" and port and address:
                return f"http://{address}:{port}"
    return None
