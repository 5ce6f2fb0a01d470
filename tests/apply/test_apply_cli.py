"""``bulkhead apply`` and ``bulkhead diff`` as a user runs them: a real subprocess, the reference
homelab rendered by the real renderer, the fake API server on a socket, podman for the GPU side."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bulkhead.testing.fakekube import FakeKube, serve, write_kubeconfig
from tests.conftest import EXAMPLES
from tests.support.cli import run_cli

TOKEN = "SENTINEL-TOKEN-0badc0ffee"


@pytest.fixture(autouse=True)
def example_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference homelab's secrets file where its spec reads it (``~/.config/bulkhead``)."""
    folder = tmp_path / "home" / ".config" / "bulkhead"
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLES / "secrets.env.example", folder / "attic.env")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKube]:
    """The fake API server on 127.0.0.1, named by a kubeconfig context "lab" in $KUBECONFIG."""
    fake = FakeKube()
    with serve(fake) as url:
        config = write_kubeconfig(tmp_path / "kubeconfig", url, context="lab", token=TOKEN)
        monkeypatch.setenv("KUBECONFIG", str(config))
        yield fake


def test_diff_apply_diff_on_the_reference_homelab(kube, homelab_path):
    first = run_cli("diff", str(homelab_path), "--env", "cluster", "--context", "lab")
    applied = run_cli("apply", str(homelab_path), "--env", "cluster", "--context", "lab")
    again = run_cli("diff", str(homelab_path), "--env", "cluster", "--context", "lab")
    second = run_cli("apply", str(homelab_path), "--env", "cluster", "--context", "lab")

    assert first.returncode == 1, first.stderr
    assert "+++ bulkhead/apps/deployment/bible-api" in first.stdout
    assert applied.returncode == 0, applied.stderr
    assert "created        namespace/apps" in applied.stdout
    assert "rollout        apps/deployment/bible-api: 2/2 replicas available" in applied.stdout
    assert (again.returncode, again.stdout.splitlines()[-1]) == (0, "# no changes")
    assert second.returncode == 0
    assert "created" not in second.stdout
    assert len([o for o in kube.objects() if o["kind"] == "Deployment"]) == 6
    for run in (first, applied, again, second):
        assert TOKEN not in run.stdout + run.stderr


def test_an_unnamed_context_is_refused_and_nothing_changes(kube, homelab_path):
    refused = run_cli("apply", str(homelab_path), "--env", "cluster")

    assert refused.returncode == 1
    assert "refusing the current kubeconfig context 'lab'" in refused.stderr
    assert "pass --context lab" in refused.stderr
    assert TOKEN not in refused.stdout + refused.stderr
    assert kube.objects() == []


def test_an_unreachable_cluster_exits_4(tmp_path, monkeypatch, homelab_path):
    config = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:9", context="lab", token=TOKEN)
    monkeypatch.setenv("KUBECONFIG", str(config))

    down = run_cli("diff", str(homelab_path), "--env", "cluster", "--context", "lab")

    assert down.returncode == 4
    assert "cannot reach the cluster, context lab" in down.stderr
    assert "Traceback" not in down.stderr
    assert TOKEN not in down.stderr


def test_an_unknown_environment_is_invalid_input(homelab_path):
    result = run_cli("apply", str(homelab_path), "--env", "gpus")

    assert result.returncode == 3
    assert "no environment named gpus" in result.stderr


def gpu_spec(path: Path, podman, name: str = "gpu-lab") -> Path:
    """A homelab whose docker environment is the test podman engine."""
    path.write_text(
        textwrap.dedent(f"""\
        apiVersion: bulkhead/v1alpha1
        kind: Homelab
        metadata: {{name: {podman.homelab}}}
        environments:
          {name}:
            type: docker
            host: {podman.host}
            address: 127.0.0.1
            nodes:
              box: {{arch: amd64, cpu: 4, memory: 4Gi,
                    gpus: [{{model: RTX 3090, memory: 24Gi}}]}}
        workloads:
          web:
            class: gpu-service
            image: {podman.image}
            platforms: [linux/amd64]
            resources: {{cpu: 500m, memory: 64Mi, gpu: 1, gpuMemory: 1Gi}}
            ports: {{http: 8080}}
            health: {{path: /healthz, port: http}}
        """),
        encoding="utf-8",
    )
    return path


@pytest.mark.podman
@pytest.mark.xdist_group("podman")
def test_apply_and_diff_deploy_the_rendered_compose_to_the_engine(podman, tmp_path):
    spec = gpu_spec(tmp_path / "homelab.yaml", podman)

    applied = run_cli("apply", str(spec), "--timeout", "60")
    diff = run_cli("diff", str(spec))
    again = run_cli("apply", str(spec))

    name = f"{podman.homelab}-gpu-lab-web"  # the render names the compose project
    assert applied.returncode == 0, applied.stderr
    assert f"created        {name} (new service)" in applied.stdout
    container = podman.client().containers.get(name)
    assert container.attrs["State"]["Health"]["Status"] == "healthy"
    assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True
    assert (diff.returncode, diff.stdout.splitlines()[-1]) == (0, f"  unchanged      {name}")
    assert f"unchanged      {name}" in again.stdout
