"""Compose services → Docker Engine container configurations (pure).

The render writes the GPU machine's compose document; apply deploys it through the Engine API
rather than a ``docker compose`` binary. This module turns each service into the keyword
arguments of the docker SDK's ``containers.create`` — limits, GPU device requests, health
check, restart policy, volumes, port bindings, logging, the secret env files' variables and the
secret files (read-only binds at ``/run/secrets/<target>``) — and a hash of that configuration,
stored in a label so that a later apply recreates only what changed. A compose key bulkhead
does not translate is an error naming it, never silently dropped.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bulkhead.apply.objects import HOMELAB, MANAGED_BY, MANAGER
from bulkhead.errors import ApplyError

ENVIRONMENT = "bulkhead.dev/environment"
SERVICE = "bulkhead.dev/service"
CONFIG_HASH = "bulkhead.dev/config-hash"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_UNITS = {"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}
_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_PORT = re.compile(r"^(?:(?:\[?([0-9a-fA-F.:]+?)\]?):)?(?:(\d+):)?(\d+)(?:/(tcp|udp|sctp))?$")


class ComposeError(ApplyError):
    """A compose document bulkhead cannot deploy as written."""


@dataclass(frozen=True)
class NamedVolume:
    """A compose named volume: created (labelled) unless ``external``."""

    name: str
    driver: str = "local"
    options: Mapping[str, str] = field(default_factory=dict)
    external: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """One service, ready to create: its container name, image and create arguments, the
    config files copied in before it starts, and the named volumes it mounts."""

    service: str
    name: str
    image: str
    network: str | None
    options: Mapping[str, Any] = field(repr=False)
    config_hash: str = ""
    files: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    volumes: tuple[NamedVolume, ...] = ()

    @property
    def healthcheck(self) -> bool:
        """Whether the container declares a health check that is not disabled."""
        test = (self.options.get("healthcheck") or {}).get("test") or ["NONE"]
        return bool(test[0] != "NONE")


@dataclass(frozen=True)
class _Document:
    """What services share: the project, its configs, volumes and secrets, readable env files."""

    project: str
    configs: Mapping[str, Any]
    volumes: Mapping[str, Any]
    env_files: Mapping[str, Mapping[str, str]]
    secrets: Mapping[str, Any] = field(default_factory=dict)


def project_name(document: Mapping[str, Any], environment: str) -> str:
    """The compose project: the document's ``name``, else the environment's name."""
    return str(document.get("name") or environment)


def container_specs(
    document: Mapping[str, Any],
    *,
    homelab: str,
    environment: str,
    profiles: frozenset[str] = frozenset(),
    env_files: Mapping[str, Mapping[str, str]] | None = None,
) -> tuple[ContainerSpec, ...]:
    """The services that run, in name order: as ``docker compose up``, a service with
    ``profiles`` runs only when one of them is active (batch jobs and backups are run on demand).
    ``env_files`` maps an ``env_file`` path to its variables (the secret env files apply
    writes). Compose's ``$$`` escapes are undone first, as ``docker compose`` does."""
    document = unescape_dollars(document)
    doc = _Document(
        project_name(document, environment),
        document.get("configs") or {},
        document.get("volumes") or {},
        env_files or {},
        document.get("secrets") or {},
    )
    services = document.get("services") or {}
    return tuple(
        _spec(doc, name, services[name], homelab, environment)
        for name in sorted(services)
        if _active(services[name], profiles)
    )


def unescape_dollars(value: Any) -> Any:
    """``$$`` → ``$`` in every string: compose's escape for a literal dollar (bulkhead's render
    escapes every ``$`` so that compose never interpolates)."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, Mapping):
        return {key: unescape_dollars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unescape_dollars(item) for item in value]
    return value


def skipped_services(
    document: Mapping[str, Any], profiles: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """Services that do not run because none of their profiles is active."""
    services = document.get("services") or {}
    return tuple(name for name in sorted(services) if not _active(services[name], profiles))


def _active(body: Mapping[str, Any], profiles: frozenset[str]) -> bool:
    return not body.get("profiles") or bool(profiles & set(body["profiles"]))


def owner_labels(homelab: str, environment: str) -> dict[str, str]:
    """The labels that say a container is bulkhead's, for one environment of one homelab."""
    return {MANAGED_BY: MANAGER, HOMELAB: homelab, ENVIRONMENT: environment}


