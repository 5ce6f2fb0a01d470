"""Small hand-written Kubernetes objects for the apply tests (plain dicts, as render makes)."""

from __future__ import annotations

from typing import Any

HOMELAB = "attic"
INVENTORY = {"app.kubernetes.io/managed-by": "bulkhead", "bulkhead.dev/homelab": HOMELAB}


def namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def config_map(ns: str, name: str, data: dict[str, str], labels: dict[str, str] | None = None):
    meta = {"name": name, "namespace": ns, "labels": dict(INVENTORY if labels is None else labels)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def service(ns: str, name: str, port: int = 8000) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": dict(INVENTORY)},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port}]},
    }


def deployment(ns: str, name: str, image: str = "nginx:1.27", replicas: int = 1):
    labels = {"app.kubernetes.io/name": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {**INVENTORY, **labels}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def pod(ns: str, name: str, labels: dict[str, str], status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "x"}]},
        "status": status,
    }
