"""The network reachability proof: what the rendered NetworkPolicies allow is exactly what the
spec declares (``uses`` between cluster workloads, apis served off-cluster, ingress from
Traefik, DNS, backups to their targets, a CI runner's Kubernetes API) — nothing more, nothing
less. The expected edges are computed here from the spec alone; the allowed ones by
:mod:`tests.render.netpol` from the rendered objects alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkhead.placement import PlacementResult, plan
from bulkhead.render import render_cluster_objects
from bulkhead.spec import Homelab, WorkloadClass, docker_address
from bulkhead.spec.models import DockerEnvironment, K3sEnvironment
from tests.render.netpol import Host, Network, Pod, matrix, network_of, selects
from tests.render.specs import spec_of

Obj = dict[str, Any]
Edge = tuple[str, str, int, str]
KUBE_SYSTEM = [
    Pod(
        "kube-dns",
        "kube-system",
        {"k8s-app": "kube-dns"},
        "10.42.255.1",
        (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")),
    ),
    Pod(
        "traefik",
        "kube-system",
        {"app.kubernetes.io/name": "traefik"},
        "10.42.255.2",
        (("web", 8000, "TCP"), ("websecure", 8443, "TCP")),
    ),
]
INTERNET = Host("host:203.0.113.10", "203.0.113.10")
LAN = Host("host:192.168.1.250", "192.168.1.250")


# --- the evaluator's own semantics, on the classic traps ---------------------------------


def _policy(namespace: str, spec: Obj) -> Obj:
    return {"metadata": {"name": "p", "namespace": namespace}, "spec": spec}


def _pods() -> tuple[Pod, Pod, Pod]:
    a = Pod("a", "one", {"app": "a"}, "10.42.0.1", (("http", 80, "TCP"),))
    b = Pod("b", "one", {"app": "b"}, "10.42.0.2", (("http", 80, "TCP"),))
    c = Pod("c", "two", {"app": "c"}, "10.42.0.3", (("http", 80, "TCP"),))
    return a, b, c


def _network(*policies: Obj) -> Network:
    a, b, c = _pods()
    names = {
        "one": {"kubernetes.io/metadata.name": "one"},
        "two": {"kubernetes.io/metadata.name": "two"},
    }
    return Network(names, [a, b, c], list(policies))


def test_empty_pod_selector_selects_every_pod() -> None:
    assert selects({}, {"anything": "x"})
    a, b, _ = _pods()
    network = _network(_policy("one", {"podSelector": {}, "policyTypes": ["Ingress"]}))
    assert not network.allowed(a, b, 80, "TCP")


def test_policy_types_without_rules_deny() -> None:
    a, _, c = _pods()
    network = _network(
        _policy("one", {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"]})
    )
    assert not network.allowed(a, c, 80, "TCP")
    assert network.allowed(c, a, 80, "TCP")  # ingress to a is not isolated


def test_pod_selector_alone_means_the_policy_namespace() -> None:
    a, b, c = _pods()
    rule = {"from": [{"podSelector": {}}]}
    network = _network(
        _policy("one", {"podSelector": {"matchLabels": {"app": "b"}}, "ingress": [rule]})
    )
    assert network.allowed(a, b, 80, "TCP")
    assert not network.allowed(c, b, 80, "TCP")


def test_namespace_selector_by_name_and_named_ports() -> None:
    a, b, c = _pods()
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "two"}}}
    rule = {"from": [peer], "ports": [{"port": "http"}]}
    network = _network(
        _policy("one", {"podSelector": {"matchLabels": {"app": "b"}}, "ingress": [rule]})
    )
    assert network.allowed(c, b, 80, "TCP")
    assert not network.allowed(a, b, 80, "TCP")
    assert not network.allowed(c, b, 80, "UDP")


def test_ip_block_with_except() -> None:
    a, b, _ = _pods()
    block = {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.42.0.0/16"]}}
    network = _network(
        _policy("one", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [block]}]})
    )
    assert network.allowed(a, INTERNET, 443, "TCP")
    assert not network.allowed(a, b, 80, "TCP")


# --- the proof ---------------------------------------------------------------------------


def _cluster_workloads(spec: Homelab, placement: PlacementResult) -> dict[str, str]:
    """Workload → namespace, for workloads that run in a k3s environment."""
    k3s = {n for n, e in spec.environments.items() if isinstance(e, K3sEnvironment)}
    return {
        name: workload.namespace or "default"
        for name, workload in spec.workloads.items()
        if placement.environments.get(name) in k3s and workload.class_ is not WorkloadClass.ci_job
    }


def _address_of_api(spec: Homelab, placement: PlacementResult, api: str) -> str | None:
    env = spec.environments.get(placement.environments.get(spec.apis[api].provider, ""))
    return docker_address(env) if isinstance(env, DockerEnvironment) else None


def _use_edges(spec: Homelab, placement: PlacementResult, client: str) -> Iterable[Edge]:
    cluster = _cluster_workloads(spec, placement)
    for used in spec.workloads[client].uses:
        if used in spec.workloads and used in cluster:
            yield from ((client, used, n, "TCP") for n in spec.workloads[used].ports.values())
        elif used in spec.apis:
            api = spec.apis[used]
            port = spec.workloads[api.provider].ports[api.port]
            address = _address_of_api(spec, placement, used)
            if api.provider in cluster:
                yield (client, api.provider, port, "TCP")
            elif address:
                yield (client, f"host:{address}", port, "TCP")


def _backup_edges(
    spec: Homelab, name: str, hosts: list[Host], host_ports: list[int]
) -> Iterable[Edge]:
    for volume, declared in spec.workloads[name].volumes.items():
        if declared.backup is None:
            continue
        pod = f"backup:backup-{name}-{volume}"
        yield from ((pod, "kube-dns", 53, proto) for proto in ("UDP", "TCP"))
        target = spec.backups.targets[declared.backup.to]
        if target.type == "nfs":
            continue  # the kubelet mounts the share; the pod opens nothing
        url = urlsplit("https://" + target.url.split("://", 1)[1])
        port = url.port or 443
        ip_host = [h for h in hosts if h.ip == url.hostname]
        for host in ip_host or hosts:  # a hostname may resolve anywhere outside the cluster
            yield (pod, host.ident, port, "TCP")


def expected_edges(
    spec: Homelab, placement: PlacementResult, hosts: list[Host], host_ports: list[int]
) -> set[Edge]:
    """What the spec declares, as (source, destination, port, protocol)."""
    edges: set[Edge] = set()
    for name in _cluster_workloads(spec, placement):
        workload = spec.workloads[name]
        edges |= {(name, "kube-dns", 53, "UDP"), (name, "kube-dns", 53, "TCP")}
        edges |= set(_use_edges(spec, placement, name))
        if workload.ingress is not None:
            port = workload.ingress.port
            number = port if isinstance(port, int) else workload.ports[port]
            edges.add(("traefik", name, number, "TCP"))
        if workload.class_ is WorkloadClass.ci_runner:
            edges |= {(name, h.ident, 6443, "TCP") for h in hosts}
        edges |= set(_backup_edges(spec, name, hosts, host_ports))
    return edges


def _hosts(spec: Homelab) -> list[Host]:
    addresses = {
        docker_address(e) for e in spec.environments.values() if isinstance(e, DockerEnvironment)
    }
    addresses |= {
        urlsplit("https://" + t.url.split("://", 1)[1]).hostname
        for t in spec.backups.targets.values()
    }
    ips = sorted(a for a in addresses if a and a[0].isdigit())
    return [INTERNET, LAN, *(Host(f"host:{ip}", ip) for ip in ips)]


def _host_ports(spec: Homelab) -> list[int]:
    ports = {80, 443, 2049, 6443, 9999}
    ports |= {n for w in spec.workloads.values() for n in w.ports.values()}
    ports |= {
        urlsplit("https://" + t.url.split("://", 1)[1]).port or 443
        for t in spec.backups.targets.values()
    }
    return sorted(ports)


def assert_reachability_is_declared(spec: Homelab) -> set[Edge]:
    placement = plan(spec)
    objects = render_cluster_objects(spec, placement)
    hosts, host_ports = _hosts(spec), _host_ports(spec)
    allowed = matrix(network_of(objects, KUBE_SYSTEM), hosts, host_ports)
    expected = expected_edges(spec, placement, hosts, host_ports)
    assert allowed - expected == set(), "allowed but not declared"
    assert expected - allowed == set(), "declared but not allowed"
    return allowed


def test_reference_homelab_reaches_exactly_what_it_declares(example: Homelab) -> None:
    allowed = assert_reachability_is_declared(example)
    assert ("bible-api", "postgres", 5432, "TCP") in allowed
    assert ("bible-api", "host:192.168.1.20", 8080, "TCP") in allowed
    assert ("traefik", "gitea", 3000, "TCP") in allowed
    assert not any(src == "notes-api" and dst.startswith("host:") for src, dst, _, _ in allowed)


# --- generated homelabs --------------------------------------------------------------------

NAMES = st.sampled_from(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"])
PORTS = st.sampled_from([80, 3000, 5432, 6379, 8000, 8080, 9000])
TARGETS = {
    "nas": {"type": "nfs", "url": "nfs://nas.lan/backups"},
    "minio": {"type": "s3", "url": "s3://10.0.0.9:9000/backups"},
    "cloud": {"type": "s3", "url": "s3://s3.example.com/backups"},
}


@st.composite
def homelabs(draw: st.DrawFn) -> Obj:
    """A small valid homelab: a few Pis, a GPU box serving apis, random workloads and edges."""
    namespaces = draw(
        st.lists(st.sampled_from(["apps", "data", "tools"]), min_size=1, max_size=3, unique=True)
    )
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    gpu_names = [f"gpu-{n}" for n in draw(st.lists(NAMES, max_size=2, unique=True))]
    apis = {f"api-{n}": {"provider": n, "port": "http"} for n in gpu_names}
    workloads = {
        name: draw(_cluster_workload(namespaces, names, list(apis), name)) for name in names
    }
    for name in gpu_names:
        workloads[name] = {
            "class": "gpu-service",
            "image": "gpu:1",
            "platforms": ["linux/amd64"],
            "resources": {"cpu": "1", "memory": "1Gi"},
            "ports": {"http": draw(PORTS)},
            "exposes": [f"api-{name}"],
        }
    _cluster_apis(draw, workloads, names, apis)
    if draw(st.booleans()):  # an off-cluster client: it must not open anything in the cluster
        workloads["batch"] = {
            "class": "gpu-batch",
            "image": "batch:1",
            "resources": {"cpu": "1", "memory": "1Gi"},
            "uses": draw(st.lists(st.sampled_from([*names, *apis]), max_size=2, unique=True)),
        }
    return {
        "apiVersion": "bulkhead/v1alpha1",
        "kind": "Homelab",
        "metadata": {"name": "lab"},
        "environments": _environments(),
        "apis": apis,
        "namespaces": {n: {"sensitive": draw(st.booleans())} for n in namespaces},
        "backups": {"targets": TARGETS},
        "workloads": workloads,
    }


def _cluster_apis(draw: st.DrawFn, workloads: Obj, names: list[str], apis: Obj) -> None:
    """Let some cluster workloads expose an api on their first port, used by others."""
    for name in names:
        if "p0" not in workloads[name]["ports"] or not draw(st.booleans()):
            continue
        api = f"capi-{name}"
        apis[api] = {"provider": name, "port": "p0"}
        workloads[name]["exposes"] = [api]
        for client in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
            if client != name:
                workloads[client]["uses"].append(api)


def _environments() -> Obj:
    pi = {"role": "agent", "arch": "arm64", "cpu": 8, "memory": "32Gi"}
    return {
        "cluster": {
            "type": "k3s",
            "nodes": {
                "pi-1": pi | {"role": "server", "storage": {"size": "100Gi"}},
                "pi-2": pi | {"storage": {"size": "100Gi"}},
                "pi-3": pi | {"storage": {"class": "nvme", "size": "500Gi", "tier": "fast"}},
            },
        },
        "gpu": {
            "type": "docker",
            "host": "ssh://ops@10.0.0.5",
            "address": "10.0.0.5",
            "nodes": {
                "rtx": {"cpu": 16, "memory": "64Gi", "gpus": [{"model": "x", "memory": "24Gi"}]}
            },
        },
    }


@st.composite
def _cluster_workload(
    draw: st.DrawFn, namespaces: list[str], names: list[str], apis: list[str], me: str
) -> Obj:
    klass = draw(st.sampled_from(["service", "service", "database", "cache", "ci-runner"]))
    ports = draw(st.lists(PORTS, max_size=2, unique=True))
    workload: Obj = {
        "class": klass,
        "namespace": draw(st.sampled_from(namespaces)),
        "image": f"{me}:1",
        "resources": {"cpu": "100m", "memory": "64Mi"},
        "ports": {f"p{i}": port for i, port in enumerate(ports)},
        "uses": draw(
            st.lists(st.sampled_from([n for n in names if n != me] + apis), max_size=3, unique=True)
        )
        if len(names) > 1 or apis
        else [],
    }
    if ports and draw(st.booleans()):
        workload["ingress"] = {"host": f"{me}.lab.home", "port": "p0"}
    if klass == "service":
        workload["replicas"] = draw(st.integers(1, 2))
    if klass == "database":
        target = draw(st.sampled_from(sorted(TARGETS)))
        backup = {"schedule": "0 3 * * *", "to": target}
        workload["volumes"] = {"data": {"mount": "/data", "size": "1Gi", "backup": backup}}
    if klass == "ci-runner":
        workload["security"] = {"privileged": draw(st.booleans())}
    return workload


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(homelabs())
def test_generated_homelabs_reach_exactly_what_they_declare(data: Obj) -> None:
    assert_reachability_is_declared(spec_of(data))
