"""Deploying compose services to a real podman engine through the Docker Engine API."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from bulkhead.apply.compose import CONFIG_HASH
from bulkhead.apply.deploy import DeployOptions, StepKind, UnhealthyContainers, deploy_docker
from bulkhead.apply.engine import API_VERSION, DockerEngine, connect_engine
from bulkhead.errors import ApplyError, LayerUnreachable

pytestmark = [pytest.mark.podman, pytest.mark.xdist_group("podman")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def compose(podman, project: str, port: int, data: Path, **changes: Any) -> dict[str, Any]:
    """Two services like the GPU machine's: an API with a health check and a GPU worker."""
    web = {
        "image": podman.image,
        "restart": "unless-stopped",
        "ports": [f"127.0.0.1:{port}:8080"],
        "volumes": [f"{data}:/data"],
        "healthcheck": {
            "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"],
            "interval": "1s",
            "timeout": "2s",
            "retries": 2,
        },
        "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "64m"}}},
        "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
    }
    worker = {
        "image": podman.image,
        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
        "restart": "unless-stopped",
        "environment": {"BATCH": "32"},
        "deploy": {
            "resources": {
                "limits": {"memory": "32m"},
                "reservations": {
                    "devices": [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
                },
            }
        },
    }
    services = {"web": web, "worker": worker}
    for name, body in changes.items():
        if body is None:
            services.pop(name)
        else:
            services[name] = {**services[name], **body}
    return {"name": project, "services": services}


@pytest.fixture
def project(request) -> str:
    return f"bh{abs(hash(request.node.name)) % 10**8}"


@pytest.fixture
def sent(podman) -> list[dict[str, Any]]:
    """The container-create bodies the engine received, recorded on the wire."""
    return []


@pytest.fixture
def engine(podman, sent) -> Iterator[DockerEngine]:
    client = docker.DockerClient(base_url=podman.host, version=API_VERSION, timeout=60)

    def record(response, *args, **kwargs):
        request = response.request
        if request.method == "POST" and request.path_url.split("?")[0].endswith(
            "/containers/create"
        ):
            sent.append(json.loads(request.body))

    client.api.hooks["response"].append(record)
    with DockerEngine(client, podman.host) as engine:
        yield engine


def logs_of(container, wait: float = 10.0) -> bytes:
    """The container's log once it has written something (it may still be starting)."""
    deadline = time.monotonic() + wait
    while not (logs := container.logs()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return bytes(logs)


def ids(podman) -> dict[str, str]:
    """Every container on the engine: name → ID."""
    return {c.name: c.id for c in podman.client().containers.list(all=True)}


def deploy(engine, podman, document):
    """Each test is its own environment (one project), so tests never see each other's."""
    environment = document["name"]
    return deploy_docker(
        engine,
        document,
        homelab=podman.homelab,
        environment=environment,
        options=DeployOptions(timeout=60),
    )


def test_deploy_change_remove_and_leave_strangers_alone(engine, podman, project, sent, tmp_path):
    port = free_port()
    stranger = podman.client().containers.run(
        podman.image, ["sleep", "3600"], detach=True, name=f"{project}-stranger"
    )
    impostor = podman.client().containers.run(
        podman.image,
        ["sleep", "3600"],
        detach=True,
        name=f"{project}-impostor",
        labels={"app.kubernetes.io/managed-by": "bulkhead", "bulkhead.dev/homelab": "other"},
    )
    strangers = {stranger.name: stranger.id, impostor.name: impostor.id}

    # 1. two services deployed, healthy, with their limits, ports, volumes and GPU request
    first = deploy(engine, podman, compose(podman, project, port, tmp_path))
    assert [(s.kind, s.service) for s in first.steps] == [
        (StepKind.create, "web"),
        (StepKind.create, "worker"),
    ]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        assert answer.read() == b"ok 1\n"
    web = podman.client().containers.get(f"{project}-web")
    assert web.attrs["State"]["Health"]["Status"] == "healthy"
    assert web.attrs["HostConfig"]["Memory"] == 64 * 2**20
    assert web.attrs["HostConfig"]["NanoCpus"] == 500_000_000
    assert web.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert web.attrs["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
    assert any(b.startswith(f"{tmp_path}:/data") for b in web.attrs["HostConfig"]["Binds"])
    worker_body = next(b for b in sent if b["Labels"]["bulkhead.dev/service"] == "worker")
    assert worker_body["HostConfig"]["DeviceRequests"] == [
        {"Driver": "nvidia", "Count": 1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}
    ]
    before = ids(podman)

    # 2. a second apply changes nothing
    sent.clear()
    again = deploy(engine, podman, compose(podman, project, port, tmp_path))
    assert {s.kind for s in again.steps} == {StepKind.unchanged}
    assert sent == []
    assert ids(podman) == before

    # 3. one service changed: only it is recreated
    changed = compose(podman, project, port, tmp_path, worker={"environment": {"BATCH": "64"}})
    third = deploy(engine, podman, changed)
    assert [(s.kind, s.service, s.reason) for s in third.steps] == [
        (StepKind.unchanged, "web", ""),
        (StepKind.recreate, "worker", "configuration changed"),
    ]
    after = ids(podman)
    assert after[f"{project}-web"] == before[f"{project}-web"]
    assert after[f"{project}-worker"] != before[f"{project}-worker"]

    # 4. one service removed: its container goes, nothing else
    fourth = deploy(engine, podman, compose(podman, project, port, tmp_path, worker=None))
    assert [(s.kind, s.name) for s in fourth.steps] == [
        (StepKind.unchanged, f"{project}-web"),
        (StepKind.remove, f"{project}-worker"),
    ]
    remaining = ids(podman)
    assert f"{project}-worker" not in remaining
    assert remaining[f"{project}-web"] == before[f"{project}-web"]
    assert {n: remaining.get(n) for n in strangers} == strangers


def test_a_new_image_behind_the_same_tag_recreates(engine, podman, project, tmp_path):
    tag = f"localhost/{project}:latest"
    podman.podman("tag", podman.image, tag)
    document = compose(podman, project, free_port(), tmp_path, web={"image": tag}, worker=None)
    deploy(engine, podman, document)

    podman.podman("tag", podman.image_v2, tag)
    plan = deploy(engine, podman, document)

    assert [(s.kind, s.reason) for s in plan.steps] == [(StepKind.recreate, f"image {tag} changed")]


def test_a_stopped_container_is_started_not_recreated(engine, podman, project, tmp_path):
    document = compose(podman, project, free_port(), tmp_path, web=None)
    deploy(engine, podman, document)
    worker = podman.client().containers.get(f"{project}-worker")
    worker.stop(timeout=0)

    plan = deploy(engine, podman, document)

    assert [s.kind for s in plan.steps] == [StepKind.start]
    worker.reload()
    assert worker.status == "running"
    assert podman.client().containers.get(f"{project}-worker").id == worker.id


def test_a_name_taken_by_a_stranger_is_refused_and_the_stranger_kept(
    engine, podman, project, tmp_path
):
    stranger = podman.client().containers.run(
        podman.image, ["sleep", "3600"], detach=True, name=f"{project}-worker"
    )

    with pytest.raises(ApplyError, match="bulkhead did not create it"):
        deploy(engine, podman, compose(podman, project, free_port(), tmp_path, web=None))

    assert podman.client().containers.get(f"{project}-worker").id == stranger.id


def test_an_unhealthy_service_is_named_with_its_check_output(engine, podman, project, tmp_path):
    failing = {
        "healthcheck": {
            "test": ["CMD-SHELL", "echo database unreachable; exit 1"],
            "interval": "1s",
            "retries": 1,
        }
    }
    document = compose(podman, project, free_port(), tmp_path, web=failing, worker=None)

    with pytest.raises(UnhealthyContainers, match=f"{project}-web: health check failing"):
        deploy(engine, podman, document)


def test_the_hash_label_records_the_configuration(engine, podman, project, tmp_path):
    deploy(engine, podman, compose(podman, project, free_port(), tmp_path, web=None))

    labels = podman.client().containers.get(f"{project}-worker").labels

    assert len(labels[CONFIG_HASH]) == 16
    assert labels["bulkhead.dev/homelab"] == podman.homelab
    assert labels["bulkhead.dev/environment"] == project


def test_an_engine_that_does_not_answer_is_unreachable(tmp_path):
    with pytest.raises(LayerUnreachable, match="cannot reach the Docker engine"):
        connect_engine(f"unix://{tmp_path}/nothing.sock", timeout=2)


def test_config_files_are_in_place_before_start_and_named_volumes_are_made(
    engine, podman, project, tmp_path
):
    reader = {
        "command": ["sh", "-c", "cat /etc/app/app.yaml; trap 'exit 0' TERM; sleep 3600 & wait"],
        "read_only": True,
        "configs": [{"source": "app", "target": "/etc/app/app.yaml"}],
        "volumes": ["cache:/cache"],
        "deploy": {},
    }
    document = compose(podman, project, free_port(), tmp_path, web=None, worker=reader)
    document["configs"] = {"app": {"content": "greeting: from bulkhead\n"}}
    document["volumes"] = {"cache": {}}

    deploy(engine, podman, document)

    worker = podman.client().containers.get(f"{project}-worker")
    assert logs_of(worker) == b"greeting: from bulkhead\n"
    volume = podman.client().volumes.get(f"{project}_cache")
    assert volume.attrs["Labels"]["bulkhead.dev/homelab"] == podman.homelab
