"""The pod template of a cluster workload: container, resources, probes, security, scheduling.

Resources are the spec's requests; the memory limit defaults to the memory request and there is
no CPU limit unless one is declared (CPU throttling on a Pi hurts latency more than it protects
neighbours; the namespace quota bounds the sum). Probes come from ``health``: an HTTP GET when it
has a path, a TCP connect otherwise, with a startup probe so a slow Pi start is not killed by
liveness. Security follows the Pod Security "restricted" profile unless the workload declares a
privilege. Scheduling repeats what the placement simulated (:mod:`bulkhead.placement.filters`):
architecture and the fast storage tier (for databases) as required node affinity, the exact
nodes for workloads whose volumes pin them, and for replicas > 1 a hostname topology spread
(maxSkew 1, DoNotSchedule) plus required anti-affinity between the replicas.
"""

from __future__ import annotations

from typing import Any

from bulkhead.render.files import file_keys, files_digest, secret_ref
from bulkhead.render.view import TIER, View, is_database, port_name, selector
from bulkhead.spec.models import Health, Security, Workload
from bulkhead.spec.quantity import format_cpu, format_memory
from bulkhead.spec.taints import Toleration

Obj = dict[str, Any]
TMP_VOLUME = "bulkhead-tmp"
FILES_VOLUME = "bulkhead-files"
FILES_DIGEST = "bulkhead.dev/files-sha256"
DOCKER_SOCKET = "/var/run/docker.sock"
HOSTNAME = "kubernetes.io/hostname"


def pod_template(view: View, name: str, claims: dict[str, str]) -> Obj:
    """``spec.template`` of a Deployment or StatefulSet; ``claims`` maps volume → PVC name."""
    metadata: Obj = {"labels": view.workload_labels(name)}
    if view.spec.workloads[name].files:
        metadata["annotations"] = {FILES_DIGEST: files_digest(view.spec, name)}
    return {"metadata": metadata, "spec": pod_spec(view, name, claims)}


def files_config_map(name: str) -> str:
    """The ConfigMap holding a workload's config files."""
    return f"{name}-files"


def pod_spec(view: View, name: str, claims: dict[str, str]) -> Obj:
    """The pod spec of one workload."""
    workload = view.spec.workloads[name]
    spec: Obj = {"automountServiceAccountToken": False, "enableServiceLinks": False}
    if workload.security.host_network:
        spec |= {"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"}
    spec["securityContext"] = pod_security(workload.security)
    spec["containers"] = [container(name, workload)]
    spec |= scheduling(view, name)
    volumes = pod_volumes(name, workload, claims)
    return spec | ({"volumes": volumes} if volumes else {})


def container(name: str, workload: Workload) -> Obj:
    """The one container of a workload."""
    image = workload.image or ""
    result: Obj = {"name": name, "image": image, "imagePullPolicy": pull_policy(image)}
    if workload.command is not None:
        result["command"] = list(workload.command)
    if workload.args is not None:
        result["args"] = list(workload.args)
    env = environment(workload)
    if env:
        result["env"] = env
    if workload.ports:
        result["ports"] = [_port(workload, p, n) for p, n in workload.ports.items()]
    result["resources"] = resources(workload)
    if workload.health:
        result |= probes(workload, workload.health)
    result["securityContext"] = container_security(workload.security)
    mounts = volume_mounts(workload)
    return result | ({"volumeMounts": mounts} if mounts else {})


def environment(workload: Workload) -> list[Obj]:
    """Plain values, then values from the Secrets that ``bulkhead apply`` creates."""
    plain: list[Obj] = [{"name": k, "value": v} for k, v in workload.env.items()]
    secret = [_from_secret(k, *secret_ref(ref)) for k, ref in workload.secret_env.items()]
    return plain + secret


def _from_secret(variable: str, secret: str, key: str) -> Obj:
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def pull_policy(image: str) -> str:
    """``Always`` for an untagged or ``latest`` image, ``IfNotPresent`` otherwise."""
    if "@" in image:
        return "IfNotPresent"
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _port(workload: Workload, port: str, number: int) -> Obj:
    entry: Obj = {"name": port, "containerPort": number, "protocol": "TCP"}
    if port in workload.host_ports:
        entry["hostPort"] = workload.host_ports[port]
    return entry


def resources(workload: Workload) -> Obj:
    """Requests as declared; memory limit = declared limit or request; CPU limit only if set."""
    asked, capped = workload.resources, workload.limits
    requests: Obj = {}
    limits: Obj = {}
    if asked.cpu is not None:
        requests["cpu"] = format_cpu(asked.cpu.millis)
    if asked.memory is not None:
        requests["memory"] = format_memory(asked.memory.units)
    if capped.cpu is not None:
        limits["cpu"] = format_cpu(capped.cpu.millis)
    memory = capped.memory or asked.memory
    if memory is not None:
        limits["memory"] = format_memory(memory.units)
    if asked.gpu:
        limits["nvidia.com/gpu"] = str(asked.gpu)
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def probes(workload: Workload, health: Health) -> Obj:
    """Startup, readiness and liveness probes sharing one handler."""
    handler = _handler(workload, health)
    return {
        "startupProbe": {**handler, "periodSeconds": 5, "failureThreshold": 60},
        "readinessProbe": {**handler, "periodSeconds": 10, "timeoutSeconds": 2},
        "livenessProbe": {**handler, "periodSeconds": 20, "timeoutSeconds": 3},
    }


def _handler(workload: Workload, health: Health) -> Obj:
    port = port_name(workload, health.port)
    if health.path:
        return {"httpGet": {"path": health.path, "port": port}}
    return {"tcpSocket": {"port": port}}


