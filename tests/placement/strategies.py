"""Hypothesis strategies for whole, valid homelab specs of every kind of environment."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from bulkhead.spec import Homelab, parse_spec

TAINTS = ["gpu=true:NoSchedule", "soft=1:PreferNoSchedule", "drain:NoExecute"]
LABELS = ["arm64", "amd64", "gpu", "cluster"]
CLASSES = [
    "service",
    "service",
    "database",
    "cache",
    "ci-runner",
    "gpu-service",
    "gpu-batch",
    "ci-job",
]
PLATFORMS = [None, ["linux/arm64"], ["linux/amd64"], ["linux/arm64", "linux/amd64"]]


@st.composite
def k3s_node(draw: st.DrawFn, index: int) -> dict[str, Any]:
    node: dict[str, Any] = {
        "role": "server" if index == 0 else draw(st.sampled_from(["agent", "agent", "server"])),
        "arch": draw(st.sampled_from(["arm64", "arm64", "amd64"])),
        "cpu": draw(st.sampled_from([1, 2, 4])),
        "memory": draw(st.sampled_from(["1Gi", "2Gi", "4Gi", "8Gi"])),
        "maxPods": draw(st.sampled_from([4, 8, 110])),
        "unschedulable": draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans()),
    }
    storage = draw(st.sampled_from([None, "standard", "fast"]))
    if storage:
        cls = "nvme" if storage == "fast" else "local-path"
        node["storage"] = {
            "class": cls,
            "size": draw(st.sampled_from(["10Gi", "30Gi"])),
            "tier": storage,
        }
    node["taints"] = draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique=True))
    node["labels"] = draw(st.sampled_from([{}, {"disk": "ssd"}, {"disk": "hdd"}]))
    return node


@st.composite
def docker_node(draw: st.DrawFn) -> dict[str, Any]:
    gpus = draw(st.lists(st.sampled_from(["8Gi", "24Gi"]), max_size=2))
    return {
        "arch": draw(st.sampled_from(["amd64", "arm64"])),
        "cpu": draw(st.sampled_from([4, 16])),
        "memory": draw(st.sampled_from(["8Gi", "32Gi"])),
        "storage": {"class": "nvme", "size": "100Gi", "tier": "fast"},
        "gpus": [{"model": "RTX", "memory": m} for m in gpus],
    }


@st.composite
def workload(draw: st.DrawFn, klass: str) -> dict[str, Any]:
    w: dict[str, Any] = {"class": klass}
    if klass == "ci-job":
        runs_on = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=2, unique=True))
        w["ci"] = {"runsOn": runs_on, "steps": [{"run": "make"}]}
        return w
    if klass not in ("gpu-service", "gpu-batch"):
        w["namespace"] = "apps"
    w["image"] = "registry.lab/app:1"
    w["replicas"] = draw(st.integers(0, 3))
    w["priority"] = draw(st.integers(0, 2))
    platforms = draw(st.sampled_from(PLATFORMS))
    if platforms:
        w["platforms"] = platforms
    resources: dict[str, Any] = {}
    cpu = draw(st.sampled_from([None, "100m", "500m", "1500m"]))
    memory = draw(st.sampled_from([None, "64Mi", "512Mi", "1Gi", "3Gi"]))
    if cpu:
        resources["cpu"] = cpu
    if memory:
        resources["memory"] = memory
    if klass.startswith("gpu"):
        resources["gpu"] = draw(st.integers(0, 2))
        resources["gpuMemory"] = draw(st.sampled_from(["2Gi", "6Gi", "12Gi"]))
    w["resources"] = resources
    if draw(st.booleans()):
        w["limits"] = {"memory": draw(st.sampled_from(["1Gi", "4Gi"]))}
    port = draw(st.sampled_from([None, 80, 8080]))
    if port:
        w["ports"] = {"http": port}
        w["hostPorts"] = {"http": port}
    placement: dict[str, Any] = {}
    if draw(st.booleans()) and draw(st.booleans()):
        placement["nodeSelector"] = {"disk": "ssd"}
    tolerations = draw(
        st.lists(st.sampled_from(["gpu", "soft", "drain:NoExecute"]), max_size=2, unique=True)
    )
    if tolerations:
        placement["tolerations"] = tolerations
    if draw(st.booleans()):
        placement["prefer"] = {"disk": "hdd"}
    w["placement"] = placement
    if klass == "database" or (draw(st.booleans()) and draw(st.booleans())):
        size = draw(st.sampled_from(["1Gi", "8Gi", "20Gi"]))
        w["volumes"] = {"data": {"mount": "/data", "size": size}}
    return w


@st.composite
def homelab_data(draw: st.DrawFn) -> dict[str, Any]:
    k3s = draw(st.integers(1, 5))
    nodes = {f"n{i}": draw(k3s_node(i)) for i in range(k3s)}
    environments: dict[str, Any] = {
        "cluster": {
            "type": "k3s",
            "ingress": {"class": draw(st.sampled_from(["traefik", "nginx"]))},
            "nodes": nodes,
        },
    }
    machines = draw(st.integers(0, 2))
    if machines:
        environments["gpu"] = {
            "type": "docker",
            "host": "ssh://ops@10.0.0.9",
            "nodes": {f"m{i}": draw(docker_node()) for i in range(machines)},
        }
    hosts = [*nodes, *(f"m{i}" for i in range(machines))]
    runners = {
        f"r{i}": {
            "node": draw(st.sampled_from(hosts)),
            "labels": draw(st.lists(st.sampled_from(LABELS), max_size=3, unique=True)),
            "capacity": draw(st.integers(1, 2)),
        }
        for i in range(draw(st.integers(0, 2)))
    }
    environments["ci"] = {"type": "gitea", "url": "https://git.lab", "runners": runners}
    classes = draw(st.lists(st.sampled_from(CLASSES), min_size=1, max_size=10))
    workloads = {f"w{i}": draw(workload(k)) for i, k in enumerate(classes)}
    return {
        "apiVersion": "bulkhead/v1alpha1",
        "kind": "Homelab",
        "metadata": {"name": "prop"},
        "environments": environments,
        "namespaces": {"apps": {}},
        "workloads": workloads,
    }


def to_spec(data: dict[str, Any]) -> tuple[Homelab, str]:
    """The spec, and its YAML text (parsed by the real loader)."""
    text = yaml.safe_dump(data, sort_keys=False)
    return parse_spec(text, "prop.yaml"), text
