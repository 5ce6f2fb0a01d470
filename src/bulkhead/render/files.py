"""Config files (``files:``) and environment (``env``, ``secretEnv``) as both targets mount them.

A workload's files become one ConfigMap (Kubernetes) or inline Compose configs, each file under
a key derived from its mount path (``/etc/app/app.yaml`` → ``etc_app_app.yaml``; ConfigMap keys
allow only ``[-._a-zA-Z0-9]``). The SHA-256 of all of them, in a pod-template annotation, rolls
the pods when a file changes (a ConfigMap edit alone restarts nothing). A ``secretEnv`` entry
``NAME: <secret>.<key>`` refers to the Secret named ``<secret>`` that ``bulkhead apply`` creates
from the declared source; values never appear in the render. :func:`secret_references` reads
those references back from rendered objects (for file headers, and for apply).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from bulkhead.spec.models import Homelab, Workload

_UNSAFE = re.compile(r"[^-._a-zA-Z0-9]")


def file_keys(workload: Workload) -> dict[str, str]:
    """Mount path → a unique, valid ConfigMap key, in spec order."""
    keys: dict[str, str] = {}
    for path in workload.files:
        key = _UNSAFE.sub("_", path.lstrip("/")) or "file"
        while key in keys.values():
            key = f"_{key}"
        keys[path] = key
    return keys


def file_data(spec: Homelab, name: str) -> dict[str, str]:
    """Key → text of every config file of a workload."""
    keys = file_keys(spec.workloads[name])
    return {keys[path]: spec.file_text(name, path) for path in keys}


def files_digest(spec: Homelab, name: str) -> str:
    """SHA-256 over every key and text, so any change to a file changes it."""
    digest = hashlib.sha256()
    for key, text in file_data(spec, name).items():
        digest.update(f"{len(key)}:{key}{len(text)}:{text}".encode())
    return digest.hexdigest()


def secret_ref(reference: str) -> tuple[str, str]:
    """``<secret>.<key>`` → (secret, key)."""
    secret, _, key = reference.partition(".")
    return secret, key


def pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec inside a workload object (Pod, Deployment, StatefulSet, Job, CronJob...)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    if obj.get("kind") != "Pod":
        spec = (spec.get("template") or {}).get("spec") or {}
    return spec


def secret_references(obj: Mapping[str, Any]) -> Iterator[tuple[str, str | None]]:
    """(Secret name, key) of every Secret an object's pods read; key None when they read every
    key (``envFrom``, a ``secret`` volume without items)."""
    pod = pod_spec(obj)
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        for entry in container.get("env") or []:
            ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                yield ref["name"], ref["key"]
        for source in container.get("envFrom") or []:
            if source.get("secretRef"):
                yield source["secretRef"]["name"], None
    for volume in pod.get("volumes") or []:
        secret = volume.get("secret")
        if secret:
            items = secret.get("items") or [{"key": None}]
            yield from ((secret["secretName"], item["key"]) for item in items)
