"""NetworkPolicies: default-deny in every namespace, then exactly the declared edges.

Per namespace: ``default-deny`` (every pod, ingress and egress, no rules) and ``allow-dns``
(every pod may reach kube-system's ``k8s-app=kube-dns`` on UDP and TCP 53, the namespace named
by ``kubernetes.io/metadata.name``, which the API server sets on every namespace). Per declared
``uses`` edge between cluster workloads, two policies, one on each side, because a policy only
opens its own side: ``<client>-to-<server>`` (egress) in the client's namespace and
``<server>-from-<client>`` (ingress) in the server's. Per ``ingress``: ``<name>-from-traefik``
from kube-system's ``app.kubernetes.io/name=traefik`` pods on the routed port. Per api that a
cluster workload uses and a docker environment provides: ``<client>-to-<api>``, egress to that
machine's address (``/32``) and the api's port only.

One edge bulkhead adds on its own: a ``ci-runner`` runs the rendered ``deploy-<cluster>``
workflow, so it may reach the Kubernetes API server (TCP 6443; node addresses are not in the
spec, hence any address). Peers always name their namespace, even in the same namespace, so a
policy reads the same wherever it is applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bulkhead.render.view import View, ip_cidr, selector
from bulkhead.spec.models import WorkloadClass

Obj = dict[str, Any]
NAMESPACE_NAME = "kubernetes.io/metadata.name"
ANYWHERE = "0.0.0.0/0"
API_SERVER_PORT = 6443
DNS_PEER: Obj = {
    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
TRAEFIK_PEER: Obj = {
    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: "kube-system"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "traefik"}},
}


def policy(view: View, name: str, namespace: str, spec: Obj) -> Obj:
    """A NetworkPolicy with the bulkhead labels."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": view.common_labels()},
        "spec": spec,
    }


def namespace_policies(view: View, namespace: str) -> list[Obj]:
    """Deny everything, then let every pod resolve names."""
    deny = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns_ports = [{"protocol": proto, "port": 53} for proto in ("UDP", "TCP")]
    dns = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [DNS_PEER], "ports": dns_ports}],
    }
    return [
        policy(view, "default-deny", namespace, deny),
        policy(view, "allow-dns", namespace, dns),
    ]


def workload_policies(view: View, env: str, name: str) -> list[Obj]:
    """Every allow that concerns one cluster workload's pods."""
    return [
        *_ingress_from_clients(view, name),
        *_ingress_from_traefik(view, name),
        *_egress_to_servers(view, name),
        *_egress_to_apis(view, env, name),
        *_egress_to_api_server(view, name),
    ]


def tcp(ports: Iterator[int] | list[int] | tuple[int, ...]) -> list[Obj]:
    """NetworkPolicy ports for TCP port numbers, sorted and unique."""
    return [{"protocol": "TCP", "port": number} for number in sorted(set(ports))]


def pod_peer(view: View, name: str) -> Obj:
    """The pods of a workload, wherever its namespace is."""
    namespace = view.namespace_of(name)
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME: namespace}},
        "podSelector": {"matchLabels": selector(name)},
    }


def _ingress_from_clients(view: View, name: str) -> Iterator[Obj]:
    for client, ports in view.clients_of(name):
        rule = {"from": [pod_peer(view, client)], "ports": tcp([p.number for p in ports])}
        spec = _selecting(name, "Ingress") | {"ingress": [rule]}
        yield policy(view, f"{name}-from-{client}", view.namespace_of(name), spec)


def _ingress_from_traefik(view: View, name: str) -> Iterator[Obj]:
    workload = view.spec.workloads[name]
    if workload.ingress is None:
        return
    port = workload.ingress.port
    number = port if isinstance(port, int) else workload.ports[port]
    rule = {"from": [TRAEFIK_PEER], "ports": tcp([number])}
    spec = _selecting(name, "Ingress") | {"ingress": [rule]}
    yield policy(view, f"{name}-from-traefik", view.namespace_of(name), spec)


def _egress_to_servers(view: View, name: str) -> Iterator[Obj]:
    for server, ports in view.servers_of(name):
        rule = {"to": [pod_peer(view, server)], "ports": tcp([p.number for p in ports])}
        spec = _selecting(name, "Egress") | {"egress": [rule]}
        yield policy(view, f"{name}-to-{server}", view.namespace_of(name), spec)


def off_cluster_apis(view: View, env: str, name: str) -> dict[str, tuple[str, int]]:
    """api → (address, port) for each api ``name`` uses that a docker environment serves."""
    if view.environment_of(name) != env:
        return {}
    found: dict[str, tuple[str, int]] = {}
    for edge in view.edges_from(name):
        address = view.api_address(edge.api) if edge.api else None
        if edge.api and address:
            found[edge.api] = (address, edge.ports[0].number)
    return found


def _egress_to_apis(view: View, env: str, name: str) -> Iterator[Obj]:
    namespace = view.namespace_of(name)
    for api, (address, port) in off_cluster_apis(view, env, name).items():
        rule = {"to": [{"ipBlock": {"cidr": ip_cidr(address)}}], "ports": tcp([port])}
        spec = _selecting(name, "Egress") | {"egress": [rule]}
        yield policy(view, f"{name}-to-{api}", namespace, spec)


def _egress_to_api_server(view: View, name: str) -> Iterator[Obj]:
    workload = view.spec.workloads[name]
    if workload.class_ is not WorkloadClass.ci_runner:
        return
    rule = {"to": [{"ipBlock": {"cidr": ANYWHERE}}], "ports": tcp([API_SERVER_PORT])}
    spec = _selecting(name, "Egress") | {"egress": [rule]}
    yield policy(view, f"{name}-to-kube-apiserver", view.namespace_of(name), spec)


def _selecting(name: str, direction: str) -> Obj:
    return {"podSelector": {"matchLabels": selector(name)}, "policyTypes": [direction]}
