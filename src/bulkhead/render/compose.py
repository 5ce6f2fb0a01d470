"""The docker target: one Compose document per docker environment (the GPU machine).

One service per workload placed there. Limits match what the placement bin-packed: CPU and
memory limits default to the requests. GPUs are reserved through the NVIDIA device driver:
``count`` on a one-GPU machine, the exact ``device_ids`` the placement chose when there are
several (VRAM is packed per GPU, so which GPU matters). Ports are published only for the apis a
workload exposes, bound to the environment's address (the one the cluster's EndpointSlice
points at), never ``0.0.0.0``. Volumes are bind mounts under the node's ``storage.path``; logs
rotate (json-file, 3 × 10 MB); services restart ``unless-stopped``. A ``gpu-batch`` workload
is a run-to-completion job: it sits in the ``batch`` profile (``docker compose run``) and
restarts only on failure, so a deploy does not rerun it. Security mirrors the cluster: no new
privileges, all capabilities dropped, read-only root with a ``/tmp`` tmpfs unless declared
writable, the declared user.

A volume with a backup gets a ``backup-<workload>-<volume>`` service in the ``backup``
profile (restic, :mod:`bulkhead.render.restic`) that a scheduled Gitea workflow runs; an nfs
target is a named volume that Docker mounts.

Secrets are never values here: a service's ``secretEnv`` (and a backup service's target
credentials) come from ``<secrets dir>/<service>.env`` and each referenced key is a compose
secret backed by ``<secrets dir>/<secret>/<key>``, files that ``bulkhead apply`` writes on the
GPU machine with mode 0400 (:func:`secrets_dir`).
"""

from __future__ import annotations

import ipaddress
import posixpath
from typing import Any

from bulkhead.render import restic
from bulkhead.render.files import file_data, file_keys
from bulkhead.render.view import HOMELAB, MANAGED_BY, WORKLOAD, View, port_name
from bulkhead.spec.models import (
    Backup,
    DockerEnvironment,
    DockerNode,
    Health,
    Workload,
    WorkloadClass,
)
from bulkhead.spec.quantity import format_memory
from bulkhead.spec.references import docker_address

Obj = dict[str, Any]
LOOPBACK = "127.0.0.1"
DEFAULT_STORAGE = "/srv/bulkhead"
LOGGING: Obj = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
BACKUP_PROFILE = "backup"


def compose_documents(view: View) -> dict[str, Obj]:
    """Docker environment name → its Compose document."""
    return {name: compose_document(view, name, env) for name, env in view.docker().items()}


def compose_document(view: View, env_name: str, env: DockerEnvironment) -> Obj:
    """The Compose document of one docker environment."""
    workloads = view.in_environment(env_name)
    services = {name: service(view, env, name) for name in workloads}
    services |= backup_services(view, env, env_name)
    document: Obj = {"name": f"{view.name}-{env_name}", "services": services}
    shares = backup_volumes(view, env_name)
    if shares:
        document["volumes"] = shares
    secret_files = top_level_secrets(view, workloads)
    if secret_files:
        document["secrets"] = secret_files
    configs = {key: {"content": text} for name in workloads for key, text in configs_of(view, name)}
    if configs:  # inline content: the document stays self-contained
        document["configs"] = configs
    escaped: Obj = escape_dollars(document)
    return escaped


def escape_dollars(value: Any) -> Any:
    """``$`` → ``$$`` in every string: Compose would interpolate it; bulkhead never means it to."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: escape_dollars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape_dollars(item) for item in value]
    return value


def config_name(name: str, key: str) -> str:
    """The Compose config holding one of a workload's files."""
    return f"{name}-{key}"


def configs_of(view: View, name: str) -> list[tuple[str, str]]:
    """(config name, text) of each config file of a workload."""
    return [(config_name(name, key), text) for key, text in file_data(view.spec, name).items()]


SECRETS_ROOT = "/run/bulkhead/secrets"


def secrets_dir(view: View) -> str:
    """Where apply writes this homelab's secret files on the GPU machine (mode 0400)."""
    return f"{SECRETS_ROOT}/{view.name}"


