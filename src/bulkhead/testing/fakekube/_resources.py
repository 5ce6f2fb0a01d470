"""The resource types the fake API server serves: group, version, plural, kind and scope.

The table holds the kinds bulkhead renders and the ones doctor reads. Applying a
CustomResourceDefinition registers its resource, as a real API server does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and what its objects are."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``apps/v1`` or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """``api/v1`` or ``apis/apps/v1``."""
        return f"apis/{self.group}/{self.version}" if self.group else f"api/{self.version}"

    @property
    def qualified(self) -> str:
        """``deployments.apps`` as Kubernetes names the resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _row(api_version: str, kind: str, plural: str, namespaced: bool = True) -> ResourceType:
    group, _, version = api_version.rpartition("/")
    return ResourceType(group, version, plural, kind, namespaced)


BUILTIN: tuple[ResourceType, ...] = (
    _row("v1", "Namespace", "namespaces", namespaced=False),
    _row("v1", "Node", "nodes", namespaced=False),
    _row("v1", "PersistentVolume", "persistentvolumes", namespaced=False),
    _row("v1", "Pod", "pods"),
    _row("v1", "Event", "events"),
    _row("v1", "Service", "services"),
    _row("v1", "ConfigMap", "configmaps"),
    _row("v1", "Secret", "secrets"),
    _row("v1", "ServiceAccount", "serviceaccounts"),
    _row("v1", "ResourceQuota", "resourcequotas"),
    _row("v1", "LimitRange", "limitranges"),
    _row("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    _row("apps/v1", "Deployment", "deployments"),
    _row("apps/v1", "StatefulSet", "statefulsets"),
    _row("apps/v1", "DaemonSet", "daemonsets"),
    _row("apps/v1", "ReplicaSet", "replicasets"),
    _row("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    _row("batch/v1", "Job", "jobs"),
    _row("batch/v1", "CronJob", "cronjobs"),
    _row("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
    _row("networking.k8s.io/v1", "Ingress", "ingresses"),
    _row("networking.k8s.io/v1", "IngressClass", "ingressclasses", namespaced=False),
    _row("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
    _row("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    _row("rbac.authorization.k8s.io/v1", "Role", "roles"),
    _row("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
    _row("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", namespaced=False),
    _row(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    _row("storage.k8s.io/v1", "StorageClass", "storageclasses", namespaced=False),
    _row(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
    ),
)


def from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The resources a CustomResourceDefinition serves, one per served version."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    namespaced = spec.get("scope") == "Namespaced"
    return [
        ResourceType(spec["group"], v["name"], names["plural"], names["kind"], namespaced)
        for v in spec.get("versions", [])
        if v.get("served", True)
    ]
