"""The ``bulkhead`` command line: a thin Typer app that parses flags, calls one layer per verb,
prints the result and maps errors to exit codes.

Exit codes: 0 ok, 1 check errors (or a live change failed), 2 unplaceable workloads,
3 invalid input, 4 a live layer unreachable. Heavy modules are imported inside the verbs so
that ``bulkhead --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from typer import Abort

# typer vendors click; its usage errors are not re-exported at the top level.
from typer._click.exceptions import ClickException, UsageError

from bulkhead import __version__

app = typer.Typer(
    name="bulkhead",
    help="Right workload, right environment: plan, check and render a homelab from one file.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bulkhead {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """bulkhead: right workload, right environment."""


def _register_verbs() -> None:
    """One module per verb under ``bulkhead.commands``; each imports heavy layers lazily."""
    from bulkhead.commands import init, schema, validate

    app.command("validate")(validate.command)
    app.command("schema")(schema.command)
    app.command("init")(init.command)
    from bulkhead.commands import plan

    app.command("plan")(plan.command)
    from bulkhead.commands import secrets

    app.add_typer(secrets.app, name="secrets")
    from bulkhead.commands import check, explain

    app.command("check")(check.command)
    app.command("explain")(explain.command)
    from bulkhead.commands import render

    app.command("render")(render.command)
    from bulkhead.commands import apply, diff, doctor

    app.command("apply")(apply.command)
    app.command("diff")(diff.command)
    app.command("doctor")(doctor.command)


def _register_gateway() -> None:
    try:
        from bulkhead.gateway.cli import app as gateway_app  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # the gateway package is not present in this build
        return
    app.add_typer(gateway_app, name="gateway", help="The GPU machine's controlled API.")


def main() -> None:
    """Console-script entry point. A usage error exits 3 (invalid input), not click's 2, because
    2 means "a workload cannot be placed" to every script that runs bulkhead."""
    _register_verbs()
    _register_gateway()
    args = sys.argv[1:] or ["--help"]  # bare `bulkhead` shows the help and succeeds
    try:
        code = app(args, prog_name="bulkhead", standalone_mode=False)
    except ClickException as exc:
        exc.show()
        raise SystemExit(3 if isinstance(exc, UsageError) else exc.exit_code) from None
    except Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
