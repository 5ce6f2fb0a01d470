"""Objects and their field managers, as the fake API server keeps them.

Each stored object carries its ``metadata.managedFields`` like a real one; :class:`Owner` is the
parsed form of one entry. Ownership is always read back from the object, never kept aside.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bulkhead.testing.fakekube._fields import Path, from_fields_v1, to_fields_v1
from bulkhead.testing.fakekube._resources import ResourceType

Key = tuple[ResourceType, str | None, str]
FAKE_TIME = "2024-05-01T12:00:00Z"


@dataclass
class Owner:
    """One ``managedFields`` entry: a manager, its operation and the paths it owns."""

    manager: str
    operation: str  # "Apply" or "Update"
    api_version: str
    paths: set[Path] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str]:
        """Managers are keyed by name and operation, as in Kubernetes."""
        return (self.manager, self.operation)

    def entry(self) -> dict[str, Any]:
        """The ``managedFields`` item for this owner."""
        return {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": FAKE_TIME,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.paths),
        }


def owners_of(obj: dict[str, Any]) -> dict[tuple[str, str], Owner]:
    """The owners recorded in an object's ``managedFields``."""
    owners = {}
    for entry in obj.get("metadata", {}).get("managedFields", []):
        paths = from_fields_v1(entry.get("fieldsV1", {}))
        owner = Owner(entry["manager"], entry["operation"], entry.get("apiVersion", ""), paths)
        owners[owner.key] = owner
    return owners


def with_owners(obj: dict[str, Any], owners: dict[tuple[str, str], Owner]) -> dict[str, Any]:
    """The object with its ``managedFields`` set from owners (empty owners dropped)."""
    entries = [o.entry() for _, o in sorted(owners.items()) if o.paths]
    obj.setdefault("metadata", {})["managedFields"] = entries
    return obj


def content(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what changes on every write (managedFields, resourceVersion)."""
    meta = {
        k: v
        for k, v in obj.get("metadata", {}).items()
        if k not in ("managedFields", "resourceVersion")
    }
    return {**obj, "metadata": meta}


def field_name(path: Path) -> str:
    """A path as Kubernetes spells it in conflict messages: ``.spec.containers[name="a"].image``."""
    text = ""
    for step in path:
        if step.startswith("f:"):
            text += "." + step[2:]
        elif step.startswith("k:"):
            text += "[" + ",".join(f'{k}="{v}"' for k, v in _key_items(step)) + "]"
    return text


def _key_items(step: str) -> list[tuple[str, Any]]:
    return list(json.loads(step[2:]).items())
