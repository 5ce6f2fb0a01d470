"""``bulkhead schema``: print the JSON Schema of the spec, generated from the models."""

from __future__ import annotations

import json

import typer


def render_schema() -> str:
    """The schema as committed in ``schema/bulkhead.schema.json`` (stable key order)."""
    from bulkhead.spec import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def command() -> None:
    """Print the JSON Schema of the homelab spec (for editors: yaml-language-server)."""
    typer.echo(render_schema(), nl=False)
