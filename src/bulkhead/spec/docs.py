"""Generate ``docs/spec.md`` from the spec models: one section per object, one row per key.

Run ``python -m bulkhead.spec.docs > docs/spec.md``; a test fails when the file is stale.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bulkhead.spec.models import Homelab
from bulkhead.spec.quantity import Quantity

INTRO = """# The homelab spec, `bulkhead/v1alpha1`

Generated from the models in `src/bulkhead/spec/models.py` by `python -m bulkhead.spec.docs`;
do not edit by hand. The JSON Schema for editors is `schema/bulkhead.schema.json`
(`bulkhead schema`). Every object is closed: an unknown key is an error with a "did you mean".
Quantities use Kubernetes notation (`250m`, `1.5`, `512Mi`, `8Gi`) and are parsed exactly.
"""


def render() -> str:
    """The whole document."""
    sections = [_section(model) for model in _models(Homelab, set())]
    return INTRO + "\n" + "\n".join(sections)


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if model in seen:
        return
    seen.add(model)
    yield model
    for field in model.model_fields.values():
        for inner in _inner_models(field.annotation):
            yield from _models(inner, seen)


def _inner_models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _inner_models(arg)


def _section(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip().splitlines()[0]
    rows = [_row(name, field) for name, field in model.model_fields.items()]
    table = "| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows)
    return f"## {model.__name__}\n\n{doc}\n\n{table}\n"


def _row(name: str, field: FieldInfo) -> str:
    key = field.alias or name
    default = _default(field)
    meaning = " ".join((field.description or "").split()).replace("|", "\\|")
    return f"| `{key}` | {_type(field.annotation)} | {default} | {meaning} |"


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        return "its defaults" if _is_model(field.annotation) else "empty"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "—"
    return f"`{getattr(value, 'value', value)}`"


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"map of {_type(args[0])} → {_type(args[1])}"
    if annotation is Quantity:
        return "quantity"
    return getattr(annotation, "__name__", str(annotation))


if __name__ == "__main__":
    print(render(), end="")
