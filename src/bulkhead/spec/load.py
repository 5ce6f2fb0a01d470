"""Read a homelab spec from disk: YAML with positions → pydantic models → resolved references.

:func:`load_spec` is the one way in. It returns a :class:`~bulkhead.spec.models.Homelab` that
knows where each of its values came from, or raises :class:`~bulkhead.errors.SpecError` holding
every problem found, each at ``file:line:col``.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bulkhead.errors import Problem, SpecError
from bulkhead.spec.models import Homelab
from bulkhead.spec.references import resolve
from bulkhead.spec.source import PathKey, SourceMap, load_yaml, parse_yaml
from bulkhead.spec.suggest import did_you_mean


def load_spec(path: Path | str) -> Homelab:
    """Load and fully validate a spec file, or raise SpecError with every located problem."""
    path = Path(path)
    data, source, problems = load_yaml(path)
    return _validate(data, source, problems, path.parent)


def parse_spec(text: str, name: str = "<string>", base_dir: Path | None = None) -> Homelab:
    """Like :func:`load_spec`, from text (tests, stdin)."""
    data, source, problems = parse_yaml(text, name)
    return _validate(data, source, problems, base_dir or Path.cwd())


def _validate(data: Any, source: SourceMap, problems: list[Problem], base_dir: Path) -> Homelab:
    if data is None:
        raise SpecError(problems)
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        top = Problem(
            source.locate(), f"the top level must be a mapping (apiVersion, kind, …), not {kind}"
        )
        raise SpecError([*problems, top])
    try:
        spec = Homelab.model_validate(data).with_source(source, base_dir)
    except ValidationError as exc:
        raise SpecError([*problems, *_explain(exc, data, source)]) from None
    problems.extend(resolve(spec))
    texts, file_problems = read_config_files(spec)
    problems.extend(file_problems)
    if problems:
        raise SpecError(problems)
    return spec.with_file_texts(texts)


def read_config_files(spec: Homelab) -> tuple[dict[tuple[str, str], str], list[Problem]]:
    """Read every ``files.<path>.from`` relative to the spec's folder; problems are located."""
    texts: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    for name, workload in spec.workloads.items():
        for mount, entry in workload.files.items():
            if entry.from_ is None:
                continue
            where = spec.locate("workloads", name, "files", mount, "from")
            try:
                texts[(name, mount)] = (spec.base_dir / entry.from_).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                problems.append(Problem(where, f"cannot read {entry.from_!r}: {reason}"))
    return texts, problems


def _explain(exc: ValidationError, data: Any, source: SourceMap) -> list[Problem]:
    return [_problem(error, data, source) for error in exc.errors(include_url=False)]


def _problem(error: ErrorDetails, data: Any, source: SourceMap) -> Problem:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden" and loc:
        path, _ = _data_path(data, loc[:-1])
        key = str(loc[-1])
        allowed = _allowed_keys(data, path)
        hint = did_you_mean(key, allowed)
        return Problem(source.locate_key(*path, key), f"unknown key {key!r}{hint}")
    path, rest = _data_path(data, loc)
    if kind == "missing" and rest:
        where = ".".join(str(p) for p in path) or "the top level"
        return Problem(source.locate_key(*path), f"missing required key {rest[0]!r} in {where}")
    if kind == "union_tag_invalid":
        path = (*path, "type")
    return Problem(source.locate(*path), _message(error))


def _message(error: ErrorDetails) -> str:
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error["type"] == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        tag, expected = str(ctx.get("tag", "")), str(ctx.get("expected_tags", ""))
        message = f"unknown type {tag!r}; expected one of {expected}"
    return message


def _data_path(data: Any, loc: tuple[int | str, ...]) -> tuple[PathKey, PathKey]:
    """Follow pydantic's ``loc`` through the data, skipping union tags; split off the rest."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        child = _child(node, part)
        if child is not None:
            node = child
        elif isinstance(node, dict) and node.get("type") == part:
            continue
        else:
            return tuple(path), tuple(loc[i:])
        path.append(part)
    return tuple(path), ()


def _allowed_keys(data: Any, path: PathKey) -> list[str]:
    """The keys the model at ``path`` accepts, for 'did you mean'."""
    annotation: Any = Homelab
    node = data
    for part in path:
        annotation = _step(annotation, part, node)
        node = _child(node, part)
    model = _pick_model(annotation, node)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _step(annotation: Any, part: str | int, node: Any) -> Any:
    model = _pick_model(annotation, node)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    args = [a for a in typing.get_args(_strip(annotation)) if a is not type(None)]
    origin = typing.get_origin(_strip(annotation))
    if origin is dict and len(args) == 2:
        return args[1]
    if origin is list and args:
        return args[0]
    return None


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _pick_model(annotation: Any, node: Any) -> type[BaseModel] | None:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [_pick_model(a, node) for a in typing.get_args(annotation)]
        candidates = [m for m in models if m is not None]
        tag = node.get("type") if isinstance(node, dict) else None
        for model in candidates:
            field = model.model_fields.get("type")
            if field is not None and tag in typing.get_args(field.annotation):
                return model
        return candidates[0] if len(candidates) == 1 else None
    return None
