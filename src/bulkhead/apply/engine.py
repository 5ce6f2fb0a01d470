"""The Docker adapter: the only module that talks to a Docker Engine (through the docker SDK).

It reaches the engine at a docker environment's ``host`` (``unix://``, ``tcp://`` or
``ssh://``, the last through the ``ssh`` client as ``docker -H ssh://`` does), and offers the
verbs deploy needs: list bulkhead's containers, find one by name, create, start, stop and
remove, read health, ensure an image and a network; and read or write a directory of the host
(the secret files) through a helper container that is created, never started, and removed —
the Engine API's archive endpoints, no ssh or scp side channel. An engine that does not answer is
:class:`~bulkhead.errors.LayerUnreachable`; a refused call is an
:class:`~bulkhead.errors.ApplyError` naming the container.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

from bulkhead.apply.compose import CONFIG_HASH, SERVICE, ContainerSpec, NamedVolume
from bulkhead.errors import ApplyError, LayerUnreachable

API_VERSION = "1.41"
"""The Engine API version spoken (Docker 20.10+, podman 4+): GPU device requests need 1.40."""
HELPER_MOUNT = "/bulkhead-files"
"""Where a file helper container sees the host directory it reads or writes."""
NEVER_STARTED = "/bulkhead-helper-is-never-started"
"""A file helper's entrypoint: the container only carries a mount for archive transfers."""


@dataclass(frozen=True)
class LiveContainer:
    """A container as the engine reports it."""

    id: str
    name: str
    labels: Mapping[str, str]
    image_id: str
    status: str  # created, running, exited, ...
    health: str | None  # starting, healthy, unhealthy; None without a health check
    exit_code: int = 0
    oom_killed: bool = False
    health_output: str = ""

    @property
    def service(self) -> str | None:
        """The compose service bulkhead created it for."""
        return self.labels.get(SERVICE)

    @property
    def config_hash(self) -> str | None:
        """The hash of the configuration it was created from."""
        return self.labels.get(CONFIG_HASH)


