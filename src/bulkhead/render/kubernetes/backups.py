"""Backups of cluster volumes: a restic CronJob per claim, with its own tight NetworkPolicy.

The CronJob runs in the workload's namespace and mounts the claim read-only. A local-path (or
any node-local) volume can only be read on the node that holds it, so the pod lands there by
the volume's own node affinity; what never touches that node's storage is the backup itself:
the snapshot goes to the declared target and restic keeps no cache (:mod:`bulkhead.render.
restic`). An nfs share is mounted by the kubelet, so the pod opens no connection at all; an s3
or rest target gets one egress rule to its host (an IP as ``/32``; a hostname as any address
outside the k3s pod and service ranges) and port. Backup pods carry ``bulkhead.dev/backup``,
never the workload's selector label, so no workload policy or Service ever matches them.

Jobs never overlap (``concurrencyPolicy: Forbid``), give up after six hours, and run as the
workload's user so they can read its files.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from bulkhead.render import restic
from bulkhead.render.kubernetes.network import policy, tcp
from bulkhead.render.kubernetes.pods import toleration
from bulkhead.render.kubernetes.workloads import Claim, claims
from bulkhead.render.view import View, ip_cidr, shorten
from bulkhead.spec.models import Backup

Obj = dict[str, Any]
BACKUP = "bulkhead.dev/backup"
K3S_POD_CIDR = "10.42.0.0/16"
K3S_SERVICE_CIDR = "10.43.0.0/16"
DEFAULT_USER = 65532
_CRONJOB_NAME_LIMIT = 52  # a Job's name adds 11 characters and must stay within 63


def backup_objects(view: View, name: str) -> list[Obj]:
    """CronJob and NetworkPolicy for every claim of a workload whose volume has a backup."""
    workload = view.spec.workloads[name]
    objects: list[Obj] = []
    for claim in claims(view, name):
        backup = workload.volumes[claim.volume].backup
        if backup is not None:
            objects.append(cronjob(view, name, claim, backup))
            objects.append(backup_policy(view, name, claim, backup))
    return objects


def job_name(claim: Claim) -> str:
    """``backup-<key>``, shortened with a hash when a Job name would grow past 63."""
    return shorten(f"backup-{claim.key}", _CRONJOB_NAME_LIMIT)


def labels(view: View, claim: Claim) -> dict[str, str]:
    """Labels of the CronJob, its Jobs and pods: bulkhead's, and what they back up."""
    common = {"app.kubernetes.io/name": job_name(claim), "app.kubernetes.io/component": "backup"}
    return common | view.common_labels() | {BACKUP: shorten(claim.key)}


def cronjob(view: View, name: str, claim: Claim, backup: Backup) -> Obj:
    """The CronJob backing up one claim on the declared schedule."""
    pod = {"metadata": {"labels": labels(view, claim)}, "spec": pod_spec(view, name, claim, backup)}
    job = {"backoffLimit": 2, "activeDeadlineSeconds": 6 * 3600, "template": pod}
    spec = {
        "schedule": backup.schedule,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 3600,
        "successfulJobsHistoryLimit": 1,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {"metadata": {"labels": labels(view, claim)}, "spec": job},
    }
    metadata = {"name": job_name(claim), "namespace": view.namespace_of(name)}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata | {"labels": labels(view, claim)},
        "spec": spec,
    }


def pod_spec(view: View, name: str, claim: Claim, backup: Backup) -> Obj:
    """The restic pod: non-root as the workload's user, read-only everywhere but the target."""
    workload = view.spec.workloads[name]
    uid = workload.security.run_as_user or DEFAULT_USER
    spec: Obj = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": uid,
            "runAsGroup": uid,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container(view, name, claim, backup)],
        "volumes": volumes(view, claim, backup),
    }
    if workload.placement.tolerations:
        spec["tolerations"] = [toleration(t) for t in workload.placement.tolerations]
    return spec


def container(view: View, name: str, claim: Claim, backup: Backup) -> Obj:
    """The restic container."""
    target = view.spec.backups.targets[backup.to]
    path = f"{view.name}/{view.namespace_of(name)}/{claim.key}"
    env = [{"name": "RESTIC_REPOSITORY", "value": restic.repository(target, path)}]
    mounts = [{"name": "data", "mountPath": restic.SOURCE_MOUNT, "readOnly": True}]
    if target.type == "nfs":
        mounts.append({"name": "repository", "mountPath": restic.REPOSITORY_MOUNT})
    tag = f"{view.namespace_of(name)}/{claim.key}"
    return {
        "name": "restic",
        "image": restic.IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", restic.script(f"bulkhead-{view.name}", tag, backup.retain)],
        "env": env,
        "envFrom": [{"secretRef": {"name": restic.secret_name(backup.to, target)}}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "512Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
        "volumeMounts": mounts,
    }


def volumes(view: View, claim: Claim, backup: Backup) -> list[Obj]:
    """The claim (read-only) and, for an nfs target, the share holding the repository."""
    result: list[Obj] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": claim.pvc, "readOnly": True}}
    ]
    share = restic.nfs_share(view.spec.backups.targets[backup.to])
    if share:
        result.append({"name": "repository", "nfs": {"server": share[0], "path": share[1]}})
    return result


def backup_policy(view: View, name: str, claim: Claim, backup: Backup) -> Obj:
    """No ingress; egress only to a network target (DNS comes from the namespace policy)."""
    spec: Obj = {
        "podSelector": {"matchLabels": {BACKUP: shorten(claim.key)}},
        "policyTypes": ["Ingress", "Egress"],
    }
    found = restic.endpoint(view.spec.backups.targets[backup.to])
    if found:
        peer = {"ipBlock": target_block(found.host)}
        spec["egress"] = [{"to": [peer], "ports": tcp([found.port])}]
    return policy(view, job_name(claim), view.namespace_of(name), spec)


def target_block(host: str) -> Obj:
    """An IP as its own ``/32``; a hostname as any address outside the cluster's ranges."""
    try:
        return {"cidr": ip_cidr(str(ipaddress.ip_address(host)))}
    except ValueError:
        return {"cidr": "0.0.0.0/0", "except": [K3S_POD_CIDR, K3S_SERVICE_CIDR]}
