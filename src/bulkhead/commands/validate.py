"""``bulkhead validate FILE``: load the spec, report every located problem, exit 0 or 3."""

from __future__ import annotations

import typer

from bulkhead.commands._common import SpecPath, guarded


def command(file: SpecPath) -> None:
    """Check that FILE is a valid homelab spec (syntax, keys, types, references)."""
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    counts = f"{len(spec.environments)} environments, {len(spec.workloads)} workloads"
    typer.echo(f"{file}: valid ({counts})")
