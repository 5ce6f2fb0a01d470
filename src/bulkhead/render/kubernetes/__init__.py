"""The Kubernetes target: every object of every k3s environment, grouped by namespace and file.

For each namespace that holds workloads placed in a k3s environment (and, in the first such
environment, each declared namespace that holds none), :func:`namespace_files` gives the
objects of each file of ``DIR/<env>/<namespace>/``: ``_namespace.yaml`` (Namespace,
ResourceQuota, LimitRange), ``_network-policies.yaml``, ``_external-apis.yaml``,
``_backups.yaml`` and one ``<workload>.yaml`` per workload. Workload names cannot contain ``_``,
so the file names never collide.
"""

from __future__ import annotations

from typing import Any

from bulkhead.render.kubernetes.backups import backup_objects
from bulkhead.render.kubernetes.external import api_objects
from bulkhead.render.kubernetes.namespace import namespace_frame
from bulkhead.render.kubernetes.network import namespace_policies, workload_policies
from bulkhead.render.kubernetes.nodes import node_files
from bulkhead.render.kubernetes.workloads import workload_objects
from bulkhead.render.view import View
from bulkhead.spec.models import WorkloadClass

Obj = dict[str, Any]
Files = dict[str, list[Obj]]

__all__ = ["cluster_objects", "namespace_files", "namespaces_in", "node_files"]


def cluster_objects(view: View) -> list[Obj]:
    """Every object of every k3s environment, namespace by namespace, file by file."""
    return [
        obj
        for env in view.k3s()
        for namespace in namespaces_in(view, env)
        for objects in namespace_files(view, env, namespace).values()
        for obj in objects
    ]


def namespaces_in(view: View, env: str) -> list[str]:
    """Namespaces rendered into ``env``, in spec order."""
    used = {view.namespace_of(n) for n in _workloads(view, env)}
    if env == next(iter(view.k3s()), None):
        placed = {view.namespace_of(n) for k in view.k3s() for n in _workloads(view, k)}
        used |= set(view.spec.namespaces) - placed
    declared = [n for n in view.spec.namespaces if n in used]
    return declared + sorted(used - set(declared))


def _workloads(view: View, env: str) -> list[str]:
    return [
        name
        for name, workload in view.in_environment(env).items()
        if workload.class_ is not WorkloadClass.ci_job
    ]


def namespace_files(view: View, env: str, namespace: str) -> Files:
    """File name → objects for one namespace of one k3s environment."""
    k3s = view.k3s()[env]
    names = [n for n in _workloads(view, env) if view.namespace_of(n) == namespace]
    per_workload = {f"{n}.yaml": workload_objects(view, k3s, n) for n in names}
    backups = [o for n in names for o in backup_objects(view, n)]
    policies = namespace_policies(view, namespace)
    policies += [p for n in names for p in workload_policies(view, env, n)]
    apis = api_objects(view, env, namespace, names)
    running = [o for objects in per_workload.values() for o in objects] + backups
    files: Files = {
        "_namespace.yaml": namespace_frame(view, namespace, k3s.version, running),
        "_network-policies.yaml": policies,
        "_external-apis.yaml": apis,
        "_backups.yaml": backups,
        **per_workload,
    }
    return {name: objects for name, objects in files.items() if objects}
