"""The cluster adapter: the only module that talks to a Kubernetes API server (through lightkube).

It picks the kubeconfig context (refusing one the user did not name), and offers plain-dict
verbs: server-side apply with field manager ``bulkhead`` (dry-run, force), get, list by label,
delete. Built-in kinds come from lightkube's models; any other kind is looked up among the
cluster's CustomResourceDefinitions. Errors become bulkhead's: an unreachable server is
:class:`~bulkhead.errors.LayerUnreachable`, a field owned by another manager is
:class:`FieldConflicts`. Nothing here prints or logs credentials: messages name the context,
its cluster and the server URL, never a user entry, token or certificate.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import msgspec
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.core.exceptions import ConfigError as KubeConfigError
from lightkube.core.exceptions import LoadResourceError
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_resources_from_crd
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.types import CascadeType, PatchType

from bulkhead.apply.objects import MANAGER, ObjectRef
from bulkhead.errors import ApplyError, ConflictError, LayerUnreachable

IN_CLUSTER = "in-cluster"


@dataclass(frozen=True)
class FieldConflict:
    """One field another manager owns with a different value."""

    manager: str
    field: str


class FieldConflicts(ConflictError):
    """Server-side apply refused an object: fields owned by other managers."""

    def __init__(self, ref: ObjectRef, conflicts: tuple[FieldConflict, ...]) -> None:
        self.ref = ref
        self.conflicts = conflicts
        fields = ", ".join(f"{c.field} (owned by {c.manager})" for c in conflicts)
        super().__init__(f"{ref}: {fields}")


class ContextRefused(ApplyError):
    """The kubeconfig context was not named by the user."""


@dataclass(frozen=True)
class Target:
    """Which cluster a client talks to, in words safe to print."""

    context: str
    cluster: str
    server: str

    def __str__(self) -> str:
        return f"context {self.context}, cluster {self.cluster} at {self.server}"


# -- choosing the context ------------------------------------------------------------------------


def load_kubeconfig(environ: Mapping[str, str] | None = None) -> KubeConfig:
    """The kubeconfig kubectl would read: ``$KUBECONFIG`` (a list of files, merged) or
    ``~/.kube/config``; in a pod without either, the service account (context ``in-cluster``)."""
    env = os.environ if environ is None else environ
    files = [Path(p).expanduser() for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    files = [f for f in files or [Path("~/.kube/config").expanduser()] if f.is_file()]
    if files:
        return KubeConfig.from_dict(_merged(files), fname=files[0])
    if env.get("KUBERNETES_SERVICE_HOST"):
        return _in_cluster()
    raise LayerUnreachable("no kubeconfig found: set KUBECONFIG or create ~/.kube/config")


def _merged(files: list[Path]) -> dict[str, Any]:
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    for path in files:
        data = _read_yaml(path)
        merged.setdefault("current-context", data.get("current-context"))
        for section in ("clusters", "contexts", "users"):
            known = {entry.get("name") for entry in merged[section]}
            merged[section] += [e for e in data.get(section) or [] if e.get("name") not in known]
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LayerUnreachable(f"cannot read kubeconfig {path}: {type(exc).__name__}") from None
    return data if isinstance(data, dict) else {}


def _in_cluster() -> KubeConfig:
    try:
        config = KubeConfig.from_service_account()
    except (KubeConfigError, KeyError) as exc:
        raise LayerUnreachable(f"cannot read the in-cluster service account: {exc}") from None
    config.contexts = {IN_CLUSTER: config.contexts["default"]}
    config.current_context = IN_CLUSTER
    return config


def choose_context(config: KubeConfig, requested: str | None, environment: str) -> Target:
    """The context to use: the one named with ``--context``, or the current context when its
    name or its cluster's name is the spec's k3s environment name. Anything else is refused."""
    if requested is not None and requested not in config.contexts:
        raise ContextRefused(f"no kubeconfig context named {requested!r}; {_known(config)}")
    name = requested or config.current_context
    if name is None or name not in config.contexts:
        raise ContextRefused(f"no current kubeconfig context; pass --context. {_known(config)}")
    cluster = config.contexts[name].cluster
    if requested is None and environment not in (name, cluster):
        raise ContextRefused(
            f"refusing the current kubeconfig context {name!r} (cluster {cluster!r}): it is not "
            f"named {environment!r} like the spec's cluster environment; pass --context {name} "
            f"if that is the cluster you mean. {_known(config)}"
        )
    server = config.clusters[cluster].server if cluster in config.clusters else "?"
    return Target(name, cluster, server)


def _known(config: KubeConfig) -> str:
    names = ", ".join(f"{n} (cluster {c.cluster})" for n, c in sorted(config.contexts.items()))
    return f"contexts: {names}" if names else "the kubeconfig has no contexts"


# -- the adapter ---------------------------------------------------------------------------------


class KubeCluster:
    """Plain-dict verbs over one lightkube client. Build it with :func:`connect`."""

    def __init__(self, client: Client, target: Target) -> None:
        self._client = client
        self.target = target
        self._custom: dict[tuple[str, str], Any] | None = None

    def apply(self, obj: Mapping[str, Any], *, dry_run: bool, force: bool) -> dict[str, Any]:
        """Server-side apply of one object; returns the object as the server stored (or would)."""
        ref = ObjectRef.of(obj)
        res = self._resource(ref.api_version, ref.kind)
        with self._guard(str(ref)):
            try:
                result = self._client.patch(
                    res,
                    ref.name,
                    dict(obj),
                    namespace=ref.namespace,
                    patch_type=PatchType.APPLY,
                    field_manager=MANAGER,
                    force=force,
                    dry_run=dry_run,
                )
            except ApiError as exc:
                raise _apply_error(ref, exc) from None
        return _as_dict(result, ref)

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        res = self._resource(ref.api_version, ref.kind)
        with self._guard(str(ref)):
            try:
                found = self._client.get(res, ref.name, namespace=ref.namespace)
            except ApiError as exc:
                if exc.status.code == 404:
                    return None
                raise ApplyError(f"{ref}: {exc.status.message}") from None
        return _as_dict(found, ref)

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every object of a kind (in one namespace, or all), optionally by labels."""
        res = self._resource(api_version, kind)
        scope = (namespace or "*") if _namespaced(res) else None
        with self._guard(f"listing {kind}"):
            try:
                items = list(self._client.list(res, namespace=scope, labels=dict(labels or {})))
            except ApiError as exc:
                if exc.status.code == 404:  # the cluster does not serve this kind: none exist
                    return []
                raise ApplyError(f"cannot list {kind}: {exc.status.message}") from None
        return [_listed(item, api_version, kind) for item in items]

    def delete(self, ref: ObjectRef, *, dry_run: bool) -> None:
        """Delete one object (its dependents go in the background); a missing one is fine."""
        res = self._resource(ref.api_version, ref.kind)
        with self._guard(str(ref)):
            try:
                self._client.delete(
                    res,
                    ref.name,
                    namespace=ref.namespace,
                    cascade=CascadeType.BACKGROUND,
                    dry_run=dry_run,
                )
            except ApiError as exc:
                if exc.status.code != 404:
                    raise ApplyError(f"cannot delete {ref}: {exc.status.message}") from None

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """Transport failures are an unreachable layer; an unreadable answer an apply error."""
        try:
            yield
        except httpx2.TransportError as exc:
            raise self._unreachable(exc) from None
        except msgspec.ValidationError as exc:
            raise ApplyError(f"{what}: the cluster's answer does not parse: {exc}") from None

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the cluster serves a kind (built in, or through an installed CRD)."""
        try:
            self._resource(api_version, kind)
        except ApplyError:
            return False
        return True

    def _resource(self, api_version: str, kind: str) -> Any:
        if _builtin(api_version):
            try:
                return resource_registry.load(api_version, kind)
            except LoadResourceError:
                pass
        elif (api_version, kind) in self._custom_kinds():
            return self._custom_kinds()[(api_version, kind)]
        raise ApplyError(f"the cluster does not serve {api_version} {kind} (is its CRD installed?)")

    def _custom_kinds(self) -> dict[tuple[str, str], Any]:
        """The kinds this cluster's CustomResourceDefinitions serve (listed once)."""
        if self._custom is None:
            self._custom = {}
            for crd in self._list_crds():
                create_resources_from_crd(crd)
                for version in crd.spec.versions:
                    key = (f"{crd.spec.group}/{version.name}", crd.spec.names.kind)
                    self._custom[key] = resource_registry.get(*key)
        return self._custom

    def _list_crds(self) -> Sequence[Any]:
        with self._guard("listing CustomResourceDefinitions"):
            try:
                return list(self._client.list(CustomResourceDefinition))
            except ApiError:
                return []

    def _unreachable(self, exc: Exception) -> LayerUnreachable:
        return LayerUnreachable(f"cannot reach the cluster, {self.target}: {type(exc).__name__}")


