"""Cross-references inside a spec, resolved once the shape is valid.

A dangling reference is a located problem: a workload's namespace, environment override,
``uses``, ``exposes``, health and ingress ports, ``secretEnv``; an api's provider and port; a
runner's node; a backup's target; a backup target's secret; a waiver's workload. Also the few
rules of meaning that need the whole file, such as a docker environment with an api provider
needing an address the cluster can reach.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from urllib.parse import urlsplit

from bulkhead.errors import Problem
from bulkhead.spec.models import (
    DockerEnvironment,
    Homelab,
    K3sEnvironment,
    Workload,
    WorkloadClass,
)
from bulkhead.spec.suggest import did_you_mean

CLUSTER_CLASSES = frozenset(
    {WorkloadClass.service, WorkloadClass.database, WorkloadClass.cache, WorkloadClass.ci_runner}
)


def resolve(spec: Homelab) -> list[Problem]:
    """Every dangling reference and whole-file inconsistency, located."""
    problems: list[Problem] = []
    checks = (
        _unique_nodes,
        _workload_refs,
        _api_refs,
        _runner_refs,
        _waiver_refs,
        _backup_secret_refs,
        _docker_addresses,
    )
    for check in checks:
        problems.extend(check(spec))
    return problems


def all_nodes(spec: Homelab) -> dict[str, str]:
    """Every node name of every environment → the environment that holds it."""
    nodes: dict[str, str] = {}
    for env_name, env in spec.environments.items():
        if isinstance(env, K3sEnvironment | DockerEnvironment):
            nodes.update(dict.fromkeys(env.nodes, env_name))
    return nodes


def _unique_nodes(spec: Homelab) -> Iterator[Problem]:
    """A node name names one machine: runners and placements refer to nodes by name alone."""
    seen: dict[str, str] = {}
    for env_name, env in spec.environments.items():
        if not isinstance(env, K3sEnvironment | DockerEnvironment):
            continue
        for node in env.nodes:
            if node in seen:
                message = f"node {node!r} is already declared in environment {seen[node]!r}"
                yield Problem(
                    spec.source.locate_key("environments", env_name, "nodes", node), message
                )
            seen.setdefault(node, env_name)


def _missing(
    spec: Homelab, path: tuple[str | int, ...], what: str, name: str, known: list[str]
) -> Problem:
    return Problem(spec.locate(*path), f"unknown {what} {name!r}{did_you_mean(name, known)}")


def _workload_refs(spec: Homelab) -> Iterator[Problem]:
    for name, workload in spec.workloads.items():
        yield from _namespace_ref(spec, name, workload)
        yield from _environment_ref(spec, name, workload)
        yield from _edge_refs(spec, name, workload)
        yield from _port_refs(spec, name, workload)
        yield from _volume_refs(spec, name, workload)
        yield from _ci_shape(spec, name, workload)
        yield from _secret_refs(spec, name, workload)


def _namespace_ref(spec: Homelab, name: str, workload: Workload) -> Iterator[Problem]:
    path = ("workloads", name, "namespace")
    if workload.namespace is None:
        if workload.class_ in CLUSTER_CLASSES:
            message = f"a {workload.class_.value} runs in the cluster and needs a namespace"
            yield Problem(spec.locate("workloads", name), message)
        return
    if workload.namespace not in spec.namespaces:
        yield _missing(spec, path, "namespace", workload.namespace, list(spec.namespaces))


def _environment_ref(spec: Homelab, name: str, workload: Workload) -> Iterator[Problem]:
    env = workload.environment
    if env is not None and env not in spec.environments:
        path = ("workloads", name, "environment")
        yield _missing(spec, path, "environment", env, list(spec.environments))


def _edge_refs(spec: Homelab, name: str, workload: Workload) -> Iterator[Problem]:
    targets = [*spec.workloads, *spec.apis]
    for i, used in enumerate(workload.uses):
        if used not in targets:
            yield _missing(spec, ("workloads", name, "uses", i), "workload or api", used, targets)
        elif used == name:
            yield Problem(spec.locate("workloads", name, "uses", i), "a workload cannot use itself")
    for i, api in enumerate(workload.exposes):
        if api not in spec.apis:
            yield _missing(spec, ("workloads", name, "exposes", i), "api", api, list(spec.apis))
        elif spec.apis[api].provider != name:
            message = f"api {api!r} names {spec.apis[api].provider!r} as its provider, not {name!r}"
            yield Problem(spec.locate("workloads", name, "exposes", i), message)


def _port_refs(spec: Homelab, name: str, workload: Workload) -> Iterator[Problem]:
    refs: list[tuple[tuple[str | int, ...], str | int]] = []
    if workload.health:
        refs.append((("workloads", name, "health", "port"), workload.health.port))
    if workload.ingress:
        refs.append((("workloads", name, "ingress", "port"), workload.ingress.port))
    refs.extend((("workloads", name, "hostPorts", port), port) for port in workload.host_ports)
    for path, port in refs:
        if port not in workload.ports and port not in workload.ports.values():
            yield _missing(spec, path, f"port of {name!r}", str(port), list(workload.ports))


def _volume_refs(spec: Homelab, name: str, workload: Workload) -> Iterator[Problem]:
    targets = list(spec.backups.targets)
    for vol_name, volume in workload.volumes.items():
        if volume.backup and volume.backup.to not in spec.backups.targets:
            path = ("workloads", name, "volumes", vol_name, "backup", "to")
            yield _missing(spec, path, "backup target", volume.backup.to, targets)


def _ci_shape(spec: Homelab, name: str, workload: Workload) -> Iterator[Problem]:
    is_job = workload.class_ is WorkloadClass.ci_job
    if is_job and workload.ci is None:
        yield Problem(spec.locate("workloads", name), "a ci-job needs a 'ci' section")
    elif not is_job and workload.ci is not None:
        message = f"only a ci-job has a 'ci' section, not a {workload.class_.value}"
        yield Problem(spec.locate("workloads", name, "ci"), message)
    if not is_job and workload.image is None:
        yield Problem(spec.locate("workloads", name), f"a {workload.class_.value} needs an image")


def _secret_refs(spec: Homelab, name: str, workload: Workload) -> Iterator[Problem]:
    for var, ref in workload.secret_env.items():
        path = ("workloads", name, "secretEnv", var)
        secret_name, _, key = ref.partition(".")
        secret = spec.secrets.get(secret_name)
        if secret is None:
            yield _missing(spec, path, "secret", secret_name, list(spec.secrets))
        elif key not in secret.keys:
            hint = did_you_mean(key, secret.keys)
            yield Problem(spec.locate(*path), f"secret {secret_name!r} has no key {key!r}{hint}")
        if var in workload.env:
            message = f"{var!r} is set both in env and in secretEnv; keep one"
            yield Problem(spec.locate(*path), message)


def _api_refs(spec: Homelab) -> Iterator[Problem]:
    for api_name, api in spec.apis.items():
        provider = spec.workloads.get(api.provider)
        if provider is None:
            path = ("apis", api_name, "provider")
            yield _missing(spec, path, "workload", api.provider, list(spec.workloads))
        elif api.port not in provider.ports:
            path = ("apis", api_name, "port")
            yield _missing(spec, path, f"port of {api.provider!r}", api.port, list(provider.ports))


def _runner_refs(spec: Homelab) -> Iterator[Problem]:
    nodes = all_nodes(spec)
    for env_name, env in spec.environments.items():
        if env.type != "gitea":
            continue
        for runner_name, runner in env.runners.items():
            if runner.node not in nodes:
                path = ("environments", env_name, "runners", runner_name, "node")
                yield _missing(spec, path, "node", runner.node, list(nodes))


def _waiver_refs(spec: Homelab) -> Iterator[Problem]:
    for i, waiver in enumerate(spec.policy.waivers):
        if waiver.workload is not None and waiver.workload not in spec.workloads:
            path = ("policy", "waivers", i, "workload")
            yield _missing(spec, path, "workload", waiver.workload, list(spec.workloads))


def _backup_secret_refs(spec: Homelab) -> Iterator[Problem]:
    for target_name, target in spec.backups.targets.items():
        if target.secret is not None and target.secret not in spec.secrets:
            path = ("backups", "targets", target_name, "secret")
            yield _missing(spec, path, "secret", target.secret, list(spec.secrets))


def docker_address(env: DockerEnvironment) -> str | None:
    """The IP the cluster reaches a docker environment on: ``address``, else the host's IP."""
    if env.address:
        return env.address
    host = urlsplit(env.host).hostname
    return host if host and _is_ip(host) else None


def _docker_addresses(spec: Homelab) -> Iterator[Problem]:
    gpu = {WorkloadClass.gpu_service, WorkloadClass.gpu_batch}
    providers = [
        spec.workloads[a.provider] for a in spec.apis.values() if a.provider in spec.workloads
    ]
    for env_name, env in spec.environments.items():
        if not isinstance(env, DockerEnvironment):
            continue
        path = ("environments", env_name)
        if env.address is not None and not _is_ip(env.address):
            yield Problem(spec.locate(*path, "address"), f"{env.address!r} is not an IP address")
            continue
        serves_api = any(
            w and w.class_ in gpu and w.environment in (None, env_name) for w in providers
        )
        if serves_api and docker_address(env) is None:
            message = (
                "this environment provides an api, but neither 'address' nor 'host' gives an IP "
                "the cluster can reach; set 'address'"
            )
            yield Problem(spec.locate(*path), message)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
