"""Backups with restic: repository strings, network endpoints and the backup script.

One restic repository per backed-up volume, under ``<homelab>/<namespace or env>/<workload>/
<volume>`` on the declared target, so retention (``--keep-last``) is per volume. Targets:

- ``nfs://server/export`` — the share is mounted into the backup container (kubelet or Docker
  mounts it, so the container opens no connection of its own) and the repository is a path;
- ``s3://host[:port]/bucket[/prefix]`` — restic's ``s3:https://host/bucket/prefix``;
- ``restic`` — a restic repository string as restic reads it (``rest:https://host:8000/``,
  ``s3:https://...``); only ``rest:`` and ``s3:`` with an explicit URL are rendered, because
  bulkhead must know the host and port to open in the network policy.

Nothing of a backup is written to the source machine's disk: the snapshot goes straight to the
target, and restic runs with ``--no-cache``. Credentials are the keys of the secret the target
names (``backups.targets.<t>.secret``): ``RESTIC_PASSWORD`` and, for S3, ``AWS_ACCESS_KEY_ID``
/ ``AWS_SECRET_ACCESS_KEY``. The backup pods read them from the Kubernetes Secret of that name
(``envFrom``) and the compose backup services from an env file under the GPU machine's secrets
directory, both written by ``bulkhead apply``. A target without ``secret`` falls back to a
Secret / env file named ``restic-<target>`` that the operator creates by hand (BH-VOL-006
warns). bulkhead never renders a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bulkhead.spec.models import BackupTarget

IMAGE = "docker.io/restic/restic:0.17.3"
REPOSITORY_MOUNT = "/repository"
SOURCE_MOUNT = "/data"


@dataclass(frozen=True)
class Endpoint:
    """Where restic connects for a network target."""

    host: str
    port: int


def nfs_share(target: BackupTarget) -> tuple[str, str] | None:
    """``(server, export path)`` of an nfs target; None for other types."""
    if target.type != "nfs":
        return None
    url = urlsplit(target.url)
    return (url.hostname or "", url.path or "/")


def _network_url(target: BackupTarget) -> str | None:
    if target.type == "s3" and target.url.startswith("s3://"):
        return "https://" + target.url.removeprefix("s3://")
    if target.type == "restic" and target.url.startswith(("rest:", "s3:")):
        inner = target.url.partition(":")[2]
        return inner if inner.startswith(("http://", "https://")) else None
    return None


def endpoint(target: BackupTarget) -> Endpoint | None:
    """Host and port restic opens for an s3 or rest target; None for nfs or unknown forms."""
    url = _network_url(target)
    parts = urlsplit(url) if url else None
    if parts is None or not parts.hostname:
        return None
    default = 443 if parts.scheme == "https" else 80
    return Endpoint(parts.hostname, parts.port or default)


def problem(target: BackupTarget) -> str | None:
    """Why bulkhead cannot render a backup to ``target``; None when it can."""
    if target.type == "nfs":
        share = nfs_share(target)
        ok = share is not None and target.url.startswith("nfs://") and share[0]
        return None if ok else "an nfs target is written nfs://server/export"
    if endpoint(target) is None:
        forms = "s3://host/bucket" if target.type == "s3" else "rest:https://host:port/"
        return f"a {target.type} target is written {forms} (bulkhead needs its host and port)"
    return None


def repository(target: BackupTarget, path: str) -> str:
    """The restic repository for one volume at ``path`` under the target."""
    if target.type == "nfs":
        return f"{REPOSITORY_MOUNT}/{path}"
    if target.type == "s3":
        return f"s3:{_network_url(target)}".rstrip("/") + f"/{path}"
    return target.url.rstrip("/") + f"/{path}"


def secret_name(target_name: str, target: BackupTarget | None = None) -> str:
    """The Secret holding the target's restic credentials: the declared ``secret``, else
    ``restic-<target>`` (created by hand)."""
    if target is not None and target.secret is not None:
        return target.secret
    return f"restic-{target_name}"


def script(host: str, tag: str, retain: int) -> str:
    """Initialise the repository once, back up ``/data``, keep the last ``retain`` snapshots."""
    flags = f"--no-cache --host {host}"
    return (
        "set -eu\n"
        "restic cat config --no-cache >/dev/null 2>&1 || restic init --no-cache\n"
        f"restic backup {flags} --tag {tag} {SOURCE_MOUNT}\n"
        f"restic forget {flags} --keep-last {retain} --prune\n"
    )
