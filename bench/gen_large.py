"""Generate a large, realistic, fully valid homelab spec (deterministic for a given seed).

    python bench/gen_large.py                      # examples/large.yaml: 100 nodes, 1,000 workloads
    python bench/gen_large.py --workloads 5000 --nodes 500 -o /tmp/huge.yaml

The homelab grows the reference one: a K3s cluster of Raspberry Pis (Pi 4 8Gi, Pi 5 16Gi) with
a few amd64 mini PCs and NVMe "fast" nodes for databases, docker GPU machines (two 24Gi GPUs
each), and Gitea runners. Workloads mix services (1-3 replicas), databases with backed-up
volumes, caches, CI runners, GPU services and batches exposing apis, and CI jobs. Sizes are
drawn so that the default 100 nodes / 1,000 workloads fit with headroom; ``--scale`` multiplies
every request (use ``1000/W`` to keep the demand of W workloads on the same nodes constant).
"""

from __future__ import annotations

import argparse
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

HEADER = "# yaml-language-server: $schema=../schema/bulkhead.schema.json\n"
GPU_SHARE = 25  # one GPU machine per this many nodes
NAMESPACES = ("apps", "platform", "data", "ci", "batch")
CLASS_WEIGHTS = {
    "service": 68,
    "database": 8,
    "cache": 7,
    "ci-runner": 2,
    "gpu-service": 3,
    "gpu-batch": 4,
    "ci-job": 8,
}


def _mi(value: float) -> str:
    return f"{max(1, round(value))}Mi"


def _milli(value: float) -> str:
    return f"{max(1, round(value))}m"


