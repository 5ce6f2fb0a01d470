"""What every renderer asks of a spec and its placement, answered once: a frozen :class:`View`.

Where each workload runs (environment, nodes), which workloads a k3s or docker environment
holds, the declared edges (``uses`` resolved to a server workload and its ports, directly or
through an api), where an off-cluster api is reached, and the names and labels that every
rendered object shares. Renderers never walk the spec for these facts themselves.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from functools import cached_property

from bulkhead.placement.result import Assignment, PlacementResult
from bulkhead.spec.models import (
    DockerEnvironment,
    GiteaEnvironment,
    Homelab,
    K3sEnvironment,
    Workload,
    WorkloadClass,
)
from bulkhead.spec.references import docker_address

MANAGED_BY = "app.kubernetes.io/managed-by"
HOMELAB = "bulkhead.dev/homelab"
WORKLOAD = "bulkhead.dev/workload"
TIER = "bulkhead.dev/storage-tier"
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Port:
    """A named TCP port of a workload."""

    name: str
    number: int


@dataclass(frozen=True)
class Edge:
    """A declared ``uses``: ``client`` opens ``ports`` on ``server`` (through ``api`` if set)."""

    client: str
    server: str
    ports: tuple[Port, ...]
    api: str | None = None


@dataclass(frozen=True)
class View:
    """A spec and its placement, with the lookups renderers share."""

    spec: Homelab
    placement: PlacementResult

    @property
    def name(self) -> str:
        """The homelab's name (``metadata.name``)."""
        return self.spec.metadata.name

    def environment_of(self, workload: str) -> str | None:
        """The environment a workload runs in, by the placement; None when it has none."""
        return self._environments.get(workload)

    @cached_property
    def _environments(self) -> dict[str, str]:
        found = {a.workload: a.environment for a in self.placement.assignments}
        return found | dict(self.placement.environments)

    def namespace_of(self, workload: str) -> str:
        """The namespace of a cluster workload (the spec requires one)."""
        return self.spec.workloads[workload].namespace or "default"

    def nodes_of(self, workload: str) -> tuple[str, ...]:
        """The node of each placed replica, in replica order."""
        return tuple(a.node for a in self._assignments.get(workload, ()))

    @cached_property
    def _assignments(self) -> dict[str, list[Assignment]]:
        by_workload: dict[str, list[Assignment]] = {}
        for assignment in sorted(self.placement.assignments, key=lambda a: a.replica):
            by_workload.setdefault(assignment.workload, []).append(assignment)
        return by_workload

    def assignments_of(self, workload: str) -> tuple[Assignment, ...]:
        """The placed replicas of a workload, in replica order."""
        return tuple(self._assignments.get(workload, ()))

    def in_environment(self, env: str) -> dict[str, Workload]:
        """The workloads that run in ``env``, in spec order."""
        return {n: w for n, w in self.spec.workloads.items() if self.environment_of(n) == env}

    def k3s(self) -> dict[str, K3sEnvironment]:
        """The k3s environments by name."""
        return {n: e for n, e in self.spec.environments.items() if isinstance(e, K3sEnvironment)}

    def docker(self) -> dict[str, DockerEnvironment]:
        """The docker environments by name."""
        envs = self.spec.environments.items()
        return {n: e for n, e in envs if isinstance(e, DockerEnvironment)}

    def gitea(self) -> dict[str, GiteaEnvironment]:
        """The gitea environments by name."""
        envs = self.spec.environments.items()
        return {n: e for n, e in envs if isinstance(e, GiteaEnvironment)}

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        """Every declared ``uses`` resolved to a server workload, in spec order."""
        found: list[Edge] = []
        for client, workload in self.spec.workloads.items():
            found.extend(e for used in workload.uses if (e := self._edge(client, used)))
        return tuple(found)

    def _edge(self, client: str, used: str) -> Edge | None:
        if used in self.spec.workloads:
            return Edge(client, used, ports_of(self.spec.workloads[used]))
        api = self.spec.apis.get(used)
        provider = self.spec.workloads.get(api.provider) if api else None
        if api is None or provider is None or api.port not in provider.ports:
            return None
        return Edge(client, api.provider, (Port(api.port, provider.ports[api.port]),), used)

    def edges_from(self, client: str) -> tuple[Edge, ...]:
        """The declared edges of one client, in spec order."""
        return self._by_client.get(client, ())

    @cached_property
    def _by_client(self) -> dict[str, tuple[Edge, ...]]:
        grouped: dict[str, list[Edge]] = {}
        for edge in self.edges:
            grouped.setdefault(edge.client, []).append(edge)
        return {client: tuple(edges) for client, edges in grouped.items()}

    def local_edges(self) -> dict[tuple[str, str], tuple[Port, ...]]:
        """(client, server) → ports, for edges with both ends in one environment and a port.

        An edge to a workload without ports opens nothing (a policy rule without ports would
        open them all), so it is left out; two edges to one server merge their ports.
        """
        merged: dict[tuple[str, str], tuple[Port, ...]] = {}
        for edge in self.edges:
            env = self.environment_of(edge.client)
            if env is None or env != self.environment_of(edge.server) or not edge.ports:
                continue
            key = (edge.client, edge.server)
            merged[key] = tuple(dict.fromkeys((*merged.get(key, ()), *edge.ports)))
        return merged

    def clients_of(self, server: str) -> list[tuple[str, tuple[Port, ...]]]:
        """(client, ports) of the local edges into ``server``."""
        return self._local_index[1].get(server, [])

    def servers_of(self, client: str) -> list[tuple[str, tuple[Port, ...]]]:
        """(server, ports) of the local edges out of ``client``."""
        return self._local_index[0].get(client, [])

    @cached_property
    def _local_index(self) -> tuple[dict[str, list[tuple[str, tuple[Port, ...]]]], ...]:
        out: dict[str, list[tuple[str, tuple[Port, ...]]]] = {}
        into: dict[str, list[tuple[str, tuple[Port, ...]]]] = {}
        for (client, server), ports in self.local_edges().items():
            out.setdefault(client, []).append((server, ports))
            into.setdefault(server, []).append((client, ports))
        return out, into

    def api_address(self, api: str) -> str | None:
        """The IP an api's provider is reached on when it runs in a docker environment."""
        provider = self.spec.apis[api].provider
        env = self.spec.environments.get(self.environment_of(provider) or "")
        return docker_address(env) if isinstance(env, DockerEnvironment) else None

    def common_labels(self) -> dict[str, str]:
        """The labels every rendered object carries; apply uses the first two as inventory."""
        return {MANAGED_BY: "bulkhead", HOMELAB: self.name, "app.kubernetes.io/part-of": self.name}

    def workload_labels(self, name: str) -> dict[str, str]:
        """Recommended labels of a workload's objects and pods."""
        workload = self.spec.workloads[name]
        labels = {"app.kubernetes.io/name": name}
        labels["app.kubernetes.io/component"] = workload.class_.value
        version = image_version(workload.image)
        if version:
            labels["app.kubernetes.io/version"] = version
        return {**labels, **self.common_labels(), WORKLOAD: name}


