"""Line-aware YAML loading: plain data plus a map from every path to its ``file:line:col``.

PyYAML's own loader forgets positions and silently keeps the last of two duplicate keys. Here
the file is composed into nodes, then walked once: mapping keys stay strings exactly as written
(so ``on:`` is the key ``"on"``, not ``True``), floats keep their text (so quantities such as
``1.5`` are parsed exactly), duplicate keys are problems, and every value's position is kept in a
:class:`SourceMap`. All problems are collected, not only the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from bulkhead.errors import Location, Problem

PathKey = tuple[str | int, ...]

try:
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader

_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class SourceMap:
    """Where each value (and each mapping key) of a loaded file sits."""

    file: str
    values: Mapping[PathKey, Location] = field(default_factory=dict)
    keys: Mapping[PathKey, Location] = field(default_factory=dict)

    def locate(self, *path: str | int) -> Location:
        """The position of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.values.get(tuple(path[:end]))
            if found is not None:
                return found
        return Location(self.file, 1, 1)

    def locate_key(self, *path: str | int) -> Location:
        """The position of the key that introduces ``path`` (falls back to :meth:`locate`)."""
        return self.keys.get(tuple(path)) or self.locate(*path)


@dataclass
class _Walk:
    file: str
    problems: list[Problem] = field(default_factory=list)
    values: dict[PathKey, Location] = field(default_factory=dict)
    keys: dict[PathKey, Location] = field(default_factory=dict)
    constructor: SafeConstructor = field(default_factory=SafeConstructor)

    def at(self, mark: Any) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, SourceMap, list[Problem]]:
    """Read ``path`` into (data, positions, problems). Data is None when nothing usable was read."""
    name = display or str(path)
    text, problem = _read_text(path, name)
    if problem:
        return None, SourceMap(name), [problem]
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> tuple[Any, SourceMap, list[Problem]]:
    """Parse YAML text; see :func:`load_yaml`."""
    if not text.strip() or _only_comments(text):
        return None, SourceMap(name), [Problem(Location(name, 1, 1), "the file is empty")]
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return None, SourceMap(name), [_syntax_problem(exc, name, text)]
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        return None, SourceMap(name), [Problem(Location(name, 1, 1), f"invalid YAML: {exc}")]
    if node is None:
        return None, SourceMap(name), [Problem(Location(name, 1, 1), "the file is empty")]
    walk = _Walk(name)
    data = _value(walk, node, ())
    return data, SourceMap(name, walk.values, walk.keys), walk.problems


def _read_text(path: Path, name: str) -> tuple[str, Problem | None]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return "", Problem(Location(name, 1, 1), f"cannot read the file: {exc.strerror or exc}")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        head = raw[: exc.start]
        line = head.count(b"\n") + 1
        column = exc.start - (head.rfind(b"\n") + 1) + 1
        message = f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; save the file as UTF-8"
        return "", Problem(Location(name, line, column), message)


def _only_comments(text: str) -> bool:
    lines = (line.strip() for line in text.splitlines())
    return all(not line or line.startswith("#") or line in ("---", "...") for line in lines)


def _syntax_problem(exc: yaml.MarkedYAMLError, name: str, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    where = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name, 1, 1)
    detail = exc.problem or exc.context or "invalid YAML"
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        detail = "a tab character; YAML indentation must use spaces"
    elif "expected a single document" in str(exc):
        detail = "more than one YAML document; a spec is one document"
    return Problem(where, f"YAML syntax error: {detail}")


def _value(walk: _Walk, node: yaml.Node, path: PathKey) -> Any:
    walk.values.setdefault(path, walk.at(node.start_mark))
    if isinstance(node, yaml.MappingNode):
        return _mapping(walk, node, path)
    if isinstance(node, yaml.SequenceNode):
        return [_value(walk, item, (*path, i)) for i, item in enumerate(node.value)]
    if node.tag == _FLOAT_TAG:
        return node.value
    return _scalar(walk, node)


def _scalar(walk: _Walk, node: yaml.Node) -> Any:
    try:
        return walk.constructor.construct_object(node, deep=True)
    except (yaml.constructor.ConstructorError, ValueError, TypeError) as exc:
        reason = getattr(exc, "problem", None) or str(exc)
        message = f"cannot read the value {node.value!r} tagged {node.tag!r}: {reason}"
        walk.problems.append(Problem(walk.at(node.start_mark), message))
        return node.value


def _mapping(walk: _Walk, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
    result: dict[str, Any] = {}
    merged: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            merged = {**_merge_source(walk, value_node, path), **merged}
            continue
        key = _key(walk, key_node)
        if key is None:
            continue
        if key in result:
            first = walk.keys[(*path, key)]
            message = f"duplicate key {key!r} (first defined at line {first.line})"
            walk.problems.append(Problem(walk.at(key_node.start_mark), message))
            continue
        walk.keys[(*path, key)] = walk.at(key_node.start_mark)
        result[key] = _value(walk, value_node, (*path, key))
    return {**merged, **result}


def _merge_source(walk: _Walk, node: yaml.Node, path: PathKey) -> dict[str, Any]:
    sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
    merged: dict[str, Any] = {}
    for source in reversed(sources):
        value = _value(walk, source, path)
        if isinstance(value, dict):
            merged.update(value)
    return merged


def _key(walk: _Walk, node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    walk.problems.append(Problem(walk.at(node.start_mark), "a mapping key must be a plain string"))
    return None