def pod_security(security: Security) -> Obj:
    """Pod-level securityContext: non-root unless privileged, seccomp RuntimeDefault."""
    context: Obj = {}
    if not _needs_root(security):
        context["runAsNonRoot"] = True
    if security.run_as_user is not None:
        uid = security.run_as_user
        context |= {"runAsUser": uid, "runAsGroup": uid, "fsGroup": uid}
    context["seccompProfile"] = {"type": "RuntimeDefault"}
    return context


def container_security(security: Security) -> Obj:
    """Container securityContext: no escalation, drop ALL, read-only root unless declared."""
    read_only = security.read_only_root_filesystem
    if security.privileged:
        return {"privileged": True, "readOnlyRootFilesystem": read_only}
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only,
    }


def _needs_root(security: Security) -> bool:
    return security.privileged or security.docker_socket


def volume_mounts(workload: Workload) -> list[Obj]:
    """Declared volumes, host paths, the Docker socket, and a writable /tmp on a read-only root."""
    mounts = [{"name": v, "mountPath": spec.mount} for v, spec in workload.volumes.items()]
    security = workload.security
    mounts += [{"name": f"host-{i}", "mountPath": p} for i, p in enumerate(security.host_paths)]
    if security.docker_socket:
        mounts.append({"name": "docker-socket", "mountPath": DOCKER_SOCKET})
    if security.read_only_root_filesystem:
        mounts.append({"name": TMP_VOLUME, "mountPath": "/tmp"})
    mounts += [_file_mount(path, key) for path, key in file_keys(workload).items()]
    return mounts


def _file_mount(path: str, key: str) -> Obj:
    return {"name": FILES_VOLUME, "mountPath": path, "subPath": key, "readOnly": True}


def pod_volumes(name: str, workload: Workload, claims: dict[str, str]) -> list[Obj]:
    """The pod volumes behind :func:`volume_mounts` (claims absent: StatefulSet templates)."""
    volumes: list[Obj] = [
        {"name": v, "persistentVolumeClaim": {"claimName": claims[v]}}
        for v in workload.volumes
        if v in claims
    ]
    for i, path in enumerate(workload.security.host_paths):
        volumes.append({"name": f"host-{i}", "hostPath": {"path": path}})
    if workload.security.docker_socket:
        socket = {"path": DOCKER_SOCKET, "type": "Socket"}
        volumes.append({"name": "docker-socket", "hostPath": socket})
    if workload.security.read_only_root_filesystem:
        volumes.append({"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "64Mi"}})
    if workload.files:
        volumes.append({"name": FILES_VOLUME, "configMap": {"name": files_config_map(name)}})
    return volumes


def scheduling(view: View, name: str) -> Obj:
    """nodeSelector, affinity, tolerations and topology spread from the spec and the plan."""
    workload = view.spec.workloads[name]
    result: Obj = {}
    if workload.placement.node_selector:
        result["nodeSelector"] = dict(sorted(workload.placement.node_selector.items()))
    affinity: Obj = {}
    nodes = node_affinity(view, name)
    if nodes:
        affinity["nodeAffinity"] = nodes
    if workload.replicas > 1:
        affinity["podAntiAffinity"] = anti_affinity(name)
    if affinity:
        result["affinity"] = affinity
    if workload.placement.tolerations:
        result["tolerations"] = [toleration(t) for t in workload.placement.tolerations]
    if workload.replicas > 1:
        result["topologySpreadConstraints"] = [spread(name)]
    return result


def node_affinity(view: View, name: str) -> Obj:
    """Required terms (arch, tier, pinned nodes) and preferred labels."""
    workload = view.spec.workloads[name]
    required = required_expressions(view, name)
    affinity: Obj = {}
    if required:
        terms = [{"matchExpressions": required}]
        affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": terms}
    if workload.placement.prefer:
        affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": 50, "preference": {"matchExpressions": [_is(key, value)]}}
            for key, value in sorted(workload.placement.prefer.items())
        ]
    return affinity


def required_expressions(view: View, name: str) -> list[Obj]:
    """What a node must be: an arch the image runs on, the fast tier, the node volumes pin."""
    workload = view.spec.workloads[name]
    expressions: list[Obj] = []
    archs = architectures(workload)
    if archs:
        expressions.append({"key": "kubernetes.io/arch", "operator": "In", "values": archs})
    if is_database(workload):
        expressions.append(_is(TIER, "fast"))
    nodes = sorted(set(view.nodes_of(name)))
    if workload.volumes and nodes:
        expressions.append({"key": HOSTNAME, "operator": "In", "values": nodes})
    return expressions


def architectures(workload: Workload) -> list[str]:
    """The ``kubernetes.io/arch`` values an image's declared platforms run on."""
    archs = {p.split("/")[1] for p in workload.platforms or ()}
    return sorted(archs)


def _is(key: str, value: str) -> Obj:
    return {"key": key, "operator": "In", "values": [value]}


def toleration(spec: Toleration) -> Obj:
    """A Kubernetes toleration from ``key=value:Effect`` / ``key:Effect`` / ``key``."""
    result: Obj = {"key": spec.key, "operator": "Exists" if spec.exists else "Equal"}
    if not spec.exists:
        result["value"] = spec.value
    if spec.effect:
        result["effect"] = spec.effect
    return result


def spread(name: str) -> Obj:
    """Replicas spread evenly over nodes (hostname, maxSkew 1, DoNotSchedule)."""
    return {
        "maxSkew": 1,
        "topologyKey": HOSTNAME,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": selector(name)},
    }


def anti_affinity(name: str) -> Obj:
    """No two replicas of a workload on one node: a node failure takes at most one."""
    term = {"labelSelector": {"matchLabels": selector(name)}, "topologyKey": HOSTNAME}
    return {"requiredDuringSchedulingIgnoredDuringExecution": [term]}
