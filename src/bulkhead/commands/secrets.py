"""``bulkhead secrets check FILE``: does every declared secret and key resolve? No values shown."""

from __future__ import annotations

import typer

from bulkhead.commands._common import SpecPath, guarded

app = typer.Typer(help="Secrets: check that every declared secret resolves from its source.")


@app.command("check")
def check(file: SpecPath) -> None:
    """Resolve every secret of FILE from its source, printing no value; exit 3 if one fails."""
    from bulkhead.secrets import check_secrets
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    statuses = check_secrets(spec)
    for status in statuses:
        if status.problem is None:
            typer.echo(f"ok       {status.name}: {len(status.keys)} key(s) from {status.source}")
        else:
            typer.echo(str(status.problem), err=True)
    failed = sum(1 for s in statuses if s.problem is not None)
    typer.echo(f"{len(statuses) - failed}/{len(statuses)} secret(s) resolve")
    if failed:
        raise typer.Exit(3)
