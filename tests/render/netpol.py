"""A small NetworkPolicy evaluator: who can open which port on whom, from rendered objects only.

Semantics (networking.k8s.io/v1, as kube-router enforces them):

- a pod is isolated for a direction when some policy in its namespace selects it (an empty
  ``podSelector`` selects every pod) and lists that direction in ``policyTypes`` (absent:
  Ingress, plus Egress when the policy has egress rules); an isolated pod allows only what some
  selecting policy's rules allow, so ``policyTypes`` with no rules denies everything;
- a connection needs the source's egress and the destination's ingress to allow it;
- a rule without ``from``/``to`` matches every peer, without ``ports`` every port;
- a peer with ``podSelector`` only means pods of the policy's own namespace; with
  ``namespaceSelector`` it matches namespace labels (``kubernetes.io/metadata.name`` is set on
  every namespace by the API server); with both, both; ``ipBlock`` matches by address (pods
  included, the conservative reading: kube-router matches pod IPs against ipBlocks too);
- a port is a number, a named container port of the destination, or a range with ``endPort``;
  the protocol defaults to TCP.

Reachability is asked only for ports the destination actually listens on (a pod's container
ports; any probed port for a host outside the cluster).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    """A pod (one stands for all replicas): identity, namespace, labels, IP, listening ports."""

    ident: str
    namespace: str
    labels: Mapping[str, str]
    ip: str
    ports: tuple[tuple[str, int, str], ...]  # (name, number, protocol)


@dataclass(frozen=True)
class Host:
    """An address outside the cluster."""

    ident: str
    ip: str


Endpoint = Pod | Host


@dataclass
class Network:
    """Namespaces, pods and policies of a cluster, and the evaluation."""

    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    policies: list[Obj] = field(default_factory=list)

    def allowed(self, src: Pod, dst: Endpoint, port: int, protocol: str) -> bool:
        """Whether ``src`` can open ``port``/``protocol`` on ``dst``."""
        out = self._side_allows(src, "Egress", dst, port, protocol, dst)
        if not out or isinstance(dst, Host):
            return out
        return self._side_allows(dst, "Ingress", src, port, protocol, dst)

    def _side_allows(
        self, pod: Pod, direction: str, peer: Endpoint, port: int, protocol: str, target: Endpoint
    ) -> bool:
        selecting = [p for p in self.policies if self._isolates(p, pod, direction)]
        if not selecting:
            return True
        key = "ingress" if direction == "Ingress" else "egress"
        peers_key = "from" if direction == "Ingress" else "to"
        return any(
            self._rule_matches(rule, peers_key, policy, peer, port, protocol, target)
            for policy in selecting
            for rule in policy["spec"].get(key) or []
        )

    def _isolates(self, policy: Obj, pod: Pod, direction: str) -> bool:
        spec = policy["spec"]
        if policy["metadata"]["namespace"] != pod.namespace:
            return False
        types = spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]
        return direction in types and selects(spec.get("podSelector") or {}, pod.labels)

    def _rule_matches(
        self,
        rule: Obj,
        peers_key: str,
        policy: Obj,
        peer: Endpoint,
        port: int,
        protocol: str,
        target: Endpoint,
    ) -> bool:
        peers = rule.get(peers_key) or []
        namespace = policy["metadata"]["namespace"]
        peer_ok = not peers or any(self._peer_matches(p, namespace, peer) for p in peers)
        ports = rule.get("ports") or []
        port_ok = not ports or any(port_matches(p, port, protocol, target) for p in ports)
        return peer_ok and port_ok

    def _peer_matches(self, peer: Obj, namespace: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            return in_block(peer["ipBlock"], other.ip)
        if not isinstance(other, Pod):
            return False
        if "namespaceSelector" in peer:
            labels = self.namespaces.get(other.namespace, {})
            ns_ok = selects(peer["namespaceSelector"], labels)
        else:
            ns_ok = other.namespace == namespace
        pod_ok = "podSelector" not in peer or selects(peer["podSelector"], other.labels)
        return ns_ok and pod_ok


def selects(selector: Obj, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics; an empty selector selects everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression(e, labels) for e in selector.get("matchExpressions") or [])


def _expression(expression: Obj, labels: Mapping[str, str]) -> bool:
    key, operator = expression["key"], expression["operator"]
    values = expression.get("values") or []
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise ValueError(f"unknown operator {operator}")


def in_block(block: Obj, address: str) -> bool:
    """Inside ``cidr`` and outside every ``except``."""
    ip = ipaddress.ip_address(address)
    if ip not in ipaddress.ip_network(block["cidr"]):
        return False
    return not any(ip in ipaddress.ip_network(e) for e in block.get("except") or [])


def port_matches(entry: Obj, port: int, protocol: str, target: Endpoint) -> bool:
    """A NetworkPolicyPort against a destination port."""
    if entry.get("protocol", "TCP") != protocol:
        return False
    wanted = entry.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):
        named = [n for name, n, proto in getattr(target, "ports", ()) if name == wanted]
        return port in named
    return wanted <= port <= entry.get("endPort", wanted)


def network_of(
    objects: Iterable[Obj], kube_system: Iterable[Pod], *, cidr: str = "10.42.0.0/16"
) -> Network:
    """The network of rendered objects, plus the given kube-system pods."""
    addresses = ipaddress.ip_network(cidr).hosts()
    network = Network(namespaces={"kube-system": {NAME_LABEL: "kube-system"}})
    network.pods.extend(kube_system)
    for obj in objects:
        kind = obj["kind"]
        if kind == "Namespace":
            name = obj["metadata"]["name"]
            # the API server sets this label on every namespace, whatever the manifest says
            network.namespaces[name] = {**obj["metadata"].get("labels", {}), NAME_LABEL: name}
        elif kind == "NetworkPolicy":
            network.policies.append(obj)
        elif kind in ("Deployment", "StatefulSet", "CronJob"):
            network.pods.append(_pod(obj, str(next(addresses))))
    return network


def _pod(obj: Obj, ip: str) -> Pod:
    template = obj["spec"]["template"] if obj["kind"] != "CronJob" else None
    if template is None:
        template = obj["spec"]["jobTemplate"]["spec"]["template"]
    labels = template["metadata"]["labels"]
    ports = tuple(
        (p.get("name", ""), p["containerPort"], p.get("protocol", "TCP"))
        for c in template["spec"]["containers"]
        for p in c.get("ports", [])
    )
    ident = (
        obj["metadata"]["name"] if obj["kind"] != "CronJob" else f"backup:{obj['metadata']['name']}"
    )
    return Pod(ident, obj["metadata"]["namespace"], labels, ip, ports)


def matrix(network: Network, hosts: Iterable[Host], host_ports: Iterable[int]) -> set[tuple]:
    """Every (source, destination, port, protocol) the policies allow, bulkhead's pods only.

    Sources are every pod; destinations every pod (on its listening ports) and every host (on
    ``host_ports``, TCP). Pairs with neither end in a bulkhead namespace are left out: nothing
    bulkhead renders governs them.
    """
    found: set[tuple] = set()
    hosts = list(hosts)
    host_ports = sorted(set(host_ports))
    for src in network.pods:
        for dst in network.pods:
            if src is dst or (src.namespace == dst.namespace == "kube-system"):
                continue
            for _, number, protocol in dst.ports:
                if network.allowed(src, dst, number, protocol):
                    found.add((src.ident, dst.ident, number, protocol))
        if src.namespace == "kube-system":
            continue
        for host in hosts:
            for number in host_ports:
                if network.allowed(src, host, number, "TCP"):
                    found.add((src.ident, host.ident, number, "TCP"))
    return found
