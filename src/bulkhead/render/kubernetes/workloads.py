"""A cluster workload's own objects: Deployment or StatefulSet, Services, Ingress, PVCs, PDB.

Databases are StatefulSets (with a headless Service for stable pod names); services, caches and
CI runners are Deployments. A single-replica Deployment rolls by surging one pod; several
replicas (which repel each other) roll one down, one up; one that mounts volumes is recreated,
so two pods never write the same ReadWriteOnce volume. Every PVC is rendered as an object,
StatefulSet claims included (named as the StatefulSet controller names them), so the volumes
are in bulkhead's inventory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bulkhead.render.files import file_data
from bulkhead.render.kubernetes.pods import files_config_map, pod_template
from bulkhead.render.view import View, is_database, port_name, selector
from bulkhead.spec.models import K3sEnvironment, K3sNode, Workload, WorkloadIngress
from bulkhead.spec.quantity import format_memory

Obj = dict[str, Any]


@dataclass(frozen=True)
class Claim:
    """One PVC of a workload: its name, the volume it backs, and a stable short ``key``
    (``<workload>-<volume>``, plus ``-<ordinal>`` for a StatefulSet of several replicas)."""

    pvc: str
    volume: str
    key: str


def workload_objects(view: View, env: K3sEnvironment, name: str) -> list[Obj]:
    """Every object of one workload, in apply order: PVCs, ConfigMap, controller, Services,
    Ingress, PDB."""
    workload = view.spec.workloads[name]
    objects = [pvc(view, env, name, claim) for claim in claims(view, name)]
    if workload.files:
        objects.append(config_map(view, name))
    if is_database(workload):
        objects.append(statefulset(view, env, name))
        objects.append(service(view, name, headless=True))
    else:
        objects.append(deployment(view, name))
    if workload.ports:
        objects.append(service(view, name))
    if workload.ingress:
        objects.append(ingress(view, env, name, workload.ingress))
    if workload.replicas > 1:
        objects.append(disruption_budget(view, env, name))
    return objects


def meta(view: View, name: str, namespace: str, labels: dict[str, str] | None = None) -> Obj:
    """``metadata`` with the bulkhead labels (the workload's when ``labels`` is None)."""
    return {"name": name, "namespace": namespace, "labels": labels or view.common_labels()}


def claims(view: View, name: str) -> list[Claim]:
    """One claim per volume, or per volume and replica for a StatefulSet (named as the
    StatefulSet controller names them, so it adopts them)."""
    workload = view.spec.workloads[name]
    if not is_database(workload):
        return [Claim(f"{name}-{v}", v, f"{name}-{v}") for v in workload.volumes]
    several = workload.replicas > 1
    return [
        Claim(f"{v}-{name}-{i}", v, f"{name}-{v}-{i}" if several else f"{name}-{v}")
        for v in workload.volumes
        for i in range(workload.replicas)
    ]


def storage_class(view: View, env: K3sEnvironment, name: str, volume: str) -> str:
    """The volume's own class, else the class of the node the plan put the workload on."""
    declared = view.spec.workloads[name].volumes[volume].storage_class
    if declared:
        return declared
    node = _first_node(view, env, name)
    return node.storage.class_ if node and node.storage else "local-path"


def _first_node(view: View, env: K3sEnvironment, name: str) -> K3sNode | None:
    nodes = view.nodes_of(name)
    return env.nodes.get(nodes[0]) if nodes else None


def claim_spec(view: View, env: K3sEnvironment, name: str, volume: str) -> Obj:
    """ReadWriteOnce claim of the declared size in the node's storage class."""
    size = view.spec.workloads[name].volumes[volume].size.units
    return {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": storage_class(view, env, name, volume),
        "resources": {"requests": {"storage": format_memory(size)}},
    }


def pvc(view: View, env: K3sEnvironment, name: str, claim: Claim) -> Obj:
    """One PersistentVolumeClaim."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(view, claim.pvc, view.namespace_of(name), view.workload_labels(name)),
        "spec": claim_spec(view, env, name, claim.volume),
    }


def config_map(view: View, name: str) -> Obj:
    """The workload's config files, mounted read-only one by one."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(view, files_config_map(name), view.namespace_of(name)),
        "data": file_data(view.spec, name),
    }


