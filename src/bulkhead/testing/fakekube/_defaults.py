"""Server-side defaulting: the fields a real API server adds that no client wrote.

A diff that compares desired objects with live ones must not report these as changes, so the
fake adds the common ones (the same values Kubernetes 1.31 uses). Defaults are owned by no
field manager, exactly as on a real server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def apply_defaults(
    obj: dict[str, Any], previous: dict[str, Any] | None, allocate_ip: Callable[[], str]
) -> None:
    """Fill defaults in place; ``previous`` keeps allocated values (a Service's clusterIP)."""
    kind = obj.get("kind")
    if kind == "Namespace":
        _namespace(obj)
    elif kind == "Service":
        _service(obj, previous, allocate_ip)
    elif kind in ("Deployment", "StatefulSet", "DaemonSet"):
        _workload(obj)


def _namespace(obj: dict[str, Any]) -> None:
    labels = obj.setdefault("metadata", {}).setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}


def _service(
    obj: dict[str, Any], previous: dict[str, Any] | None, allocate_ip: Callable[[], str]
) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    allocated = (previous or {}).get("spec", {}).get("clusterIP")
    if spec.get("clusterIP") != "None":
        spec["clusterIP"] = allocated or allocate_ip()
        spec["clusterIPs"] = [spec["clusterIP"]]
    for port in spec.get("ports", []):
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))


def _workload(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("revisionHistoryLimit", 10)
    if obj["kind"] == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("progressDeadlineSeconds", 600)
        rolling = {"maxSurge": "25%", "maxUnavailable": "25%"}
        spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": rolling})
    pod = spec.setdefault("template", {}).setdefault("spec", {})
    pod.setdefault("restartPolicy", "Always")
    pod.setdefault("dnsPolicy", "ClusterFirst")
    pod.setdefault("schedulerName", "default-scheduler")
    pod.setdefault("terminationGracePeriodSeconds", 30)
    pod.setdefault("securityContext", {})
    for container in pod.get("containers", []):
        _container(container)


def _container(container: dict[str, Any]) -> None:
    image = str(container.get("image", ""))
    untagged = ":" not in image.rsplit("/", 1)[-1] and "@" not in image
    latest = untagged or image.endswith(":latest")
    container.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
