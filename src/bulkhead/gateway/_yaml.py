"""Line-aware YAML loading for the gateway's config: plain data plus where each value sits.

The gateway may not import the planner's spec loader, so this is its own small one: it composes
the YAML node graph, builds plain Python values from it and records the ``file:line:col`` of
every mapping key and value, keyed by its path (a tuple of keys and list indexes). Validation
errors are then pointed at the exact place in the user's file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bulkhead.errors import ConfigError, Location, Problem

PathKey = tuple[str | int, ...]


@dataclass
class LocatedDocument:
    """A loaded YAML document and the location of every path in it."""

    data: Any
    file: str
    locations: dict[PathKey, Location] = field(default_factory=dict)

    def locate(self, path: PathKey) -> Location:
        """The location of ``path``, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(tuple(path[:end]))
            if found is not None:
                return found
        return Location(self.file, 1, 1)


def load_yaml(path: Path) -> LocatedDocument:
    """Read ``path`` as one YAML document; a syntax error becomes a located ConfigError."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(None, f"{file}: cannot read: {exc.strerror}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else None
        raise ConfigError([Problem(where, f"invalid YAML: {exc.problem}")]) from None
    doc = LocatedDocument(data=None, file=file)
    doc.data = {} if node is None else _build(node, (), doc)
    return doc


def _mark(node: yaml.Node, file: str) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: yaml.Node, path: PathKey, doc: LocatedDocument) -> Any:
    doc.locations.setdefault(path, _mark(node, doc.file))
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, path, doc)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _build_mapping(node: yaml.MappingNode, path: PathKey, doc: LocatedDocument) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = _build(key_node, (*path, "<key>"), doc)
        if not isinstance(key, str | int | float | bool) or key is None:
            problem = Problem(_mark(key_node, doc.file), "mapping keys must be plain scalars")
            raise ConfigError([problem])
        if key in result:
            problem = Problem(_mark(key_node, doc.file), f"duplicate key {key!r}")
            raise ConfigError([problem])
        doc.locations[(*path, str(key))] = _mark(key_node, doc.file)
        result[key] = _build(value_node, (*path, str(key)), doc)
    return result