def deployment(view: View, name: str) -> Obj:
    """A Deployment for a service, cache or CI runner."""
    workload = view.spec.workloads[name]
    by_volume = {claim.volume: claim.pvc for claim in claims(view, name)}
    spec: Obj = {
        "replicas": workload.replicas,
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector(name)},
        "strategy": strategy(workload),
        "template": pod_template(view, name, by_volume),
    }
    return _controller(view, "Deployment", name, spec)


def strategy(workload: Workload) -> Obj:
    """Recreate with volumes; else replace one replica at a time, or surge a single one.

    Replicas > 1 repel each other (required anti-affinity), so a surge pod may find no node
    free of its siblings and stall the rollout: they roll one down, one up instead.
    """
    if workload.volumes:
        return {"type": "Recreate"}
    surge, unavailable = (0, 1) if workload.replicas > 1 else (1, 0)
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }


def since(env: K3sEnvironment, minor: int) -> bool:
    """True when the cluster's Kubernetes minor version is at least ``1.<minor>``."""
    return int(env.version.split(".")[1]) >= minor


def statefulset(view: View, env: K3sEnvironment, name: str) -> Obj:
    """A StatefulSet for a database, its claims templated and retained on delete."""
    workload = view.spec.workloads[name]
    spec: Obj = {
        "replicas": workload.replicas,
        "revisionHistoryLimit": 5,
        "serviceName": f"{name}-headless",
        "selector": {"matchLabels": selector(name)},
        "template": pod_template(view, name, {}),
    }
    if workload.volumes:
        spec["volumeClaimTemplates"] = [
            {"metadata": {"name": v, "labels": view.workload_labels(name)}}
            | {"spec": claim_spec(view, env, name, v)}
            for v in workload.volumes
        ]
    if since(env, 27):
        retain = {"whenDeleted": "Retain", "whenScaled": "Retain"}
        spec["persistentVolumeClaimRetentionPolicy"] = retain
    return _controller(view, "StatefulSet", name, spec)


def _controller(view: View, kind: str, name: str, spec: Obj) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": meta(view, name, view.namespace_of(name), view.workload_labels(name)),
        "spec": spec,
    }


def service(view: View, name: str, *, headless: bool = False) -> Obj:
    """The workload's ClusterIP Service, or the headless one a StatefulSet names."""
    workload = view.spec.workloads[name]
    spec: Obj = {"type": "ClusterIP"}
    if headless:
        spec |= {"clusterIP": "None", "publishNotReadyAddresses": True}
    spec["selector"] = selector(name)
    spec["ports"] = [
        {"name": port, "port": number, "targetPort": port, "protocol": "TCP"}
        for port, number in workload.ports.items()
    ]
    object_name = f"{name}-headless" if headless else name
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(view, object_name, view.namespace_of(name), view.workload_labels(name)),
        "spec": spec,
    }


def ingress(view: View, env: K3sEnvironment, name: str, route: WorkloadIngress) -> Obj:
    """An Ingress through the cluster's ingress class to the workload's Service."""
    workload = view.spec.workloads[name]
    backend = {"service": {"name": name, "port": {"name": port_name(workload, route.port)}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta(view, name, view.namespace_of(name), view.workload_labels(name)),
        "spec": {
            "ingressClassName": env.ingress.class_,
            "rules": [{"host": route.host, "http": {"paths": [path]}}],
        },
    }


def disruption_budget(view: View, env: K3sEnvironment, name: str) -> Obj:
    """Voluntary evictions (drains) take at most one replica at a time."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(view, name, view.namespace_of(name), view.workload_labels(name)),
        "spec": disruption_spec(env, name),
    }


def disruption_spec(env: K3sEnvironment, name: str) -> Obj:
    """One replica at a time; crash-looping pods never block a node drain (1.27+)."""
    spec: Obj = {"maxUnavailable": 1, "selector": {"matchLabels": selector(name)}}
    if since(env, 27):
        spec["unhealthyPodEvictionPolicy"] = "AlwaysAllow"
    return spec
