"""``bulkhead gateway``: serve the API, run a job worker, manage tokens.

Only typer and the standard library are imported here; FastAPI, torch and the rest load inside
the commands, so ``bulkhead --help`` stays fast. A bad config prints ``FILE:LINE:COL: message``
lines and exits 3.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from bulkhead.gateway.settings import GatewaySettings
    from bulkhead.gateway.tokens import Token

T = TypeVar("T")

app = typer.Typer(
    help="The GPU machine's controlled API: serve it, run job workers, manage tokens.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
token_app = typer.Typer(
    help="Per-service API tokens (only their SHA-256 hashes are stored).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(token_app, name="token")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="gateway.yaml; built-in defaults when omitted."),
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option("--state-dir", help="Directory of the state database (overrides state.dir)."),
]


def _guarded(action: Callable[[], T]) -> T:
    from bulkhead.errors import BulkheadError, InputError

    try:
        return action()
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(exc.exit_code) from None
    except BulkheadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None


def _settings(config: Path | None, state_dir: Path | None) -> GatewaySettings:
    from bulkhead.gateway.settings import default_settings, load_settings

    if config is None:
        return default_settings(state_dir or Path(".bulkhead-gateway"))
    return load_settings(config, state_dir=state_dir)


@app.command("serve")
def serve(
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    host: Annotated[str | None, typer.Option(help="Interface (overrides server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (overrides server.port).")] = None,
) -> None:
    """Serve the OpenAI-compatible API."""
    settings = _guarded(lambda: _settings(config, state_dir))
    server = settings.server.model_copy(
        update={k: v for k, v in (("host", host), ("port", port)) if v is not None}
    )
    from bulkhead.gateway.server import serve as run

    run(settings.model_copy(update={"server": server}))


@app.command("worker")
def worker(config: ConfigOpt = None, state_dir: StateDirOpt = None) -> None:
    """Run a batch-job worker (and sweeper) against the state database."""
    settings = _guarded(lambda: _settings(config, state_dir))
    from bulkhead.gateway.server import work

    work(settings)


@token_app.command("create")
def token_create(
    service: Annotated[str, typer.Option(help="Service name; the label of its metrics.")],
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated models it may use (default: all).")
    ] = None,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Model tokens per minute.")] = None,
    priority: Annotated[str, typer.Option(help="Admission class.")] = "production",
) -> None:
    """Create a token and print it once."""
    settings = _guarded(lambda: _settings(config, state_dir))
    allowed = tuple(m.strip() for m in models.split(",") if m.strip()) if models else None
    _check_grant(settings, allowed, priority)
    from bulkhead.gateway.tokens import TokenStore

    store = TokenStore(settings.database_path)
    try:
        secret, token = store.create(service, priority=priority, models=allowed, rpm=rpm, tpm=tpm)
    finally:
        store.close()
    typer.echo(secret)
    typer.echo(
        f"created {token.id} for service {service!r}; the token is shown only once", err=True
    )


def _check_grant(settings: GatewaySettings, models: tuple[str, ...] | None, priority: str) -> None:
    unknown = sorted(set(models or ()) - set(settings.model_names))
    if unknown:
        typer.echo(
            f"error: unknown model(s) {', '.join(unknown)}; configured: "
            f"{', '.join(settings.model_names)}",
            err=True,
        )
        raise typer.Exit(3)
    if priority not in settings.priorities:
        typer.echo(
            f"error: unknown priority {priority!r}; configured: {', '.join(settings.priorities)}",
            err=True,
        )
        raise typer.Exit(3)


@token_app.command("list")
def token_list(
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List tokens (never their secrets)."""
    settings = _guarded(lambda: _settings(config, state_dir))
    from bulkhead.gateway.tokens import TokenStore

    store = TokenStore(settings.database_path)
    try:
        tokens = store.list()
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([_token_dict(t) for t in tokens], indent=2))
        return
    typer.echo(f"{'ID':<17} {'SERVICE':<20} {'PRIORITY':<11} {'RPM':>7} {'TPM':>9}  MODELS  STATUS")
    for t in tokens:
        typer.echo(_token_line(t))


def _token_dict(token: Token) -> dict[str, object]:
    return {
        "id": token.id,
        "service": token.service,
        "models": list(token.models) if token.models is not None else None,
        "rpm": token.rpm,
        "tpm": token.tpm,
        "priority": token.priority,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }


def _token_line(t: Token) -> str:
    models = ",".join(t.models) if t.models is not None else "*"
    status = (
        "revoked " + time.strftime("%Y-%m-%d", time.gmtime(t.revoked_at))
        if t.revoked_at
        else "live"
    )
    rpm = str(t.rpm) if t.rpm else "-"
    tpm = str(t.tpm) if t.tpm else "-"
    return f"{t.id:<17} {t.service:<20} {t.priority:<11} {rpm:>7} {tpm:>9}  {models}  {status}"


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (tok_...), from `token list`.")],
    config: ConfigOpt = None,
    state_dir: StateDirOpt = None,
) -> None:
    """Revoke a token; the next request that presents it gets a 401."""
    settings = _guarded(lambda: _settings(config, state_dir))
    from bulkhead.gateway.tokens import TokenStore

    store = TokenStore(settings.database_path)
    try:
        revoked = store.revoke(token_id)
    finally:
        store.close()
    if not revoked:
        typer.echo(f"error: no live token {token_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id}")
