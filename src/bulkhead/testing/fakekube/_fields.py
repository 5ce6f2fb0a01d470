"""Field ownership for server-side apply: field paths, ``fieldsV1``, merge and removal.

A path is a tuple of ``fieldsV1`` keys: ``f:<field>`` for a map key, ``k:{"name":"x"}`` for an
item of an associative list and ``.`` for the item itself. Lists whose items are maps that all
carry ``name`` are associative (keyed by name), as containers, env, volumes and ports are in
Kubernetes; every other list is atomic and owned whole. This is the one simplification against
the real structured-merge-diff, which reads list keys from the OpenAPI schema.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

Path = tuple[str, ...]
MISSING: Any = object()
UNTRACKED_METADATA = frozenset(
    {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp"}
    | {"managedFields", "selfLink", "deletionTimestamp"}
)


def is_keyed(value: Any) -> bool:
    """Whether a list is associative (every item a map with a ``name``)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "name" in item for item in value)
    )


def item_key(item: dict[str, Any]) -> str:
    """The ``fieldsV1`` key of an associative list item."""
    return "k:" + json.dumps({"name": item["name"]}, separators=(",", ":"))


def applied_body(obj: dict[str, Any]) -> dict[str, Any]:
    """The part of an object whose fields a manager can own (no status, no server metadata)."""
    body = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("apiVersion", "kind")}
    body.pop("status", None)
    meta = {k: v for k, v in body.get("metadata", {}).items() if k not in UNTRACKED_METADATA}
    body["metadata"] = meta
    if not meta:
        body.pop("metadata")
    return body


def leaf_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every owned path of a value: leaves, plus ``.`` for each associative list item. An empty
    map owns nothing (it neither sets nor conflicts with the keys others put in it)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaf_paths(child, (*prefix, f"f:{key}"))
    elif is_keyed(value):
        for item in value:
            key = item_key(item)
            yield (*prefix, key, ".")
            for field, child in item.items():
                yield from leaf_paths(child, (*prefix, key, f"f:{field}"))
    elif prefix:
        yield prefix


def get_at(value: Any, path: Path) -> Any:
    """The value at a path, or :data:`MISSING`."""
    for step in path:
        if step == ".":
            return value
        value = _child(value, step)
        if value is MISSING:
            return MISSING
    return value


def _child(value: Any, step: str) -> Any:
    if step.startswith("f:") and isinstance(value, dict):
        return value.get(step[2:], MISSING)
    if step.startswith("k:") and isinstance(value, list):
        name = json.loads(step[2:])["name"]
        return next((i for i in value if isinstance(i, dict) and i.get("name") == name), MISSING)
    return MISSING


def remove_at(obj: dict[str, Any], path: Path) -> None:
    """Delete the field (or associative item, for a ``.`` path) at a path, if present, and
    every map or associative list that the removal leaves empty."""
    if path[-1] == ".":
        items, step = get_at(obj, path[:-2]), path[-2]
        if isinstance(items, list):
            target = _child(items, step)
            items[:] = [i for i in items if i is not target]
        _drop_if_empty(obj, path[:-2])
        return
    parent = get_at(obj, path[:-1])
    if isinstance(parent, dict) and path[-1][2:] in parent:
        del parent[path[-1][2:]]
        _drop_if_empty(obj, path[:-1])


def _drop_if_empty(obj: dict[str, Any], path: Path) -> None:
    if len(path) < 2 or path[-1] == "." or get_at(obj, path) not in ({}, []):
        return
    remove_at(obj, path)


def merge(live: Any, applied: Any) -> Any:
    """Applied config over live: maps merge, associative lists merge by name, the rest replaces."""
    if isinstance(live, dict) and isinstance(applied, dict):
        merged = dict(live)
        for key, value in applied.items():
            merged[key] = merge(live[key], value) if key in live else copy.deepcopy(value)
        return merged
    if is_keyed(live) and is_keyed(applied):
        return _merge_keyed(live, applied)
    return copy.deepcopy(applied)


def _merge_keyed(live: list[dict[str, Any]], applied: list[dict[str, Any]]) -> list[Any]:
    by_name = {item["name"]: item for item in live}
    merged = [merge(by_name.get(item["name"], {}), item) for item in applied]
    applied_names = {item["name"] for item in applied}
    return merged + [copy.deepcopy(i) for i in live if i["name"] not in applied_names]


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    """Paths as the nested ``fieldsV1`` map Kubernetes stores in ``managedFields``."""
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for step in path:
            node = node.setdefault(step, {})
    return root


def from_fields_v1(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """The paths of a ``fieldsV1`` map (its leaves and ``.`` markers)."""
    paths: set[Path] = set()
    for step, child in fields.items():
        path = (*prefix, step)
        paths |= from_fields_v1(child, path) if child else {path}
    return paths