def selector(name: str) -> dict[str, str]:
    """The pod selector of a workload: one label that bulkhead owns."""
    return {WORKLOAD: name}


def ports_of(workload: Workload) -> tuple[Port, ...]:
    """A workload's declared ports, in spec order."""
    return tuple(Port(name, number) for name, number in workload.ports.items())


def port_name(workload: Workload, port: str | int) -> str:
    """The name of a port given by name or number (references are resolved by the spec)."""
    if isinstance(port, str):
        return port
    return next((name for name, number in workload.ports.items() if number == port), str(port))


def image_version(image: str | None) -> str | None:
    """The tag of an image reference when it is a valid label value (no digest, not latest)."""
    if not image or "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    return tag if tag and tag != "latest" and _LABEL_VALUE.match(tag) else None


def is_database(workload: Workload) -> bool:
    """Databases run as StatefulSets on the fast tier."""
    return workload.class_ is WorkloadClass.database


def ip_cidr(address: str) -> str:
    """The single-host CIDR of an IP address (``/32`` or ``/128``)."""
    ip = ipaddress.ip_address(address)
    return f"{ip}/{ip.max_prefixlen}"


def shorten(text: str, limit: int = 63) -> str:
    """``text`` if it fits in ``limit`` characters, else a cut with an 8-hex hash of the whole."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: limit - 9].rstrip('-.')}-{digest}"
