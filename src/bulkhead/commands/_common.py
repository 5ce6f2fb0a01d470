"""What every verb shares: argument types, the error-to-exit-code guard, output helpers."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bulkhead.errors import BulkheadError, InputError

T = TypeVar("T")

SpecPath = Annotated[
    Path, typer.Argument(help="The homelab spec (homelab.yaml).", show_default=False)
]


class OutputFormat(StrEnum):
    """Machine-readable or human output."""

    text = "text"
    json = "json"


def guarded(action: Callable[[], T]) -> T:
    """Run a verb's body, turning bulkhead errors into located messages and exit codes."""
    try:
        return action()
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s) found", err=True)
        raise typer.Exit(exc.exit_code) from None
    except BulkheadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
