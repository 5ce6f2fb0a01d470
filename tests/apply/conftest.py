"""Fixtures of the apply tests: the fake API server behind lightkube, and a real podman engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from bulkhead.apply.engine import API_VERSION
from bulkhead.apply.kube import KubeCluster, Target, connect
from bulkhead.testing.fakekube import SERVER, FakeKube, fake_config


@pytest.fixture
def fake() -> FakeKube:
    return FakeKube()


@pytest.fixture
def cluster(fake: FakeKube) -> KubeCluster:
    return connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)


# -- a real podman engine ----------------------------------------------------------------------


@dataclass
class Podman:
    """A podman service on a private socket and storage, with two locally built test images."""

    host: str
    root: Path  # storage
    run: Path  # runroot and socket: podman refuses a runroot longer than 50 characters
    env: dict[str, str]
    image: str = "localhost/bulkhead-test:1"
    image_v2: str = "localhost/bulkhead-test:2"
    homelab: str = field(default_factory=lambda: f"pt{uuid.uuid4().hex[:8]}")

    def podman(self, *args: str) -> str:
        """Run the podman CLI against this service's storage."""
        done = subprocess.run(
            [*_podman(self.root, self.run), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    _client: docker.DockerClient | None = None

    def client(self) -> docker.DockerClient:
        """One shared client for the session (closed when the service stops)."""
        if self._client is None:
            self._client = docker.DockerClient(base_url=self.host, version=API_VERSION, timeout=60)
        return self._client


@pytest.fixture(scope="session")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    """Start ``podman system service`` for the session; stop it and remove what it ran after."""
    missing = [tool for tool in ("podman", "busybox") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run scripts/setup-system.sh")
    root = tmp_path_factory.mktemp("podman")
    run = Path(tempfile.mkdtemp(prefix="bh-podman-", dir="/tmp"))
    env = {**os.environ, "CONTAINERS_CONF": str(_containers_conf(root))}
    engine = Podman(f"unix://{run}/podman.sock", root, run, env)
    with (root / "service.log").open("w") as log:
        service = subprocess.Popen(
            [*_podman(root, run), "system", "service", "--time=0", engine.host],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        _wait_for(engine)
        _build_images(engine, root)
        with _health_ticker(engine):
            yield engine
    finally:
        _cleanup(engine)
        engine.client().close()
        service.terminate()
        service.wait(timeout=30)
        shutil.rmtree(run, ignore_errors=True)


def _podman(root: Path, run: Path) -> list[str]:
    """podman on private storage; vfs leaves no overlay mount behind on the host."""
    storage = ["--root", f"{root}/root", "--runroot", f"{run}/run", "--storage-driver", "vfs"]
    return ["podman", *storage]


def _containers_conf(root: Path) -> Path:
    """The sandbox needs the ulimits; hybrid-cgroup VMs need runc (crun refuses them)."""
    lines = ["[containers]", 'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]']
    if shutil.which("runc"):
        lines += ["[engine]", 'runtime = "runc"']
    path = root / "containers.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _wait_for(engine: Podman) -> None:
    """Wait for the socket, then for an answer (a refused connect leaks a socket in the SDK)."""
    deadline = time.monotonic() + 30
    socket = Path(engine.host.removeprefix("unix://"))
    while not socket.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    while True:
        try:
            probe = docker.DockerClient(base_url=engine.host, version=API_VERSION, timeout=5)
            try:
                probe.ping()
            finally:
                probe.close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _build_images(engine: Podman, root: Path) -> None:
    """Two images from busybox-static (no registry here): an HTTP server answering /healthz
    (``ok 1`` or ``ok 2``) that stops at once on SIGTERM."""
    for tag, version in ((engine.image, "1"), (engine.image_v2, "2")):
        rootfs = root / f"rootfs-{version}"
        (rootfs / "bin").mkdir(parents=True)
        (rootfs / "www").mkdir()
        (rootfs / "tmp").mkdir()
        shutil.copy(shutil.which("busybox") or "", rootfs / "bin" / "busybox")
        applets = subprocess.run(
            [str(rootfs / "bin" / "busybox"), "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
        for applet in applets:
            if applet != "busybox":
                (rootfs / "bin" / applet).symlink_to("busybox")
        (rootfs / "www" / "healthz").write_text(f"ok {version}\n", encoding="utf-8")
        archive = root / f"rootfs-{version}.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        serve = "trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"
        cmd = f"CMD {json.dumps(['/bin/sh', '-c', serve])}"
        engine.podman("import", "--change", cmd, str(archive), tag)


@contextmanager
def _health_ticker(engine: Podman) -> Iterator[None]:
    """Run due health checks, as systemd timers do for podman on a host that has systemd."""
    stop = threading.Event()
    client = docker.DockerClient(base_url=engine.host, version=API_VERSION, timeout=60)

    def tick() -> None:
        while not stop.wait(0.3):
            try:
                for container in client.containers.list(filters={"status": "running"}):
                    if (container.attrs.get("Config") or {}).get("Healthcheck"):
                        url = client.api._url("/libpod/containers/{0}/healthcheck", container.id)
                        client.api._get(url)
            except Exception:  # a container removed mid-tick; the next tick sees the new state
                continue

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
        client.close()


def _cleanup(engine: Podman) -> None:
    try:
        engine.podman("rm", "--all", "--force", "--time", "0")
        mine = f"label=bulkhead.dev/homelab={engine.homelab}"
        networks = engine.podman("network", "ls", "--quiet", "--filter", mine)
        for network in set(networks.split()):
            engine.podman("network", "rm", "--force", network)
    except subprocess.CalledProcessError:
        pass