class DockerEngine:
    """Verbs over one Docker Engine. Build it with :func:`connect_engine`."""

    def __init__(self, client: docker.DockerClient, host: str) -> None:
        self._client = client
        self.host = host

    def __enter__(self) -> DockerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def managed(self, labels: Mapping[str, str]) -> list[LiveContainer]:
        """Every container carrying all of these labels (running or not)."""
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        with self._guard("listing containers"):
            found = self._client.containers.list(all=True, filters=filters)
        live = [_live(c.attrs) for c in found]
        return [c for c in live if all(c.labels.get(k) == v for k, v in labels.items())]

    def by_name(self, name: str) -> LiveContainer | None:
        """Any container with this name, bulkhead's or not."""
        with self._guard(f"container {name}"):
            try:
                return _live(self._client.api.inspect_container(name))
            except docker.errors.NotFound:
                return None

    def inspect(self, container_id: str) -> LiveContainer:
        """The current state of one container."""
        with self._guard(f"container {container_id[:12]}"):
            return _live(self._client.api.inspect_container(container_id))

    def image_id(self, reference: str) -> str | None:
        """The ID of a local image, or None when it is not present."""
        with self._guard(f"image {reference}"):
            try:
                return str(self._client.api.inspect_image(reference)["Id"])
            except docker.errors.ImageNotFound:
                return None

    def pull(self, reference: str, platform: str | None = None) -> str:
        """Pull an image (for a platform such as ``linux/amd64``) and return its ID."""
        with self._guard(f"pulling {reference}"):
            image = self._client.images.pull(reference, platform=platform)
        return str(image.id)

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> None:
        """Create a bridge network unless it exists."""
        with self._guard(f"network {name}"):
            if not self._client.networks.list(names=[name]):
                self._client.networks.create(name, driver="bridge", labels=dict(labels))

    def ensure_volume(self, volume: NamedVolume, labels: Mapping[str, str]) -> None:
        """Create a named volume unless it exists (an external one must exist already)."""
        with self._guard(f"volume {volume.name}"):
            try:
                self._client.api.inspect_volume(volume.name)
                return
            except docker.errors.NotFound:
                if volume.external:
                    raise ApplyError(f"external volume {volume.name} does not exist") from None
            self._client.api.create_volume(
                volume.name, volume.driver, dict(volume.options), labels=dict(labels)
            )

    def create(self, spec: ContainerSpec) -> str:
        """Create (not start) a container from a spec, with its config files copied in."""
        extra: dict[str, Any] = {"network": spec.network} if spec.network else {}
        with self._guard(f"creating {spec.name}"):
            container = self._client.containers.create(
                spec.image, name=spec.name, detach=True, **extra, **dict(spec.options)
            )
            if spec.files:
                self._client.api.put_archive(container.id, "/", _archive(spec.files))
        return str(container.id)

    def start(self, container_id: str) -> None:
        """Start a created or stopped container."""
        with self._guard(f"starting {container_id[:12]}"):
            self._client.api.start(container_id)

    def remove(self, container_id: str, *, timeout: int = 10) -> None:
        """Stop (with a grace period) and remove a container."""
        with self._guard(f"removing {container_id[:12]}"):
            try:
                self._client.api.stop(container_id, timeout=timeout)
                self._client.api.remove_container(container_id, force=True)
            except docker.errors.NotFound:
                return

    def read_directory(self, image: str, directory: str, labels: Mapping[str, str]) -> bytes:
        """A tar of a directory on the engine's host (created empty when missing), read through
        a helper container that is created from ``image``, never started, and removed."""
        with self._helper(image, directory, labels) as helper, self._guard(f"reading {directory}"):
            stream, _ = self._client.api.get_archive(helper, HELPER_MOUNT)
            return b"".join(stream)

    def write_directory(
        self, image: str, directory: str, data: bytes, labels: Mapping[str, str]
    ) -> None:
        """Extract a tar (modes and owners as it holds them) into a directory on the engine's
        host, through a helper container as :meth:`read_directory` does: Engine API only."""
        with self._helper(image, directory, labels) as helper, self._guard(f"writing {directory}"):
            if not self._client.api.put_archive(helper, HELPER_MOUNT, data):
                raise ApplyError(f"writing {directory} on {self.host} was refused")

    @contextmanager
    def _helper(self, image: str, directory: str, labels: Mapping[str, str]) -> Iterator[str]:
        """A created (never started) container of ``image`` with ``directory`` bound in."""
        api = self._client.api
        with self._guard(f"a helper container for {directory}"):
            host = api.create_host_config(
                binds={directory: {"bind": HELPER_MOUNT, "mode": "rw"}}, network_mode="none"
            )
            created = api.create_container(
                image, entrypoint=[NEVER_STARTED], labels=dict(labels), host_config=host
            )
        try:
            yield str(created["Id"])
        finally:
            with self._guard(f"removing the helper container for {directory}"):
                api.remove_container(created["Id"], force=True)

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except docker.errors.APIError as exc:
            raise ApplyError(f"{what} on {self.host}: {exc.explanation or exc}") from None
        except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
            reason = type(exc).__name__
            raise LayerUnreachable(
                f"cannot reach the Docker engine at {self.host}: {reason}"
            ) from None


def connect_engine(host: str, *, timeout: int = 60) -> DockerEngine:
    """Reach the engine at ``host`` and check that it answers."""
    socket = host.removeprefix("unix://") if host.startswith("unix://") else None
    if socket is not None and not Path(socket).exists():
        raise LayerUnreachable(f"cannot reach the Docker engine at {host}: no such socket")
    client = None
    try:
        client = docker.DockerClient(
            base_url=host,
            version=API_VERSION,
            use_ssh_client=host.startswith("ssh://"),
            timeout=timeout,
        )
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        if client is not None:
            client.close()
        reason = f"{type(exc).__name__}: {exc}"
        raise LayerUnreachable(f"cannot reach the Docker engine at {host}: {reason}") from None
    return DockerEngine(client, host)


def _archive(files: tuple[tuple[str, str], ...]) -> bytes:
    """A tar of read-only config files, for ``PUT /containers/{id}/archive`` at ``/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files:
            data = content.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), 0o444
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _live(attrs: Mapping[str, Any]) -> LiveContainer:
    state = attrs.get("State") or {}
    health = state.get("Health") or {}
    log = health.get("Log") or []
    return LiveContainer(
        id=str(attrs["Id"]),
        name=str(attrs.get("Name", "")).lstrip("/"),
        labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        image_id=str(attrs.get("Image", "")),
        status=str(state.get("Status", "")),
        health=health.get("Status") or None,
        exit_code=int(state.get("ExitCode") or 0),
        oom_killed=bool(state.get("OOMKilled")),
        health_output=str(log[-1].get("Output", "")).strip() if log else "",
    )