class Generator:
    """Builds the spec as plain data; every random draw goes through one seeded RNG."""

    def __init__(self, nodes: int, workloads: int, seed: int, scale: Fraction) -> None:
        self.rng = random.Random(seed)
        self.node_count = nodes
        self.workload_count = workloads
        self.scale = float(scale)
        self.gpu_nodes = max(1, nodes // GPU_SHARE)
        self.k3s_nodes = max(1, nodes - self.gpu_nodes)
        self.by_class: dict[str, list[str]] = {k: [] for k in CLASS_WEIGHTS}
        self.apis: dict[str, Any] = {}

    def spec(self) -> dict[str, Any]:
        workloads = self._workloads()
        return {
            "apiVersion": "bulkhead/v1alpha1",
            "kind": "Homelab",
            "metadata": {"name": "large"},
            "environments": self._environments(),
            "apis": self.apis,
            "namespaces": {ns: ({"sensitive": True} if ns == "data" else {}) for ns in NAMESPACES},
            "backups": {"targets": {"nas": {"type": "nfs", "url": "nfs://nas.lan/backups"}}},
            "workloads": workloads,
        }

    def _environments(self) -> dict[str, Any]:
        return {
            "cluster": {
                "type": "k3s",
                "version": "1.31",
                "ingress": {"class": "traefik", "domain": "lab.home"},
                "serverOverhead": {"cpu": "500m", "memory": "800Mi"},
                "nodes": {f"node-{i:03d}": self._k3s_node(i) for i in range(self.k3s_nodes)},
            },
            "gpu": {
                "type": "docker",
                "host": "ssh://ops@192.168.1.20",
                "address": "192.168.1.20",
                "nodes": {f"gpu-{i:02d}": self._gpu_node() for i in range(self.gpu_nodes)},
            },
            "ci": {"type": "gitea", "url": "https://git.lab.home", "runners": self._runners()},
        }

    def _k3s_node(self, i: int) -> dict[str, Any]:
        if i % 8 == 7:  # NVMe nodes: the fast tier, for databases
            storage = {"class": "nvme", "size": "476Gi", "tier": "fast"}
            return {
                "role": "agent",
                "arch": "arm64",
                "cpu": 4,
                "memory": "16Gi",
                "storage": storage,
            }
        if i % 10 == 9:  # amd64 mini PCs, softly kept for amd64-only images
            return {
                "role": "agent",
                "arch": "amd64",
                "cpu": 8,
                "memory": "32Gi",
                "storage": {"class": "local-path", "size": "238Gi"},
                "taints": ["bulkhead.dev/mini-pc=true:PreferNoSchedule"],
                "labels": {"bulkhead.dev/form": "mini-pc"},
            }
        memory = "16Gi" if i % 3 == 0 else "8Gi"
        role = "server" if i < 3 else "agent"
        return {
            "role": role,
            "arch": "arm64",
            "cpu": 4,
            "memory": memory,
            "storage": {"class": "local-path", "size": "58Gi"},
        }

    def _gpu_node(self) -> dict[str, Any]:
        gpus = [{"model": "RTX 3090", "memory": "24Gi"}, {"model": "RTX 3090", "memory": "24Gi"}]
        storage = {"class": "nvme", "size": "2Ti", "tier": "fast", "path": "/srv/bulkhead"}
        return {"arch": "amd64", "cpu": 32, "memory": "128Gi", "storage": storage, "gpus": gpus}

    def _runners(self) -> dict[str, Any]:
        runners: dict[str, Any] = {}
        for i in range(max(2, self.node_count // 20)):
            runners[f"pi-runner-{i}"] = {
                "node": f"node-{(i * 5) % self.k3s_nodes:03d}",
                "labels": ["arm64", "cluster"],
                "capacity": 2,
            }
        for i in range(self.gpu_nodes):
            runners[f"gpu-runner-{i}"] = {
                "node": f"gpu-{i:02d}",
                "labels": ["gpu", "amd64"],
                "capacity": 1,
            }
        return runners

    def _workloads(self) -> dict[str, Any]:
        classes = self.rng.choices(
            list(CLASS_WEIGHTS), list(CLASS_WEIGHTS.values()), k=self.workload_count
        )
        # Databases and caches come first so that services can use them.
        order = sorted(
            range(self.workload_count), key=lambda i: classes[i] not in ("database", "cache")
        )
        workloads: dict[str, Any] = {}
        for n, i in enumerate(order):
            name = f"{classes[i]}-{n:04d}".replace("ci-job", "job").replace("ci-runner", "runner")
            workloads[name] = getattr(self, "_" + classes[i].replace("-", "_"))(name)
            self.by_class[classes[i]].append(name)
        return workloads

    def _requests(self, cpu: tuple[int, int], memory: tuple[int, int]) -> dict[str, str]:
        return {
            "cpu": _milli(self.rng.randint(*cpu) * self.scale),
            "memory": _mi(self.rng.randint(*memory) * self.scale),
        }

    def _platforms(self) -> list[str]:
        roll = self.rng.random()
        if roll < 0.05:
            return ["linux/amd64"]
        return ["linux/arm64"] if roll < 0.2 else ["linux/arm64", "linux/amd64"]

    def _service(self, name: str) -> dict[str, Any]:
        targets = self.by_class["database"] + self.by_class["cache"]
        uses = self.rng.sample(targets, k=min(2, len(self.by_class["database"])))
        workload: dict[str, Any] = {
            "class": "service",
            "namespace": self.rng.choice(("apps", "platform")),
            "image": f"git.lab.home/me/{name}:1.{self.rng.randint(0, 9)}.0",
            "platforms": self._platforms(),
            "replicas": self.rng.choice((1, 1, 2, 2, 3)),
            "resources": self._requests((25, 250), (48, 384)),
            "ports": {"http": 8000},
            "health": {"path": "/healthz", "port": "http"},
        }
        if uses:
            workload["uses"] = uses
        if self.rng.random() < 0.3:
            workload["ingress"] = {"host": f"{name}.lab.home", "port": "http"}
        if self.rng.random() < 0.1:
            workload["placement"] = {
                "prefer": {"bulkhead.dev/form": "mini-pc"},
                "tolerations": ["bulkhead.dev/mini-pc"],
            }
        return workload

    def _database(self, name: str) -> dict[str, Any]:
        size = f"{self.rng.choice((5, 10, 20))}Gi"
        backup = {"schedule": "0 3 * * *", "to": "nas", "retain": 7}
        return {
            "class": "database",
            "namespace": "data",
            "image": "postgres:16.4",
            "platforms": ["linux/arm64", "linux/amd64"],
            "resources": self._requests((100, 500), (256, 1024)),
            "ports": {"pg": 5432},
            "health": {"port": "pg"},
            "volumes": {
                "data": {"mount": "/var/lib/postgresql/data", "size": size, "backup": backup}
            },
            "security": {"runAsUser": 999, "readOnlyRootFilesystem": False},
        }

    def _cache(self, name: str) -> dict[str, Any]:
        return {
            "class": "cache",
            "namespace": "data",
            "image": "redis:7.4.1",
            "platforms": ["linux/arm64", "linux/amd64"],
            "resources": self._requests((50, 200), (64, 512)),
            "ports": {"redis": 6379},
            "health": {"port": "redis"},
            "security": {"runAsUser": 999},
        }

    def _ci_runner(self, name: str) -> dict[str, Any]:
        return {
            "class": "ci-runner",
            "namespace": "ci",
            "image": "docker.gitea.com/act_runner:0.2.11",
            "platforms": ["linux/arm64", "linux/amd64"],
            "resources": self._requests((200, 500), (256, 512)),
            "security": {"privileged": True, "readOnlyRootFilesystem": False},
        }

    def _gpu(self, name: str, klass: str) -> dict[str, Any]:
        requests = self._requests((250, 1500), (1024, 6144))
        vram = _mi(self.rng.randint(512, 3072) * self.scale)
        resources: dict[str, Any] = {**requests, "gpu": 1, "gpuMemory": vram}
        workload: dict[str, Any] = {
            "class": klass,
            "image": f"git.lab.home/me/{name}:0.1.0",
            "platforms": ["linux/amd64"],
            "resources": resources,
        }
        if klass == "gpu-service":
            port = 9000 + len(self.apis)
            self.apis[name] = {"provider": name, "port": "http"}
            workload.update(
                ports={"http": port}, health={"path": "/readyz", "port": "http"}, exposes=[name]
            )
        return workload

    def _gpu_service(self, name: str) -> dict[str, Any]:
        return self._gpu(name, "gpu-service")

    def _gpu_batch(self, name: str) -> dict[str, Any]:
        return self._gpu(name, "gpu-batch")

    def _ci_job(self, name: str) -> dict[str, Any]:
        runs_on = self.rng.choice((["arm64", "cluster"], ["gpu"], ["amd64"]))
        return {
            "class": "ci-job",
            "ci": {"on": ["push"], "runsOn": runs_on, "steps": [{"run": "make test"}]},
        }


def generate(
    nodes: int = 100, workloads: int = 1000, seed: int = 7, scale: Fraction = Fraction(1)
) -> str:
    """The spec as YAML text, with the schema header line."""
    data = Generator(nodes, workloads, seed, scale).spec()
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
    return (
        HEADER
        + f"# generated by bench/gen_large.py --nodes {nodes} --workloads {workloads}\n"
        + body
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--workloads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=Fraction, default=Fraction(1))
    parser.add_argument("-o", "--output", type=Path, default=Path("examples/large.yaml"))
    args = parser.parse_args()
    text = generate(args.nodes, args.workloads, args.seed, args.scale)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}: {args.nodes} nodes, {args.workloads} workloads")


if __name__ == "__main__":
    main()
