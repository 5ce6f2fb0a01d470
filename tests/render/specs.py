"""Variants of the reference homelab for tests: edit its data, parse it back as a real spec."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bulkhead.placement import plan
from bulkhead.render import render_cluster_objects
from bulkhead.render.dump import dump_document
from bulkhead.spec import Homelab, parse_spec
from bulkhead.spec.source import parse_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_DATA, _, _ = parse_yaml((EXAMPLES / "homelab.yaml").read_text(), "homelab.yaml")


def example_data() -> dict[str, Any]:
    """A fresh copy of the reference homelab's data (keys as written: ``on`` stays a string)."""
    return copy.deepcopy(_DATA)


def spec_of(data: dict[str, Any]) -> Homelab:
    """A validated spec from data, with ``files.from`` read beside the examples."""
    return parse_spec(dump_document(data), "variant.yaml", base_dir=EXAMPLES)


def variant(edit: Callable[[dict[str, Any]], None]) -> Homelab:
    """The reference homelab after ``edit`` changed its data in place."""
    data = example_data()
    edit(data)
    return spec_of(data)


def objects_of(spec: Homelab) -> list[dict[str, Any]]:
    """The cluster objects of a spec, placed by the real planner."""
    return render_cluster_objects(spec, plan(spec))


def find(
    objects: list[dict[str, Any]], kind: str, name: str, namespace: str | None = None
) -> dict[str, Any]:
    """The one object of ``kind`` named ``name`` (in ``namespace`` when given)."""
    found = [
        o
        for o in objects
        if o["kind"] == kind
        and o["metadata"]["name"] == name
        and namespace in (None, o["metadata"].get("namespace"))
    ]
    assert len(found) == 1, f"{len(found)} {kind}/{name}"
    return found[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, StatefulSet or CronJob."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec
