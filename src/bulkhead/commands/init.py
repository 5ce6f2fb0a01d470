"""``bulkhead init``: write a commented starter spec."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer


def starter_text() -> str:
    """The commented starter spec shipped with the package."""
    return resources.files("bulkhead").joinpath("data/starter.yaml").read_text(encoding="utf-8")


def command(
    path: Annotated[Path, typer.Argument(help="Where to write the spec.")] = Path("homelab.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter homelab spec to PATH (default homelab.yaml)."""
    if path.exists() and not force:
        typer.echo(f"error: {path} exists; pass --force to overwrite it", err=True)
        raise typer.Exit(1)
    path.write_text(starter_text(), encoding="utf-8")
    typer.echo(f"wrote {path}; next: bulkhead validate {path} && bulkhead plan {path}")
