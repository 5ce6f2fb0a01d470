"""The fake API server: routing, the verbs, and server-side apply over the store.

Verbs: GET (one object or a list, by namespace and ``labelSelector``), POST (create), PATCH
(``application/apply-patch+yaml`` is server-side apply; merge and strategic merge patches are
updates), DELETE. ``dryRun=All`` computes the answer and stores nothing. Errors are ``Status``
bodies with the reasons a real server gives (NotFound, AlreadyExists, Conflict, BadRequest).
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
import yaml

from bulkhead.testing.fakekube import _selectors
from bulkhead.testing.fakekube._defaults import apply_defaults
from bulkhead.testing.fakekube._fields import (
    Path,
    applied_body,
    get_at,
    leaf_paths,
    merge,
    remove_at,
)
from bulkhead.testing.fakekube._resources import BUILTIN, ResourceType, from_crd
from bulkhead.testing.fakekube._status import Reject, failure, ok, success
from bulkhead.testing.fakekube._store import (
    FAKE_TIME,
    Key,
    Owner,
    content,
    field_name,
    owners_of,
    with_owners,
)

APPLY = "application/apply-patch+yaml"
Rollouts = Literal["ready", "stalled"]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class Call:
    """One request the server answered, for tests that check what a client sent."""

    method: str
    path: str
    params: dict[str, str]
    content_type: str


@dataclass(frozen=True)
class _Target:
    rtype: ResourceType
    namespace: str | None
    name: str | None


class FakeKube:
    """An in-memory Kubernetes API server behind lightkube's transport seam.

    ``rollouts="ready"`` plays the controllers: a written Deployment, StatefulSet or DaemonSet
    gets a status that says every replica is updated and available. ``"stalled"`` leaves them
    unavailable, for tests of a failing rollout (seed its pods with :meth:`put`).
    """

    def __init__(self, *, rollouts: Rollouts = "ready") -> None:
        self.rollouts: Rollouts = rollouts
        self.calls: list[Call] = []
        self._types = {(t.prefix, t.plural): t for t in BUILTIN}
        self._objects: dict[Key, dict[str, Any]] = {}
        self._versions = itertools.count(1)
        self._ips = (f"10.43.{a}.{b}" for a, b in itertools.product(range(256), range(1, 255)))
        self._lock = threading.Lock()

    # -- test-facing helpers ------------------------------------------------------------------

    @property
    def transport(self) -> httpx2.MockTransport:
        """The httpx2 transport to hand to ``lightkube.Client(transport=...)``."""
        return httpx2.MockTransport(self.handle)

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as-is (pods, nodes, events, foreign objects), bypassing the API."""
        rtype = self._type_of(obj["apiVersion"], obj["kind"])
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta["resourceVersion"] = str(next(self._versions))
        target = _Target(rtype, meta.get("namespace") if rtype.namespaced else None, meta["name"])
        self._store(target, stored)
        return copy.deepcopy(stored)

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """A stored object, or None."""
        rtype = self._type_of(api_version, kind)
        found = self._objects.get(self._key(rtype, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def objects(self) -> list[dict[str, Any]]:
        """Every stored object (copies), in a stable order."""
        keys = sorted(self._objects, key=lambda k: (k[0].kind, k[1] or "", k[2]))
        return [copy.deepcopy(self._objects[k]) for k in keys]

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request (thread-safe; the HTTP wrapper calls it from server threads)."""
        params = dict(request.url.params)
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        call = Call(request.method, request.url.path, params, content_type)
        with self._lock:
            self.calls.append(call)
            try:
                return self._dispatch(call, request.content)
            except Reject as rejected:
                return rejected.response

    def _dispatch(self, call: Call, body: bytes) -> httpx2.Response:
        target = self._route(call.path)
        dry_run = call.params.get("dryRun") == "All"
        if call.method == "GET":
            return self._read(target, call.params)
        if call.method == "POST" and target.name is None:
            return self._create(target, _decode(body), call.params, dry_run)
        if call.method == "PATCH" and target.name is not None:
            return self._patch(target, call, _decode(body), dry_run)
        if call.method == "DELETE" and target.name is not None:
            return self._delete(target, dry_run)
        raise Reject(405, "MethodNotAllowed", f"{call.method} is not supported on {call.path}")

    def _route(self, path: str) -> _Target:
        parts = [p for p in path.split("/") if p]
        size = 2 if parts[:1] == ["api"] else 3
        prefix, rest = "/".join(parts[:size]), parts[size:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2 or (prefix, rest[0]) not in self._types:
            raise Reject(404, "NotFound", "the server could not find the requested resource")
        rtype = self._types[(prefix, rest[0])]
        if rtype.namespaced != (namespace is not None) and len(rest) == 2:
            raise Reject(404, "NotFound", "the server could not find the requested resource")
        return _Target(rtype, namespace, rest[1] if len(rest) == 2 else None)

    # -- reads --------------------------------------------------------------------------------

    def _read(self, target: _Target, params: dict[str, str]) -> httpx2.Response:
        if params.get("watch") == "true":
            raise Reject(400, "BadRequest", "the fake API server does not serve watches")
        if target.name is not None:
            return ok(self._existing(target))
        try:
            selector = _selectors.parse(params.get("labelSelector", ""))
        except ValueError as exc:
            raise Reject(400, "BadRequest", str(exc)) from None
        items = [
            _without_type(obj)
            for (rtype, namespace, _), obj in sorted(self._objects.items(), key=_order)
            if rtype == target.rtype
            and target.namespace in (None, namespace)
            and _selectors.matches(selector, obj["metadata"].get("labels", {}))
        ]
        return ok(self._list_body(target.rtype, items))

    def _list_body(self, rtype: ResourceType, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "kind": f"{rtype.kind}List",
            "apiVersion": rtype.api_version,
            "metadata": {"resourceVersion": str(next(self._versions))},
            "items": items,
        }

    def _existing(self, target: _Target) -> dict[str, Any]:
        assert target.name is not None
        found = self._objects.get(self._key(target.rtype, target.namespace, target.name))
        if found is None:
            raise _not_found(target.rtype, target.name)
        return copy.deepcopy(found)

    # -- writes -------------------------------------------------------------------------------

    def _create(
        self, target: _Target, body: dict[str, Any], params: dict[str, str], dry_run: bool
    ) -> httpx2.Response:
        name = body.get("metadata", {}).get("name")
        if not name:
            raise Reject(422, "Invalid", "metadata.name: Required value: name is required")
        target = _Target(target.rtype, target.namespace, name)
        self._check_body(target, body)
        if self._key(target.rtype, target.namespace, name) in self._objects:
            message = f'{target.rtype.qualified} "{name}" already exists'
            raise Reject(409, "AlreadyExists", message, _details(target.rtype, name))
        manager = params.get("fieldManager", "unknown")
        owner = Owner(manager, "Update", target.rtype.api_version, _paths(body))
        return ok(self._write(target, body, None, {owner.key: owner}, dry_run), 201)

    def _patch(
        self, target: _Target, call: Call, body: dict[str, Any], dry_run: bool
    ) -> httpx2.Response:
        if call.content_type == APPLY:
            return self._apply(target, body, call.params, dry_run)
        if call.content_type in ("application/merge-patch+json", "application/json"):
            return self._update(target, body, call.params, dry_run)
        if call.content_type == "application/strategic-merge-patch+json":
            return self._update(target, body, call.params, dry_run)
        raise Reject(415, "UnsupportedMediaType", f"unsupported patch type {call.content_type}")

    def _apply(
        self, target: _Target, body: dict[str, Any], params: dict[str, str], dry_run: bool
    ) -> httpx2.Response:
        manager = params.get("fieldManager")
        if not manager:
            message = "PatchOptions.meta.k8s.io is invalid: fieldManager: Required value"
            raise Reject(422, "Invalid", message)
        self._check_body(target, body)
        live = self._objects.get(self._key(target.rtype, target.namespace, target.name or ""))
        owner = Owner(manager, "Apply", target.rtype.api_version, _paths(body))
        if live is None:
            return ok(self._write(target, body, None, {owner.key: owner}, dry_run), 201)
        owners = owners_of(live)
        self._resolve_conflicts(target, live, body, owner, owners, params.get("force") == "true")
        merged = _merge_applied(live, body, owner, owners)
        owners[owner.key] = owner
        return ok(self._write(target, merged, live, owners, dry_run))

    def _resolve_conflicts(
        self,
        target: _Target,
        live: dict[str, Any],
        body: dict[str, Any],
        owner: Owner,
        owners: dict[tuple[str, str], Owner],
        force: bool,
    ) -> None:
        conflicts = _conflicts(live, applied_body(body), owner, owners)
        if conflicts and not force:
            raise _conflict_status(target, conflicts)
        for other, path in conflicts:
            other.paths.discard(path)

    def _update(
        self, target: _Target, patch: dict[str, Any], params: dict[str, str], dry_run: bool
    ) -> httpx2.Response:
        live = self._existing(target)
        manager = params.get("fieldManager", "unknown")
        taken = _paths(_drop_nulls(patch))
        owners = owners_of(live)
        for other in owners.values():
            other.paths -= taken
        owner = owners.get((manager, "Update")) or Owner(
            manager, "Update", target.rtype.api_version
        )
        owner.paths |= taken
        owners[owner.key] = owner
        merged = _merge_patch(content(live), patch)
        return ok(self._write(target, merged, live, owners, dry_run))

    def _write(
        self,
        target: _Target,
        obj: dict[str, Any],
        live: dict[str, Any] | None,
        owners: dict[tuple[str, str], Owner],
        dry_run: bool,
    ) -> dict[str, Any]:
        result = self._finish(target, copy.deepcopy(obj), live)
        result = with_owners(result, owners)
        if live is not None and content(result) == content(live) and _same_owners(result, live):
            return copy.deepcopy(live)
        result["metadata"]["resourceVersion"] = str(next(self._versions))
        if not dry_run:
            self._store(target, result)
        return copy.deepcopy(result)

    def _finish(
        self, target: _Target, obj: dict[str, Any], live: dict[str, Any] | None
    ) -> dict[str, Any]:
        if target.namespace is not None and live is None:
            self._require_namespace(target.namespace)
        obj["apiVersion"], obj["kind"] = target.rtype.api_version, target.rtype.kind
        meta = obj.setdefault("metadata", {})
        meta["name"] = target.name
        if target.namespace is not None:
            meta["namespace"] = target.namespace
        _server_metadata(meta, live)
        obj.pop("status", None)
        apply_defaults(obj, live, lambda: next(self._ips))
        meta["generation"] = _generation(obj, live)
        self._set_status(obj, live)
        return obj

    def _set_status(self, obj: dict[str, Any], live: dict[str, Any] | None) -> None:
        if obj["kind"] in WORKLOADS:
            obj["status"] = _workload_status(obj, self.rollouts)
        elif live is not None and "status" in live:
            obj["status"] = copy.deepcopy(live["status"])
        elif obj["kind"] == "Namespace":
            obj["status"] = {"phase": "Active"}

    def _store(self, target: _Target, obj: dict[str, Any]) -> None:
        self._objects[self._key(target.rtype, target.namespace, target.name or "")] = obj
        if obj["kind"] == "CustomResourceDefinition":
            for rtype in from_crd(obj):
                self._types[(rtype.prefix, rtype.plural)] = rtype

    def _delete(self, target: _Target, dry_run: bool) -> httpx2.Response:
        existing = self._existing(target)
        if not dry_run:
            self._objects.pop(self._key(target.rtype, target.namespace, target.name or ""))
            if target.rtype.kind == "Namespace":
                self._cascade(existing["metadata"]["name"])
        return success(_details(target.rtype, target.name or "", existing["metadata"]["uid"]))

    def _cascade(self, namespace: str) -> None:
        """A deleted namespace takes everything in it, as the namespace controller does."""
        for key in [k for k in self._objects if k[1] == namespace]:
            del self._objects[key]

    # -- checks and lookups -------------------------------------------------------------------

    def _check_body(self, target: _Target, body: dict[str, Any]) -> None:
        rtype, meta = target.rtype, body.get("metadata", {})
        if body.get("apiVersion") != rtype.api_version or body.get("kind") != rtype.kind:
            message = f"the body is {body.get('apiVersion')}/{body.get('kind')}, not {rtype.kind}"
            raise Reject(400, "BadRequest", message)
        if meta.get("name") != target.name:
            message = "the name of the object does not match the name on the URL"
            raise Reject(400, "BadRequest", message)
        if meta.get("namespace") not in (None, target.namespace):
            message = "the namespace of the object does not match the namespace on the request"
            raise Reject(400, "BadRequest", message)

    def _require_namespace(self, namespace: str) -> None:
        ns_type = self._types[("api/v1", "namespaces")]
        if self._key(ns_type, None, namespace) not in self._objects:
            raise _not_found(ns_type, namespace)

    def _type_of(self, api_version: str, kind: str) -> ResourceType:
        for rtype in self._types.values():
            if rtype.api_version == api_version and rtype.kind == kind:
                return rtype
        raise KeyError(f"the fake API server does not serve {api_version} {kind}")

    @staticmethod
    def _key(rtype: ResourceType, namespace: str | None, name: str) -> Key:
        return (rtype, namespace if rtype.namespaced else None, name)


# -- pure helpers --------------------------------------------------------------------------------


def _decode(body: bytes) -> dict[str, Any]:
    try:
        data = yaml.safe_load(body) if body else {}
    except yaml.YAMLError as exc:
        raise Reject(400, "BadRequest", f"the body is not JSON or YAML: {exc}") from None
    if not isinstance(data, dict):
        raise Reject(400, "BadRequest", "the body must be an object")
    return data


def _paths(body: dict[str, Any]) -> set[Path]:
    return set(leaf_paths(applied_body(body)))


def _conflicts(
    live: dict[str, Any],
    applied: dict[str, Any],
    owner: Owner,
    owners: dict[tuple[str, str], Owner],
) -> list[tuple[Owner, Path]]:
    return [
        (other, path)
        for key, other in sorted(owners.items())
        if key != owner.key
        for path in sorted(owner.paths & other.paths)
        if path[-1] != "." and get_at(live, path) != get_at(applied, path)
    ]


def _conflict_status(target: _Target, conflicts: list[tuple[Owner, Path]]) -> Reject:
    causes = [
        {"reason": "FieldManagerConflict", "message": _with(o), "field": field_name(p)}
        for o, p in conflicts
    ]
    if len(conflicts) == 1:
        owner, path = conflicts[0]
        message = f"Apply failed with 1 conflict: {_with(owner)}: {field_name(path)}"
    else:
        lines = "".join(f"\n- {field_name(p)}" for _, p in conflicts)
        message = f"Apply failed with {len(conflicts)} conflicts: {_with(conflicts[0][0])}:{lines}"
    details = {**_details(target.rtype, target.name or ""), "causes": causes}
    return Reject(409, "Conflict", message, details)


def _with(owner: Owner) -> str:
    using = f" using {owner.api_version}" if owner.operation == "Update" else ""
    return f'conflict with "{owner.manager}"{using}'


def _merge_applied(
    live: dict[str, Any],
    body: dict[str, Any],
    owner: Owner,
    owners: dict[tuple[str, str], Owner],
) -> dict[str, Any]:
    """Drop what the manager owned before and no longer applies (unless shared), then merge."""
    work = content(live)
    previous = owners.get(owner.key)
    others = set().union(*(o.paths for k, o in owners.items() if k != owner.key))
    if previous is not None:
        gone = previous.paths - owner.paths - others  # deepest first; an item before its key
        for path in sorted(gone, key=lambda p: (len(p), p[-1] == "."), reverse=True):
            remove_at(work, path)
    merged: dict[str, Any] = merge(work, applied_body(body))
    return merged


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _drop_nulls(patch: Any) -> Any:
    if isinstance(patch, dict):
        return {k: _drop_nulls(v) for k, v in patch.items() if v is not None}
    return patch


def _server_metadata(meta: dict[str, Any], live: dict[str, Any] | None) -> None:
    live_meta = (live or {}).get("metadata", {})
    meta["uid"] = live_meta.get("uid") or str(uuid.uuid4())
    meta["creationTimestamp"] = live_meta.get("creationTimestamp", FAKE_TIME)
    meta.pop("managedFields", None)


def _generation(obj: dict[str, Any], live: dict[str, Any] | None) -> int:
    if live is None:
        return 1
    previous = int(live["metadata"].get("generation", 1))
    return previous if _spec(obj) == _spec(live) else previous + 1


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _workload_status(obj: dict[str, Any], rollouts: Rollouts) -> dict[str, Any]:
    spec = obj.get("spec", {})
    wanted = int(spec.get("replicas", 1))
    ready = wanted if rollouts == "ready" else 0
    generation = obj["metadata"]["generation"]
    if obj["kind"] == "DaemonSet":
        return {
            "observedGeneration": generation,
            "desiredNumberScheduled": wanted,
            "updatedNumberScheduled": wanted,
            "numberAvailable": ready,
            "numberReady": ready,
        }
    return {
        "observedGeneration": generation,
        "replicas": wanted,
        "updatedReplicas": wanted,
        "readyReplicas": ready,
        "availableReplicas": ready,
        **(
            {"currentRevision": "r1", "updateRevision": "r1"}
            if obj["kind"] == "StatefulSet"
            else {}
        ),
    }


def _same_owners(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(obj: dict[str, Any]) -> str:
        entries = obj["metadata"].get("managedFields", [])
        return json.dumps([{**e, "time": ""} for e in entries], sort_keys=True)

    return strip(a) == strip(b)


def _without_type(obj: dict[str, Any]) -> dict[str, Any]:
    """List items come without apiVersion and kind, as a real server sends them."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("apiVersion", "kind")}


def _order(item: tuple[Key, dict[str, Any]]) -> tuple[str, str]:
    (_, namespace, name), _ = item
    return (namespace or "", name)


def _details(rtype: ResourceType, name: str, uid: str | None = None) -> dict[str, Any]:
    details = {"name": name, "group": rtype.group, "kind": rtype.plural}
    return {**details, "uid": uid} if uid else details


def _not_found(rtype: ResourceType, name: str) -> Reject:
    message = f'{rtype.qualified} "{name}" not found'
    return Reject(404, "NotFound", message, _details(rtype, name))


__all__ = ["Call", "FakeKube", "failure"]