def secrets_file(view: View, name: str) -> str:
    """The env file on the GPU machine holding a service's secret values as variables."""
    return f"{secrets_dir(view)}/{name}.env"


def secret_refs(workload: Workload) -> list[str]:
    """The distinct ``<secret>.<key>`` references of a workload, sorted."""
    return sorted(set(workload.secret_env.values()))


def top_level_secrets(view: View, workloads: dict[str, Workload]) -> Obj:
    """Compose ``secrets``: one file per referenced key, ``<dir>/<secret>/<key>``, never inline."""
    refs = sorted({ref for w in workloads.values() for ref in secret_refs(w)})
    return {ref: {"file": f"{secrets_dir(view)}/{ref.replace('.', '/', 1)}"} for ref in refs}


def node_of(view: View, env: DockerEnvironment, name: str) -> DockerNode | None:
    """The machine the placement put a workload on."""
    nodes = view.nodes_of(name)
    return env.nodes.get(nodes[0]) if nodes else None


def address(env: DockerEnvironment) -> str:
    """The address published ports bind to: the environment's, else loopback."""
    return docker_address(env) or LOOPBACK


def service(view: View, env: DockerEnvironment, name: str) -> Obj:
    """One Compose service."""
    workload = view.spec.workloads[name]
    result: Obj = {"image": workload.image or ""}
    platform = _platform(workload, node_of(view, env, name))
    if platform:
        result["platform"] = platform
    result |= process(view, name, workload)
    result |= lifecycle(workload)
    result |= security(workload)
    result |= networking(view, env, name)
    mounts = volumes(view, env, name)
    if mounts:
        result["volumes"] = mounts
    if workload.files:
        result["configs"] = [
            {"source": config_name(name, key), "target": path}
            for path, key in file_keys(workload).items()
        ]
    if workload.health:
        result["healthcheck"] = healthcheck(workload, workload.health)
    result["deploy"] = {"resources": resources(view, env, name)}
    return result | {"logging": LOGGING, "labels": labels(view, name)}


def _platform(workload: Workload, node: DockerNode | None) -> str | None:
    if node is None or not workload.platforms:
        return None
    wanted = f"linux/{node.arch.value}"
    return wanted if wanted in workload.platforms else None


def process(view: View, name: str, workload: Workload) -> Obj:
    """Entrypoint (the spec's ``command``), command (``args``), environment, and secrets: the
    values as variables (an env file apply writes) and as compose secrets mounted at
    ``/run/secrets/<secret>.<key>`` for images that read credentials from files."""
    result: Obj = {}
    if workload.command is not None:
        result["entrypoint"] = list(workload.command)
    if workload.args is not None:
        result["command"] = list(workload.args)
    if workload.env:
        result["environment"] = dict(workload.env)
    if workload.secret_env:
        result["env_file"] = [{"path": secrets_file(view, name), "required": True}]
        result["secrets"] = [{"source": ref, "target": ref} for ref in secret_refs(workload)]
    return result


def lifecycle(workload: Workload) -> Obj:
    """Restart policy, and the ``batch`` profile for run-to-completion GPU jobs."""
    if workload.class_ is WorkloadClass.gpu_batch:
        return {"profiles": ["batch"], "restart": "on-failure:3"}
    return {"restart": "unless-stopped"}


