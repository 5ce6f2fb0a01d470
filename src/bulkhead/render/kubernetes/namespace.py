"""A namespace's frame: the Namespace, its ResourceQuota and its LimitRange.

All three are derived from the namespace's other rendered objects, so they can never disagree
with them. The quota is the sum of what those objects can run at once (every replica, the surge
pod of a single-replica Deployment's rollout, one pod per backup CronJob, which never overlap)
plus one more of the namespace's largest pod, for a replacement that starts while the pod it
replaces is still terminating (a terminating pod still counts). It covers CPU and memory
requests, memory limits, pods, claims and requested storage. Node
ports and load balancers are capped at zero: traffic from outside enters through the ingress.
The Pod Security level is the strictest one every pod template meets (``restricted`` unless a
workload declares a privilege, or a backup mounts an nfs share), enforced, with ``restricted``
warned and audited everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bulkhead.render.view import View
from bulkhead.spec.quantity import Quantity, format_cpu, format_memory

Obj = dict[str, Any]
PSA = "pod-security.kubernetes.io"
DEFAULT_CPU = "100m"  # LimitRange defaults, for containers that declare nothing
DEFAULT_MEMORY = "128Mi"
DEFAULT_MEMORY_LIMIT = "256Mi"
_RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


def namespace_frame(view: View, namespace: str, version: str, objects: list[Obj]) -> list[Obj]:
    """Namespace, ResourceQuota, LimitRange for the namespace holding ``objects``."""
    return [
        namespace_object(view, namespace, version, objects),
        quota(view, namespace, objects),
        limit_range(view, namespace),
    ]


def namespace_object(view: View, namespace: str, version: str, objects: list[Obj]) -> Obj:
    """The Namespace, with its name label, bulkhead's labels and Pod Security labels."""
    level = security_level(pod_specs(objects))
    labels = {"kubernetes.io/metadata.name": namespace, **view.common_labels()}
    declared = view.spec.namespaces.get(namespace)
    if declared and declared.sensitive:
        labels["bulkhead.dev/sensitive"] = "true"
    labels |= {
        f"{PSA}/enforce": level,
        f"{PSA}/enforce-version": f"v{version}",
        f"{PSA}/warn": "restricted",
        f"{PSA}/audit": "restricted",
    }
    metadata = {"name": namespace, "labels": labels}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def pod_specs(objects: list[Obj]) -> Iterator[tuple[Obj, int]]:
    """Each pod template among ``objects`` with how many of its pods can run at once."""
    for obj in objects:
        kind, spec = obj["kind"], obj.get("spec", {})
        if kind == "Deployment":
            surge = spec["strategy"].get("rollingUpdate", {}).get("maxSurge", 0)
            yield spec["template"]["spec"], spec["replicas"] + surge
        elif kind == "StatefulSet":
            yield spec["template"]["spec"], spec["replicas"]
        elif kind == "CronJob":
            yield spec["jobTemplate"]["spec"]["template"]["spec"], 1


def quota(view: View, namespace: str, objects: list[Obj]) -> Obj:
    """A ResourceQuota that fits exactly what the namespace's objects can run at once."""
    totals = running_totals(objects)
    claims = [o for o in objects if o["kind"] == "PersistentVolumeClaim"]
    storage = sum(_bytes(c["spec"]["resources"]["requests"]["storage"]) for c in claims)
    hard = {
        "requests.cpu": format_cpu(totals["requests.cpu"]),
        "requests.memory": format_memory(totals["requests.memory"]),
        "limits.memory": format_memory(totals["limits.memory"]),
        "pods": str(totals["pods"]),
        "persistentvolumeclaims": str(len(claims)),
        "requests.storage": format_memory(storage),
        "services.nodeports": "0",
        "services.loadbalancers": "0",
    }
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta(view, "bulkhead", namespace),
        "spec": {"hard": hard},
    }


def running_totals(objects: list[Obj]) -> dict[str, int]:
    """Requests, limits and pods of everything at once, plus one more of the largest pod."""
    totals = {"requests.cpu": 0, "requests.memory": 0, "limits.memory": 0, "pods": 0}
    spare = dict.fromkeys(totals, 0)
    for pod, count in pod_specs(objects):
        amounts = pod_amounts(pod) | {"pods": 1}
        for key, amount in amounts.items():
            totals[key] += amount * count
            spare[key] = max(spare[key], amount)
    return {key: totals[key] + spare[key] for key in totals}


def pod_amounts(pod: Obj) -> dict[str, int]:
    """CPU requests (millicores), memory requests and limits (bytes) of one pod template, as
    admission completes them: a missing request is the limit if there is one (Kubernetes),
    else the LimitRange default; a missing memory limit is the LimitRange default."""
    amounts = {"requests.cpu": 0, "requests.memory": 0, "limits.memory": 0}
    for container in pod["containers"]:
        resources = container.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        cpu = requests.get("cpu", limits.get("cpu", DEFAULT_CPU))
        memory = requests.get("memory", limits.get("memory", DEFAULT_MEMORY))
        amounts["requests.cpu"] += Quantity.parse(cpu).millis
        amounts["requests.memory"] += _bytes(memory)
        amounts["limits.memory"] += _bytes(limits.get("memory", DEFAULT_MEMORY_LIMIT))
    return amounts


def _bytes(text: str) -> int:
    return Quantity.parse(text).units


def limit_range(view: View, namespace: str) -> Obj:
    """Defaults for any container that declares nothing (the quota needs requests and limits)."""
    item = {
        "type": "Container",
        "default": {"memory": DEFAULT_MEMORY_LIMIT},
        "defaultRequest": {"cpu": DEFAULT_CPU, "memory": DEFAULT_MEMORY},
    }
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta(view, "bulkhead-defaults", namespace),
        "spec": {"limits": [item]},
    }


def _meta(view: View, name: str, namespace: str) -> Obj:
    return {"name": name, "namespace": namespace, "labels": view.common_labels()}


def security_level(pods: Iterator[tuple[Obj, int]]) -> str:
    """The strictest Pod Security Standard that every pod template meets."""
    levels = {_level(pod) for pod, _ in pods}
    for level in ("privileged", "baseline"):
        if level in levels:
            return level
    return "restricted"


def _level(pod: Obj) -> str:
    if _breaks_baseline(pod):
        return "privileged"
    return "baseline" if _breaks_restricted(pod) else "restricted"


def _breaks_baseline(pod: Obj) -> bool:
    containers = pod["containers"]
    return (
        pod.get("hostNetwork", False)
        or any("hostPath" in v for v in pod.get("volumes", []))
        or any(c.get("securityContext", {}).get("privileged") for c in containers)
        or any("hostPort" in p for c in containers for p in c.get("ports", []))
    )


def _breaks_restricted(pod: Obj) -> bool:
    kinds = {key for volume in pod.get("volumes", []) for key in volume if key != "name"}
    escalates = any(
        c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False
        for c in pod["containers"]
    )
    non_root = pod.get("securityContext", {}).get("runAsNonRoot") is True
    return bool(kinds - _RESTRICTED_VOLUMES) or escalates or not non_root
