"""Kubernetes objects as plain dicts: references, kind order, the inventory, and diffs.

Everything here is pure. The inventory is the pair of labels every object bulkhead applies
carries: ``app.kubernetes.io/managed-by: bulkhead`` and ``bulkhead.dev/homelab: <name>``; prune
deletes only objects that carry both. Kind order puts namespaces, quotas and policies before
the workloads that need them (the order Helm and kubectl use); deletion runs it backwards.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

MANAGED_BY = "app.kubernetes.io/managed-by"
HOMELAB = "bulkhead.dev/homelab"
MANAGER = "bulkhead"

KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "Namespace"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "ServiceAccount"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("v1", "PersistentVolume"),
    ("v1", "PersistentVolumeClaim"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "Service"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("apps/v1", "DaemonSet"),
    ("v1", "Pod"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("networking.k8s.io/v1", "Ingress"),
)
"""Apply order, and the kinds prune looks at (with the kinds of the current render)."""
KIND_ORDER: tuple[str, ...] = tuple(kind for _, kind in KINDS)
KEPT_KINDS = frozenset({"Namespace", "PersistentVolumeClaim", "PersistentVolume"})
"""Never pruned: a namespace takes objects bulkhead does not own with it, a claim takes data."""
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
)
SERVER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
)


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Which object: its API version, kind, namespace (None when cluster-scoped) and name."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        """The reference of an object dict."""
        meta = obj.get("metadata", {})
        return cls(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])

    def __str__(self) -> str:
        kind = self.kind.lower()
        return f"{self.namespace}/{kind}/{self.name}" if self.namespace else f"{kind}/{self.name}"


def inventory_labels(homelab: str) -> dict[str, str]:
    """The two labels that mark an object as bulkhead's, for one homelab."""
    return {MANAGED_BY: MANAGER, HOMELAB: homelab}


def in_inventory(obj: Mapping[str, Any], homelab: str) -> bool:
    """Whether an object carries both inventory labels of this homelab."""
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in inventory_labels(homelab).items())


def with_inventory(obj: Mapping[str, Any], homelab: str) -> dict[str, Any]:
    """A copy of an object that carries the inventory labels (the render sets them already)."""
    result = copy.deepcopy(dict(obj))
    labels = result.setdefault("metadata", {}).setdefault("labels", {})
    labels.update(inventory_labels(homelab))
    return result


def kind_rank(kind: str) -> int:
    """Position in apply order; unknown kinds (custom resources) come last."""
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def apply_order(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Objects sorted for apply: by kind order, then namespace and name (stable, deterministic)."""
    return sorted((dict(o) for o in objects), key=lambda o: (kind_rank(o["kind"]), ObjectRef.of(o)))


def delete_order(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    """References sorted for deletion: workloads before the namespaces and quotas they need."""
    return sorted(refs, key=lambda r: (-kind_rank(r.kind), r))


def strip_server_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object without what the server manages: status, uid, versions, managedFields."""
    result = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    meta = result.get("metadata", {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    if "annotations" in meta and not annotations:
        meta.pop("annotations")
    return result


def redact_secret(obj: dict[str, Any], other: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A Secret with every value hidden: ``<changed>`` where it differs from ``other``.

    Values of Secrets never reach a diff, a log or the terminal (issue 8 adds Secrets).
    """
    if obj.get("kind") != "Secret":
        return obj
    result = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        theirs = (other or {}).get(field) or {}
        values = result.get(field) or {}
        for key, value in values.items():
            same = other is None or theirs.get(key) == value
            values[key] = "<hidden>" if same else "<changed>"
        if field in result:
            result[field] = values
    return result


def unified_diff(
    ref: ObjectRef, live: Mapping[str, Any] | None, desired: Mapping[str, Any] | None
) -> str:
    """A unified diff of live vs desired YAML, server-managed fields stripped, secrets hidden.

    ``live`` None is a creation, ``desired`` None a deletion; equal objects give ``""``.
    """
    before = strip_server_fields(live) if live is not None else None
    after = strip_server_fields(desired) if desired is not None else None
    old = _lines(redact_secret(before) if before is not None else None)
    new = _lines(redact_secret(after, before) if after is not None else None)
    label = str(ref)
    return "".join(difflib.unified_diff(old, new, f"live/{label}", f"bulkhead/{label}", n=3))


def _lines(obj: Mapping[str, Any] | None) -> list[str]:
    return _yaml(obj).splitlines(keepends=True) if obj is not None else []


def _yaml(obj: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(obj), sort_keys=True, default_flow_style=False, width=100)
