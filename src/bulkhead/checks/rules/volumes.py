"""VOL: volumes and backups. Data lives on a volume, every volume is backed up off its own
machine on a valid schedule with the credentials restic needs, and a database's volume does not
vanish with its claim."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from bulkhead.checks import facts
from bulkhead.checks.cron import cron_problem
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import (
    BackupTarget,
    DockerEnvironment,
    Homelab,
    K3sEnvironment,
    Severity,
    Volume,
    WorkloadClass,
)
from bulkhead.spec.references import docker_address

DELETING_CLASSES = frozenset({"local-path"})
_LOCAL = "this machine"
_RESTIC_BACKENDS = ("rest:", "sftp:", "s3:", "local:", "rclone:", "swift:", "b2:", "azure:", "gs:")


def _volumes(spec: Homelab) -> Iterator[tuple[str, str, Volume]]:
    for name, workload in facts.workloads(spec):
        for vol_name, volume in workload.volumes.items():
            yield name, vol_name, volume


def backed_up(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Every persistent volume has a backup."""
    for name, vol_name, volume in _volumes(spec):
        if volume.backup is None:
            where = facts.at(spec, name, "volumes", vol_name)
            yield Hit(where, f"volume {vol_name} of {name} has no backup", name)


def backup_elsewhere(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A backup target is not on the node or machine that holds the volume."""
    for name, vol_name, volume in _volumes(spec):
        target = spec.backups.targets.get(volume.backup.to) if volume.backup else None
        host = target_host(target) if target else None
        shared = [n for n in facts.placed_nodes(placement, name) if on_machine(spec, n, host)]
        if volume.backup and shared:
            where = facts.at(spec, name, "volumes", vol_name, "backup", "to")
            message = (
                f"volume {vol_name} of {name} lives on {shared[0]}, and its backup target "
                f"{volume.backup.to} is on the same machine"
            )
            yield Hit(where, message, name)


def target_host(target: BackupTarget) -> str | None:
    """The host a backup target's URL names (lowercase), or ``this machine`` for a local path."""
    url = target.url
    for prefix in _RESTIC_BACKENDS:
        url = url.removeprefix(prefix)
    if url.startswith(("/", "file:")):
        return _LOCAL
    if "://" in url:
        return (urlsplit(url).hostname or "").lower() or None
    head = url.split("/", 1)[0]
    return head.rpartition("@")[2].split(":")[0].lower() or None


def on_machine(spec: Homelab, node_name: str, host: str | None) -> bool:
    """True when ``host`` names the node: a local path, localhost, the node's name (bare or as
    the first label of a longer name), or a docker environment's IP or host name."""
    if host is None:
        return False
    names = {_LOCAL, "localhost", "127.0.0.1", "::1", node_name.lower()}
    found = facts.node(spec, node_name)
    env = spec.environments.get(found[0]) if found else None
    if isinstance(env, DockerEnvironment):
        names |= {a.lower() for a in (docker_address(env), urlsplit(env.host).hostname) if a}
    return host in names or host.split(".")[0] == node_name.lower()


def schedule_valid(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A backup schedule is a valid cron expression."""
    for name, vol_name, volume in _volumes(spec):
        problem = cron_problem(volume.backup.schedule) if volume.backup else None
        if problem:
            where = facts.at(spec, name, "volumes", vol_name, "backup", "schedule")
            yield Hit(where, f"backup schedule of {name}/{vol_name}: {problem}", name)


def database_retains(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A database volume is not on a storage class that deletes data when its claim goes."""
    for name, vol_name, volume in _volumes(spec):
        if spec.workloads[name].class_ is not WorkloadClass.database:
            continue
        for storage_class in _classes(spec, placement, name, volume):
            if storage_class in DELETING_CLASSES:
                where = facts.at(spec, name, "volumes", vol_name)
                message = (
                    f"volume {vol_name} of database {name} is on storage class {storage_class}, "
                    "whose reclaimPolicy is Delete"
                )
                yield Hit(where, message, name)
                break


def _classes(spec: Homelab, placement: PlacementResult, name: str, volume: Volume) -> list[str]:
    env = spec.environments.get(facts.environment_of(spec, placement, name) or "")
    if not isinstance(env, K3sEnvironment):
        return []
    if volume.storage_class is not None:
        return [volume.storage_class]
    nodes = [env.nodes[n] for n in facts.placed_nodes(placement, name) if n in env.nodes]
    return [n.storage.class_ if n.storage else "local-path" for n in nodes]


def database_has_volume(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A database keeps its data on a persistent volume."""
    for name, workload in facts.workloads(spec):
        if workload.class_ is WorkloadClass.database and not workload.volumes:
            message = f"database {name} declares no volume: its data dies with the container"
            yield Hit(facts.at(spec, name), message, name)


RESTIC_KEYS = ("RESTIC_PASSWORD",)
S3_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def restic_keys(target: BackupTarget) -> tuple[str, ...]:
    """The keys restic reads from a target's secret: the password, and S3's access keys."""
    s3 = target.type == "s3" or target.url.startswith("s3:")
    return RESTIC_KEYS + (S3_KEYS if s3 else ())


def _used_targets(spec: Homelab) -> list[str]:
    used = {v.backup.to for _, _, v in _volumes(spec) if v.backup}
    return [name for name in spec.backups.targets if name in used]


def backup_credentials(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A backup target that volumes use names a secret holding restic's credentials."""
    for name in _used_targets(spec):
        target = spec.backups.targets[name]
        secret = spec.secrets.get(target.secret) if target.secret else None
        if target.secret is None:
            where = facts.where(spec, "backups", "targets", name)
            message = (
                f"backups to {name} cannot run as rendered: the target names no secret, so "
                f"restic gets no RESTIC_PASSWORD (only a restic-{name} Secret made by hand would)"
            )
            yield Hit(where, message)
        elif secret is not None:
            missing = [key for key in restic_keys(target) if key not in secret.keys]
            if missing:
                where = facts.where(spec, "backups", "targets", name, "secret")
                message = (
                    f"backups to {name} cannot run: secret {target.secret!r} has no key "
                    f"{', '.join(missing)}, which restic needs"
                )
                yield Hit(where, message, fix=f"Add {', '.join(missing)} to the secret's keys.")


RULES = (
    Rule(
        id="BH-VOL-001",
        title="Every persistent volume is backed up",
        severity=Severity.error,
        summary="Reports a volume without a backup.",
        rationale=(
            "Backups are handled independently of the workload: an SD card, an NVMe drive or a "
            "careless kubectl delete takes the volume with it, and only a copy elsewhere survives."
        ),
        example=(
            "workloads:\n  gitea:\n    volumes:\n"
            "      repos: {mount: /data, size: 10Gi}   # no backup"
        ),
        fix="Add backup: {schedule: '0 3 * * *', to: <target>, retain: 7} to the volume.",
        check=backed_up,
    ),
    Rule(
        id="BH-VOL-002",
        title="Backups leave the machine",
        severity=Severity.error,
        summary=(
            "Reports a backup whose target is on the node or machine that holds the volume: a "
            "local path, localhost, the node's name or the docker machine's address."
        ),
        rationale=(
            "A backup on the same disk or box dies with it. The failure a backup exists for (a "
            "dead node) is exactly the one it would not survive."
        ),
        example=(
            "backups:\n  targets:\n    local: {type: restic, url: /srv/backups}\n"
            "workloads:\n  postgres:\n    volumes:\n"
            "      data: {mount: /var/lib/postgresql/data, size: 20Gi,\n"
            "             backup: {schedule: '0 3 * * *', to: local}}"
        ),
        fix="Send the backup to another machine: a NAS, an S3 bucket, a restic REST server.",
        check=backup_elsewhere,
    ),
    Rule(
        id="BH-VOL-003",
        title="Database volumes outlive their claims",
        severity=Severity.warning,
        summary=(
            "Reports a database volume on a storage class that deletes the data when the claim "
            "is released (k3s's local-path has reclaimPolicy: Delete)."
        ),
        rationale=(
            "Deleting the StatefulSet's claim, or pruning it by mistake, erases the database's "
            "files at once; with reclaimPolicy Retain the data stays on disk to be recovered."
        ),
        example=(
            "environments:\n  cluster:\n    nodes:\n"
            "      pi-4: {storage: {class: local-path, size: 476Gi, tier: fast}}"
        ),
        fix=(
            "Use a storage class with reclaimPolicy: Retain (a copy of local-path with Retain) "
            "and name it in the node's storage.class or the volume's storageClass."
        ),
        check=database_retains,
    ),
    Rule(
        id="BH-VOL-004",
        title="Backup schedules are valid cron",
        severity=Severity.error,
        summary="Reports a backup schedule that is not a five-field cron expression or a macro.",
        rationale=(
            "A bad schedule is only rejected when the CronJob reaches the API server, mid-deploy; "
            "until then the volume is not backed up at all."
        ),
        example="backup: {schedule: '0 3 * *', to: nas}   # four fields",
        fix="Write minute hour day-of-month month weekday, e.g. '0 3 * * *', or @daily.",
        check=schedule_valid,
    ),
    Rule(
        id="BH-VOL-005",
        title="Databases keep their data on a volume",
        severity=Severity.error,
        summary="Reports a database that declares no volume.",
        rationale=(
            "Without a volume a database writes into the container's filesystem, which is "
            "thrown away on every restart, reschedule or upgrade."
        ),
        example="workloads:\n  postgres:\n    class: database   # and no volumes",
        fix=(
            "Add volumes: {data: {mount: /var/lib/postgresql/data, size: 20Gi, backup: "
            "{schedule: '0 3 * * *', to: nas}}}."
        ),
        check=database_has_volume,
    ),
    Rule(
        id="BH-VOL-006",
        title="Backup targets carry restic's credentials",
        severity=Severity.warning,
        summary=(
            "Reports a backup target that volumes use and that names no secret, or whose secret "
            "lacks a key restic needs: RESTIC_PASSWORD and, for s3, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY."
        ),
        rationale=(
            "restic refuses to open a repository without its password. Without credentials "
            "every scheduled backup fails, quietly, until the day a restore is needed."
        ),
        example=(
            "backups:\n  targets:\n    nas: {type: nfs, url: 'nfs://nas.lan/backups'}   # no secret"
        ),
        fix=(
            "Declare a secret with the keys restic reads and name it on the target: "
            "secrets: {restic: {keys: [RESTIC_PASSWORD], source: 'file://~/.lab.env'}} and "
            "backups.targets.nas.secret: restic. bulkhead apply then writes it where the "
            "backup jobs read it."
        ),
        check=backup_credentials,
    ),
)
