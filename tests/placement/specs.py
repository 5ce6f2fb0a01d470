"""Small homelab specs built from a few lines, validated by the real loader."""

from __future__ import annotations

from typing import Any

import yaml

from bulkhead.spec import Homelab, parse_spec

IMAGE = "registry.lab.home/app:1.0"


def workload(klass: str = "service", **fields: Any) -> dict[str, Any]:
    """A workload with the defaults its class needs (namespace, image)."""
    base: dict[str, Any] = {"class": klass}
    if klass not in ("gpu-service", "gpu-batch", "ci-job"):
        base["namespace"] = "data" if klass in ("database", "cache") else "apps"
    if klass != "ci-job":
        base["image"] = IMAGE
    return {**base, **fields}


def pi(memory: str = "8Gi", cpu: int | str = 4, **fields: Any) -> dict[str, Any]:
    """A Raspberry Pi agent node."""
    return {"role": "agent", "arch": "arm64", "cpu": cpu, "memory": memory, **fields}


def homelab(
    nodes: dict[str, dict[str, Any]],
    workloads: dict[str, dict[str, Any]],
    *,
    docker: dict[str, dict[str, Any]] | None = None,
    runners: dict[str, dict[str, Any]] | None = None,
    ingress: str = "traefik",
    apis: dict[str, Any] | None = None,
) -> Homelab:
    """A spec with one k3s cluster, optionally a docker env and a gitea env."""
    environments: dict[str, Any] = {
        "cluster": {"type": "k3s", "ingress": {"class": ingress}, "nodes": nodes}
    }
    if docker is not None:
        environments["gpu"] = {"type": "docker", "host": "ssh://ops@10.0.0.9", "nodes": docker}
    if runners is not None:
        environments["ci"] = {"type": "gitea", "url": "https://git.lab", "runners": runners}
    data = {
        "apiVersion": "bulkhead/v1alpha1",
        "kind": "Homelab",
        "metadata": {"name": "test"},
        "environments": environments,
        "apis": apis or {},
        "namespaces": {"apps": {}, "data": {}},
        "backups": {"targets": {"nas": {"type": "nfs", "url": "nfs://nas/b"}}},
        "workloads": workloads,
    }
    return parse_spec(yaml.safe_dump(data, sort_keys=False), "homelab.yaml")
