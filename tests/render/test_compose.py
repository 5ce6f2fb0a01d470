"""The GPU machine's compose document, against what the spec and the placement say."""

from __future__ import annotations

from typing import Any

import pytest

from bulkhead.placement import PlacementResult, plan
from bulkhead.render import render_compose
from bulkhead.spec import DockerEnvironment, Homelab
from bulkhead.spec.quantity import Quantity
from tests.render.specs import variant

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def compose(example: Homelab, example_placement: PlacementResult) -> Obj:
    documents = render_compose(example, example_placement)
    assert list(documents) == ["gpu"]
    return documents["gpu"]


def _bytes(text: str) -> int:
    number, unit = int(text[:-1]), text[-1]
    return number * {"b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[unit]


def test_one_service_per_workload_placed_there(example: Homelab, compose: Obj) -> None:
    placed = [n for n, w in example.workloads.items() if w.class_.value.startswith("gpu")]
    assert [s for s in compose["services"] if not s.startswith("backup-")] == placed
    assert compose["name"] == "attic-gpu"


def test_ports_are_published_only_for_apis_on_the_environment_address(
    example: Homelab, compose: Obj
) -> None:
    env = example.environments["gpu"]
    assert isinstance(env, DockerEnvironment)
    published = {name: s.get("ports", []) for name, s in compose["services"].items()}
    assert published["gateway"] == [f"{env.address}:8080:8080"]
    assert published["ollama"] == [f"{env.address}:11434:11434"]
    assert published["embed-corpus"] == []
    every = [p for ports in published.values() for p in ports]
    assert all(not p.startswith(("0.0.0.0", ":")) and p.count(":") == 2 for p in every)


def test_limits_match_what_placement_packed(example: Homelab, compose: Obj) -> None:
    for name in ("gateway", "ollama", "embed-corpus"):
        workload = example.workloads[name]
        limits = compose["services"][name]["deploy"]["resources"]["limits"]
        assert workload.resources.cpu is not None
        assert workload.resources.memory is not None
        assert Quantity.parse(limits["cpus"]).millis == workload.resources.cpu.millis
        assert _bytes(limits["memory"]) == workload.resources.memory.units


def test_gpu_reservation(compose: Obj) -> None:
    devices = compose["services"]["gateway"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


def test_placement_picks_the_gpus_on_a_multi_gpu_machine() -> None:
    def edit(data: Obj) -> None:
        rtx = data["environments"]["gpu"]["nodes"]["rtx"]
        rtx["gpus"] = [{"model": "RTX 3090", "memory": "24Gi"}] * 2
        data["workloads"]["ollama"]["resources"]["gpuMemory"] = "20Gi"
        data["workloads"]["gateway"]["resources"]["gpuMemory"] = "10Gi"

    spec = variant(edit)
    placement = plan(spec)
    services = render_compose(spec, placement)["gpu"]["services"]
    for name in ("gateway", "ollama"):
        (assignment,) = placement.of(name)
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices == [
            {
                "driver": "nvidia",
                "device_ids": [str(i) for i in assignment.gpus],
                "capabilities": ["gpu"],
            }
        ]
    gateway, ollama = (placement.of(n)[0].gpus for n in ("gateway", "ollama"))
    assert gateway != ollama  # 10Gi + 20Gi do not share one 24Gi GPU


def test_service_lifecycle_health_and_logs(compose: Obj) -> None:
    gateway = compose["services"]["gateway"]
    assert gateway["restart"] == "unless-stopped"
    test = gateway["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    assert "http://127.0.0.1:8080/readyz" in test[1]
    assert gateway["logging"] == {
        "driver": "json-file",
        "options": {"max-size": "10m", "max-file": "3"},
    }
    batch = compose["services"]["embed-corpus"]
    assert batch["profiles"] == ["batch"]
    assert batch["restart"].startswith("on-failure")


def test_security_mirrors_the_cluster(compose: Obj) -> None:
    gateway = compose["services"]["gateway"]
    assert gateway["cap_drop"] == ["ALL"]
    assert gateway["security_opt"] == ["no-new-privileges:true"]
    assert gateway["read_only"] is True
    assert gateway["tmpfs"] == ["/tmp"]


def test_volumes_live_under_the_node_storage_path(example: Homelab, compose: Obj) -> None:
    env = example.environments["gpu"]
    assert isinstance(env, DockerEnvironment)
    assert env.nodes["rtx"].storage is not None
    root = env.nodes["rtx"].storage.path
    mount = example.workloads["gateway"].volumes["state"].mount
    assert compose["services"]["gateway"]["volumes"] == [f"{root}/gateway/state:{mount}"]


def test_command_args_env_and_config_files(example: Homelab, compose: Obj) -> None:
    gateway = compose["services"]["gateway"]
    workload = example.workloads["gateway"]
    assert gateway["entrypoint"] == workload.command
    assert gateway["command"] == workload.args
    assert gateway["environment"] == {"HF_HUB_OFFLINE": "1"}
    (config,) = gateway["configs"]
    assert config["target"] == "/etc/bulkhead/gateway.yaml"
    text = example.file_text("gateway", "/etc/bulkhead/gateway.yaml")
    assert compose["configs"][config["source"]]["content"] == text.replace("$", "$$")


def test_dollars_are_escaped_from_compose_interpolation() -> None:
    spec = variant(lambda d: d["workloads"]["gateway"]["env"].update(TOKEN="a$b"))
    gateway = render_compose(spec, plan(spec))["gpu"]["services"]["gateway"]
    assert gateway["environment"]["TOKEN"] == "a$$b"


def test_secrets_are_files_under_run_bulkhead_secrets_never_values() -> None:
    def edit(data: Obj) -> None:
        data["workloads"]["gateway"]["secretEnv"] = {"DB_PASSWORD": "postgres.postgres-password"}

    spec = variant(edit)
    document = render_compose(spec, plan(spec))["gpu"]
    gateway = document["services"]["gateway"]
    root = "/run/bulkhead/secrets/attic"
    assert gateway["env_file"] == [{"path": f"{root}/gateway.env", "required": True}]
    assert "DB_PASSWORD" not in gateway.get("environment", {})
    ref = "postgres.postgres-password"
    assert gateway["secrets"] == [{"source": ref, "target": ref}]
    assert document["secrets"] == {ref: {"file": f"{root}/postgres/postgres-password"}}


def test_backed_up_volume_gets_a_restic_service_and_an_nfs_volume(
    example: Homelab, compose: Obj
) -> None:
    backup = compose["services"]["backup-gateway-state"]
    assert backup["profiles"] == ["backup"]
    assert backup["volumes"][0].endswith(":/data:ro")
    retain = example.workloads["gateway"].volumes["state"].backup
    assert retain is not None
    assert f"--keep-last {retain.retain}" in backup["entrypoint"][-1]
    share = compose["volumes"]["backup-nas"]
    assert share["driver_opts"]["type"] == "nfs"
    assert share["driver_opts"]["device"] == ":/backups"
    assert "addr=nas.lan" in share["driver_opts"]["o"]