def connect(
    config: KubeConfig,
    target: Target,
    *,
    transport: httpx2.BaseTransport | None = None,
    timeout: float = 15.0,
) -> KubeCluster:
    """A :class:`KubeCluster` for the chosen context (``transport`` is the test seam)."""
    try:
        single = config.get(target.context)
        client = Client(
            config=single,
            field_manager=MANAGER,
            lazy=False,
            transport=transport,
            timeout=httpx2.Timeout(timeout),
        )
    except (KubeConfigError, OSError, AssertionError) as exc:
        message = f"cannot use {target}: {type(exc).__name__}: {_safe(exc)}"
        raise LayerUnreachable(message) from None
    return KubeCluster(client, target)


def _safe(exc: Exception) -> str:
    """An exception's message unless it might quote a credential (then only its type)."""
    text = str(exc)
    risky = ("token", "password", "BEGIN", "client-key", "secret")
    return "(details withheld)" if any(word in text for word in risky) else text


def _apply_error(ref: ObjectRef, exc: ApiError) -> ApplyError:
    status = exc.status
    if status.code == 409 and status.reason == "Conflict":
        causes = (status.details.causes if status.details else None) or []
        conflicts = tuple(
            FieldConflict(_manager(c.message or ""), c.field or "?")
            for c in causes
            if c.reason == "FieldManagerConflict"
        )
        return FieldConflicts(ref, conflicts or (FieldConflict("?", status.message or ""),))
    return ApplyError(f"{ref}: {status.message}")


def _manager(message: str) -> str:
    """``conflict with "kubectl-edit" using apps/v1`` → ``kubectl-edit``."""
    parts = message.split('"')
    return parts[1] if len(parts) >= 3 else message


def _builtin(api_version: str) -> bool:
    """Kubernetes' own groups: core, dot-less groups (apps, batch) and ``*.k8s.io``."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def _namespaced(res: Any) -> bool:
    from lightkube.core import resource as r

    return issubclass(res, r.NamespacedResource)


def _as_dict(obj: Any, ref: ObjectRef) -> dict[str, Any]:
    data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    data.setdefault("apiVersion", ref.api_version)
    data.setdefault("kind", ref.kind)
    return data


def _listed(obj: Any, api_version: str, kind: str) -> dict[str, Any]:
    data: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return {"apiVersion": api_version, "kind": kind, **data}
