"""NET: network. Something enforces NetworkPolicy, sensitive namespaces have no side doors, and
ingress hosts are unique and under the cluster's domain."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, K3sEnvironment, Severity, Workload


def policy_enforced(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A k3s environment runs k3s's embedded NetworkPolicy controller."""
    for env_name, env in spec.environments.items():
        if isinstance(env, K3sEnvironment) and env.network_policy == "none":
            where = facts.where(spec, "environments", env_name, "networkPolicy")
            yield Hit(where, f"environment {env_name} enforces no NetworkPolicy")


def sensitive_side_doors(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A workload in a sensitive namespace is reachable only through declared uses."""
    for name, workload in facts.workloads(spec):
        namespace = spec.namespaces.get(workload.namespace or "")
        if namespace is None or not namespace.sensitive:
            continue
        for key, what in _side_doors(workload):
            message = f"{name} is in the sensitive namespace {workload.namespace} but {what}"
            yield Hit(facts.at(spec, name, *key), message, name)


def _side_doors(workload: Workload) -> Iterator[tuple[tuple[str, ...], str]]:
    if workload.ingress is not None:
        yield ("ingress",), f"has an ingress ({workload.ingress.host}) open to anyone"
    if workload.host_ports:
        yield ("hostPorts",), "publishes host ports that reach it past its NetworkPolicy"
    if workload.security.host_network:
        yield ("security", "hostNetwork"), "uses the host network, where no NetworkPolicy applies"


def unique_hosts(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """No two workloads claim the same ingress host."""
    first: dict[str, str] = {}
    for name, workload in facts.workloads(spec):
        if workload.ingress is None:
            continue
        host = workload.ingress.host.lower()
        if host in first:
            line = facts.at(spec, first[host], "ingress", "host").line
            message = f"{name}'s ingress host {host} is already {first[host]}'s (line {line})"
            yield Hit(facts.at(spec, name, "ingress", "host"), message, name)
        else:
            first[host] = name


def hosts_under_domain(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Every ingress host sits under the ingress domain of its cluster."""
    for name, workload in facts.workloads(spec):
        env = spec.environments.get(facts.environment_of(spec, placement, name) or "")
        if workload.ingress is None or not isinstance(env, K3sEnvironment):
            continue
        domain, host = env.ingress.domain, workload.ingress.host.lower()
        if domain and host != domain.lower() and not host.endswith("." + domain.lower()):
            message = f"{name}'s ingress host {host} is not under the domain {domain}"
            yield Hit(facts.at(spec, name, "ingress", "host"), message, name)


RULES = (
    Rule(
        id="BH-NET-001",
        title="NetworkPolicy is enforced",
        severity=Severity.error,
        summary="Reports a k3s environment declared with networkPolicy: none.",
        rationale=(
            "bulkhead's separation inside the cluster is default-deny NetworkPolicy plus the "
            "declared edges. With k3s started as --disable-network-policy nothing enforces those "
            "objects: they apply cleanly and do nothing, so every pod can reach every other."
        ),
        example="environments:\n  cluster:\n    type: k3s\n    networkPolicy: none",
        fix=(
            "Run k3s with its embedded NetworkPolicy controller (drop --disable-network-policy) "
            "and set networkPolicy: embedded."
        ),
        check=policy_enforced,
    ),
    Rule(
        id="BH-NET-002",
        title="Sensitive namespaces have no side doors",
        severity=Severity.error,
        summary=(
            "Reports a workload in a sensitive namespace that has an ingress, publishes host "
            "ports or uses the host network."
        ),
        rationale=(
            "A sensitive namespace is reached only by workloads that declare uses on something "
            "in it. An ingress lets anyone on the network in, a host port skips NetworkPolicy, "
            "and a host-network pod is outside it altogether."
        ),
        example=(
            "namespaces:\n  data: {sensitive: true}\nworkloads:\n  postgres:\n"
            "    namespace: data\n    hostPorts: {pg: 5432}"
        ),
        fix=(
            "Remove the ingress, hostPorts or hostNetwork; let clients declare uses: [postgres] "
            "and reach it through its Service."
        ),
        check=sensitive_side_doors,
    ),
    Rule(
        id="BH-NET-003",
        title="Ingress hosts are unique",
        severity=Severity.error,
        summary="Reports an ingress host already claimed by another workload.",
        rationale=(
            "Two Ingresses with the same host make Traefik pick one router by priority: one "
            "service silently receives the other's traffic."
        ),
        example=(
            "workloads:\n  a: {ingress: {host: app.lab.home, port: http}}\n"
            "  b: {ingress: {host: app.lab.home, port: http}}"
        ),
        fix="Give each workload its own host (b.lab.home), or route paths in one workload.",
        check=unique_hosts,
    ),
    Rule(
        id="BH-NET-004",
        title="Ingress hosts are under the cluster's domain",
        severity=Severity.error,
        summary=(
            "Reports an ingress host that is neither the cluster's ingress domain nor a name "
            "under it."
        ),
        rationale=(
            "Only names under the declared domain resolve to the cluster's ingress (and its "
            "certificates); any other host is a route nobody can reach, or one meant for another "
            "network."
        ),
        example=(
            "environments:\n  cluster: {ingress: {domain: lab.home}}\n"
            "workloads:\n  web: {ingress: {host: web.example.com, port: http}}"
        ),
        fix="Use a host under the domain (web.lab.home), or correct ingress.domain.",
        check=hosts_under_domain,
    ),
)