def _spec(
    doc: _Document, service: str, body: Mapping[str, Any], homelab: str, environment: str
) -> ContainerSpec:
    if "image" not in body:
        raise ComposeError(f"service {service}: no image (bulkhead apply does not build images)")
    options = _options(body, service)
    options.update(_env_files(body.get("env_file"), doc, service, options.get("environment")))
    secrets = _secret_binds(body.get("secrets") or [], doc, service)
    if secrets:
        options["volumes"] = {**options.get("volumes", {}), **secrets}
    volumes = _named_volumes(options.get("volumes", {}), doc, service)
    files = _files(body.get("configs") or [], doc, service)
    network = None if "network_mode" in options else f"{doc.project}_default"
    name = str(body.get("container_name") or f"{doc.project}-{service}")
    labels = {**options.pop("labels", {}), **owner_labels(homelab, environment)}
    labels[SERVICE] = service
    digest = config_hash(str(body["image"]), name, network, {**options, "files": files}, labels)
    options["labels"] = {**labels, CONFIG_HASH: digest}
    image = str(body["image"])
    return ContainerSpec(service, name, image, network, options, digest, files, volumes)


def _options(body: Mapping[str, Any], service: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("x-") or key in _IGNORED:
            continue
        if key not in _TRANSLATORS:
            raise ComposeError(f"service {service}: compose key {key!r} is not supported")
        options.update(_TRANSLATORS[key](value, service))
    return options


def _env_files(
    value: Any, doc: _Document, service: str, explicit: Mapping[str, str] | None
) -> dict[str, Any]:
    """Variables of ``env_file`` entries, under the service's own ``environment``."""
    if not value:
        return {}
    merged: dict[str, str] = {}
    for entry in [value] if isinstance(value, str | Mapping) else value:
        path, required = _env_file_entry(entry)
        if path in doc.env_files:
            merged.update(doc.env_files[path])
        elif required:
            raise ComposeError(f"service {service}: env_file {path} is required and not provided")
    return {"environment": {**merged, **(explicit or {})}}


def _env_file_entry(entry: Any) -> tuple[str, bool]:
    if isinstance(entry, Mapping):
        return str(entry["path"]), bool(entry.get("required", True))
    return str(entry), True


SECRETS_TARGET = "/run/secrets"


def _secret_binds(entries: Any, doc: _Document, service: str) -> dict[str, dict[str, str]]:
    """Compose ``secrets`` backed by a ``file`` on the host: read-only binds at
    ``/run/secrets/<target>`` (as ``docker compose`` mounts them outside swarm)."""
    binds: dict[str, dict[str, str]] = {}
    for entry in entries:
        source = str(entry if isinstance(entry, str) else entry["source"])
        target = source if isinstance(entry, str) else str(entry.get("target") or source)
        declared = doc.secrets.get(source)
        path = str((declared or {}).get("file") or "")
        if not path.startswith("/"):
            raise ComposeError(
                f"service {service}: secret {source!r} needs a top-level 'file' with an absolute "
                "path on the engine's host"
            )
        binds[path] = {"bind": posixpath.join(SECRETS_TARGET, target), "mode": "ro"}
    return binds


def _named_volumes(
    binds: dict[str, dict[str, str]], doc: _Document, service: str
) -> tuple[NamedVolume, ...]:
    """Rename named sources to their project volume, in place; return the volumes to ensure."""
    found = []
    for source in [s for s in binds if not s.startswith(("/", "."))]:
        declared = doc.volumes.get(source)
        if declared is None and source not in doc.volumes:
            raise ComposeError(f"service {service}: volume {source!r} is not declared")
        volume = _named_volume(source, declared or {}, doc.project)
        binds[volume.name] = binds.pop(source)
        found.append(volume)
    return tuple(found)


def _named_volume(source: str, declared: Mapping[str, Any], project: str) -> NamedVolume:
    name = str(declared.get("name") or f"{project}_{source}")
    options = {str(k): str(v) for k, v in (declared.get("driver_opts") or {}).items()}
    driver = str(declared.get("driver") or "local")
    return NamedVolume(name, driver, options, bool(declared.get("external")))


def _files(entries: Any, doc: _Document, service: str) -> tuple[tuple[str, str], ...]:
    """Compose ``configs`` with inline ``content``: copied into the container before it starts."""
    files = []
    for entry in entries:
        source = entry if isinstance(entry, str) else entry["source"]
        target = f"/{source}" if isinstance(entry, str) else entry.get("target", f"/{source}")
        content = (doc.configs.get(source) or {}).get("content")
        if content is None:
            raise ComposeError(f"service {service}: config {source!r} has no inline content")
        files.append((str(target), str(content)))
    return tuple(sorted(files))


def config_hash(
    image: str,
    name: str,
    network: str | None,
    options: Mapping[str, Any],
    labels: Mapping[str, str],
) -> str:
    """A stable digest of everything that, when it changes, needs a new container."""
    payload = {"image": image, "name": name, "network": network, "options": options}
    text = json.dumps({**payload, "labels": labels}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- one translator per compose key ---------------------------------------------------------------


def _command(value: Any, service: str) -> dict[str, Any]:
    return {"command": _words(value)}


def _entrypoint(value: Any, service: str) -> dict[str, Any]:
    return {"entrypoint": _words(value)}


def _words(value: Any) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _environment(value: Any, service: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {"environment": {str(k): "" if v is None else str(v) for k, v in value.items()}}
    pairs = (str(item).partition("=") for item in value)
    return {"environment": {k: v for k, _, v in pairs}}


def _labels(value: Any, service: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {"labels": {str(k): str(v) for k, v in value.items()}}
    return {"labels": {k: v for k, _, v in (str(i).partition("=") for i in value)}}


def _restart(value: Any, service: str) -> dict[str, Any]:
    name, _, retries = str(value).partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise ComposeError(f"service {service}: restart {value!r} is not a restart policy")
    policy: dict[str, Any] = {"Name": name}
    if retries:
        policy["MaximumRetryCount"] = int(retries)
    return {"restart_policy": policy}


def _healthcheck(value: Any, service: str) -> dict[str, Any]:
    if value.get("disable"):
        return {"healthcheck": {"test": ["NONE"]}}
    test = value.get("test", [])
    check: dict[str, Any] = {"test": ["CMD-SHELL", test] if isinstance(test, str) else list(test)}
    for key, target in (("interval", "interval"), ("timeout", "timeout")):
        if key in value:
            check[target] = _nanoseconds(value[key], service)
    if "start_period" in value:
        check["start_period"] = _nanoseconds(value["start_period"], service)
    if "retries" in value:
        check["retries"] = int(value["retries"])
    return {"healthcheck": check}


def _nanoseconds(value: Any, service: str) -> int:
    if isinstance(value, int | float):
        return int(value * 1e9)
    parts = _DURATION.findall(str(value))
    if not parts or "".join(n + u for n, u in parts) != str(value).replace(" ", ""):
        raise ComposeError(f"service {service}: {value!r} is not a duration such as 30s or 1m30s")
    return int(sum(float(n) * _UNITS[u] for n, u in parts))


def _deploy(value: Any, service: str) -> dict[str, Any]:
    unknown = set(value) - {"resources", "restart_policy", "replicas"}
    if unknown:
        raise ComposeError(f"service {service}: deploy.{sorted(unknown)[0]} is not supported")
    if int(value.get("replicas", 1)) != 1:
        raise ComposeError(f"service {service}: bulkhead runs one container per service")
    resources = value.get("resources") or {}
    options = _limits(resources.get("limits") or {}, service)
    options.update(_reservations(resources.get("reservations") or {}, service))
    if "restart_policy" in value:
        options.update(_deploy_restart(value["restart_policy"], service))
    return options


def _limits(limits: Mapping[str, Any], service: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "cpus" in limits:
        options["nano_cpus"] = round(float(limits["cpus"]) * 1e9)
    if "memory" in limits:
        options["mem_limit"] = _bytes(limits["memory"], service)
    if "pids" in limits:
        options["pids_limit"] = int(limits["pids"])
    return options


def _reservations(reservations: Mapping[str, Any], service: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if "memory" in reservations:
        options["mem_reservation"] = _bytes(reservations["memory"], service)
    devices = [_device(d) for d in reservations.get("devices") or []]
    if devices:
        options["device_requests"] = devices
    return options


def _device(device: Mapping[str, Any]) -> dict[str, Any]:
    """A compose device reservation as an Engine DeviceRequest (``count: all`` is -1)."""
    count = device.get("count")
    request: dict[str, Any] = {
        "Driver": device.get("driver", ""),
        "Count": -1 if count == "all" else int(count or 0),
        "DeviceIDs": [str(i) for i in device.get("device_ids") or []],
        "Capabilities": [[str(c) for c in device.get("capabilities") or []]],
        "Options": dict(device.get("options") or {}),
    }
    if request["DeviceIDs"] and "count" not in device:
        request["Count"] = 0
    return request


def _deploy_restart(policy: Mapping[str, Any], service: str) -> dict[str, Any]:
    condition = {"none": "no", "on-failure": "on-failure", "any": "always"}
    name = condition.get(str(policy.get("condition", "any")), "always")
    retries = policy.get("max_attempts")
    return _restart(f"{name}:{retries}" if retries and name == "on-failure" else name, service)


def _bytes(value: Any, service: str) -> int:
    """Compose byte values (``512m``, ``16g``, ``1.5gb``, ``8Gi``): k, m, g, t are binary."""
    if isinstance(value, int):
        return value
    found = _BYTES.match(str(value))
    if not found:
        raise ComposeError(f"service {service}: {value!r} is not a byte value such as 512m or 16g")
    number, unit, _ = found.groups()
    return int(float(number) * 1024 ** "_kmgt".index(unit.lower() or "_"))


def _ports(value: Any, service: str) -> dict[str, Any]:
    bindings: dict[str, list[Any]] = {}
    for port in value:
        key, binding = _port(port, service)
        bindings.setdefault(key, []).append(binding)
    return {"ports": {k: v if len(v) > 1 else v[0] for k, v in bindings.items()}}


def _port(port: Any, service: str) -> tuple[str, Any]:
    if isinstance(port, Mapping):
        proto = port.get("protocol", "tcp")
        published = port.get("published")
        binding = (port.get("host_ip") or "", int(published)) if published else None
        return f"{port['target']}/{proto}", binding
    found = _PORT.match(str(port))
    if not found:
        raise ComposeError(f"service {service}: port {port!r} is not [ip:]host:container[/proto]")
    ip, host, target, proto = found.groups()
    return f"{target}/{proto or 'tcp'}", (ip or "", int(host)) if host else None


def _volumes(value: Any, service: str) -> dict[str, Any]:
    binds: dict[str, dict[str, str]] = {}
    for volume in value:
        source, target, read_only = _volume(volume, service)
        binds[source] = {"bind": target, "mode": "ro" if read_only else "rw"}
    return {"volumes": binds}


def _volume(volume: Any, service: str) -> tuple[str, str, bool]:
    if isinstance(volume, Mapping):
        if volume.get("type", "bind") not in ("bind", "volume"):
            raise ComposeError(f"service {service}: volume type {volume['type']!r} not supported")
        return str(volume["source"]), str(volume["target"]), bool(volume.get("read_only"))
    parts = str(volume).split(":")
    if len(parts) < 2:
        raise ComposeError(f"service {service}: volume {volume!r} needs source:target")
    return parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")


def _logging(value: Any, service: str) -> dict[str, Any]:
    return {
        "log_config": {"type": value.get("driver", "json-file"), "config": value.get("options")}
    }


def _tmpfs(value: Any, service: str) -> dict[str, Any]:
    paths = [value] if isinstance(value, str) else value
    return {"tmpfs": {str(p).split(":")[0]: "" for p in paths}}


def _passthrough(target: str, convert: Callable[[Any], Any] = lambda v: v) -> Any:
    return lambda value, service: {target: convert(value)}


_IGNORED = frozenset(
    {"image", "container_name", "pull_policy", "profiles", "configs", "env_file", "secrets"}
)
_TRANSLATORS: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "command": _command,
    "entrypoint": _entrypoint,
    "environment": _environment,
    "labels": _labels,
    "restart": _restart,
    "healthcheck": _healthcheck,
    "deploy": _deploy,
    "ports": _ports,
    "volumes": _volumes,
    "logging": _logging,
    "tmpfs": _tmpfs,
    "user": _passthrough("user", str),
    "working_dir": _passthrough("working_dir", str),
    "read_only": _passthrough("read_only", bool),
    "cap_add": _passthrough("cap_add", list),
    "cap_drop": _passthrough("cap_drop", list),
    "security_opt": _passthrough("security_opt", list),
    "hostname": _passthrough("hostname", str),
    "network_mode": _passthrough("network_mode", str),
    "stop_signal": _passthrough("stop_signal", str),
    "init": _passthrough("init", bool),
    "platform": _passthrough("platform", str),
    "shm_size": lambda value, service: {"shm_size": _bytes(value, service)},
    "extra_hosts": _passthrough("extra_hosts", lambda v: dict(str(h).split(":", 1) for h in v)),
}