def security(workload: Workload) -> Obj:
    """User, privileges and root filesystem, as the cluster's securityContext does them."""
    declared = workload.security
    result: Obj = {}
    if declared.run_as_user is not None:
        result["user"] = f"{declared.run_as_user}:{declared.run_as_user}"
    if declared.privileged:
        result["privileged"] = True
    else:
        result |= {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"]}
    if declared.read_only_root_filesystem:
        result |= {"read_only": True, "tmpfs": ["/tmp"]}
    return result


def networking(view: View, env: DockerEnvironment, name: str) -> Obj:
    """Host networking when declared, else published ports for the exposed apis only."""
    workload = view.spec.workloads[name]
    if workload.security.host_network:
        return {"network_mode": "host"}
    ports = [
        published(address(env), workload.ports[view.spec.apis[api].port])
        for api in workload.exposes
        if api in view.spec.apis and view.spec.apis[api].port in workload.ports
    ]
    return {"ports": ports} if ports else {}


def published(host: str, port: int) -> str:
    """``HOST:PORT:PORT`` with an IPv6 host in brackets."""
    shown = f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    return f"{shown}:{port}:{port}"


def storage_path(view: View, env: DockerEnvironment, name: str) -> str:
    """The directory under which a workload's volumes live on its machine."""
    node = node_of(view, env, name)
    return node.storage.path if node and node.storage else DEFAULT_STORAGE


def volume_source(view: View, env: DockerEnvironment, name: str, volume: str) -> str:
    """``<storage.path>/<workload>/<volume>`` on the host."""
    return posixpath.join(storage_path(view, env, name), name, volume)


def volumes(view: View, env: DockerEnvironment, name: str) -> list[str]:
    """Bind mounts: declared volumes, host paths, the Docker socket."""
    workload = view.spec.workloads[name]
    mounts = [
        f"{volume_source(view, env, name, vol)}:{spec.mount}"
        for vol, spec in workload.volumes.items()
    ]
    mounts += [f"{path}:{path}" for path in workload.security.host_paths]
    if workload.security.docker_socket:
        mounts.append("/var/run/docker.sock:/var/run/docker.sock")
    return mounts


def healthcheck(workload: Workload, health: Health) -> Obj:
    """An in-container check: HTTP GET with curl or wget, else a TCP connect with nc."""
    port = workload.ports[port_name(workload, health.port)]
    if health.path:
        url = f"http://{LOOPBACK}:{port}{health.path}"
        probe = f"curl -fsS -o /dev/null {url} || wget -q -O /dev/null {url} || exit 1"
    else:
        probe = f"nc -z {LOOPBACK} {port} || exit 1"
    return {
        "test": ["CMD-SHELL", probe],
        "interval": "10s",
        "timeout": "3s",
        "retries": 3,
        "start_period": "60s",
    }


def resources(view: View, env: DockerEnvironment, name: str) -> Obj:
    """Limits (defaulting to requests, as placement packs them) and GPU reservations."""
    workload = view.spec.workloads[name]
    asked, capped = workload.resources, workload.limits
    limits: Obj = {}
    cpu = capped.cpu or asked.cpu
    if cpu is not None:
        limits["cpus"] = compose_cpus(cpu.millis)
    memory = capped.memory or asked.memory
    if memory is not None:
        limits["memory"] = compose_bytes(memory.units)
    result: Obj = {"limits": limits} if limits else {}
    reservations: Obj = {}
    if asked.memory is not None:
        reservations["memory"] = compose_bytes(asked.memory.units)
    if asked.gpu:
        reservations["devices"] = [gpu_request(view, env, name, asked.gpu)]
    return result | ({"reservations": reservations} if reservations else {})


def gpu_request(view: View, env: DockerEnvironment, name: str, count: int) -> Obj:
    """NVIDIA devices: the placement's GPUs on a multi-GPU machine, else a count."""
    node = node_of(view, env, name)
    chosen = next((a.gpus for a in view.assignments_of(name) if a.gpus), ())
    request: Obj = {"driver": "nvidia"}
    if node is not None and len(node.gpus) > 1 and chosen:
        request["device_ids"] = [str(i) for i in chosen]
    else:
        request["count"] = count
    return request | {"capabilities": ["gpu"]}


def compose_cpus(millis: int) -> str:
    """Compose ``cpus``: a decimal number of CPUs (``4``, ``0.25``)."""
    whole, rest = divmod(millis, 1000)
    return str(whole) if not rest else f"{whole}.{rest:03d}".rstrip("0")


def compose_bytes(num_bytes: int) -> str:
    """Compose byte values: Docker's binary suffixes (``16g``, ``512m``) when exact."""
    text = format_memory(num_bytes)
    for suffix, unit in (("Ti", "t"), ("Gi", "g"), ("Mi", "m"), ("Ki", "k")):
        if text.endswith(suffix):
            return text.removesuffix(suffix) + unit
    return f"{num_bytes}b"


def labels(view: View, name: str) -> dict[str, str]:
    """Container labels: bulkhead's inventory pair, the workload, its declared VRAM."""
    workload = view.spec.workloads[name]
    result = {MANAGED_BY: "bulkhead", HOMELAB: view.name, WORKLOAD: name}
    if workload.resources.gpu_memory is not None:
        vram = format_memory(workload.resources.gpu_memory.units)
        result["bulkhead.dev/gpu-memory"] = vram
    return result


def backed_up(view: View, env_name: str) -> list[tuple[str, str, Backup]]:
    """(workload, volume, backup) for each backed-up volume in this docker environment."""
    return [
        (name, vol, spec.backup)
        for name, workload in view.in_environment(env_name).items()
        for vol, spec in workload.volumes.items()
        if spec.backup is not None
    ]


def backup_service_name(name: str, volume: str) -> str:
    """The Compose service that backs up one volume."""
    return f"backup-{name}-{volume}"


def backup_services(view: View, env: DockerEnvironment, env_name: str) -> dict[str, Obj]:
    """One restic service per backed-up volume, in the ``backup`` profile."""
    return {
        backup_service_name(name, vol): backup_service(view, env, env_name, (name, vol, backup))
        for name, vol, backup in backed_up(view, env_name)
    }


def backup_service(
    view: View, env: DockerEnvironment, env_name: str, what: tuple[str, str, Backup]
) -> Obj:
    """restic reading the volume read-only and writing straight to the target."""
    name, vol, backup = what
    target = view.spec.backups.targets[backup.to]
    repository = restic.repository(target, f"{view.name}/{env_name}/{name}/{vol}")
    mounts = [f"{volume_source(view, env, name, vol)}:{restic.SOURCE_MOUNT}:ro"]
    if target.type == "nfs":
        mounts.append(f"{share_volume(backup.to)}:{restic.REPOSITORY_MOUNT}")
    secrets = backup_env_file(view, backup_service_name(name, vol), backup.to)
    script = restic.script(f"bulkhead-{view.name}", f"{env_name}/{name}/{vol}", backup.retain)
    return {
        "image": restic.IMAGE,
        "profiles": [BACKUP_PROFILE],
        "entrypoint": ["/bin/sh", "-c", script],
        "environment": {"RESTIC_REPOSITORY": repository},
        "env_file": [secrets],
        "cap_drop": ["ALL"],
        "cap_add": ["DAC_READ_SEARCH"],
        "security_opt": ["no-new-privileges:true"],
        "read_only": True,
        "volumes": mounts,
        "logging": LOGGING,
        "labels": {MANAGED_BY: "bulkhead", HOMELAB: view.name, "bulkhead.dev/backup": name},
    }


def backup_env_file(view: View, service_name: str, target_name: str) -> Obj:
    """Where a backup service reads restic's credentials: the env file apply writes from the
    target's ``secret``, else ``restic-<target>.env`` beside compose.yaml, made by hand."""
    target = view.spec.backups.targets[target_name]
    if target.secret is None:
        return {"path": f"{restic.secret_name(target_name)}.env", "required": False}
    return {"path": secrets_file(view, service_name), "required": True}


def share_volume(target: str) -> str:
    """The named volume of an nfs backup target."""
    return f"backup-{target}"


def backup_volumes(view: View, env_name: str) -> dict[str, Obj]:
    """Named nfs volumes (Docker's local driver mounts them) for this environment's backups."""
    shares: dict[str, Obj] = {}
    for _, _, backup in backed_up(view, env_name):
        share = restic.nfs_share(view.spec.backups.targets[backup.to])
        if share:
            server, export = share
            options = {"type": "nfs", "o": f"addr={server},nfsvers=4,rw", "device": f":{export}"}
            shares[share_volume(backup.to)] = {"driver": "local", "driver_opts": options}
    return shares
