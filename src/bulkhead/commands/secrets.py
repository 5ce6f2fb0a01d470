"""``bulkhead secrets``: ``check`` (does every declared secret and key resolve?) and ``apply``
(write only the secret material, as the Gitea deploy workflows do before their own apply).

``secrets apply`` reads the secrets the chosen environments' render refers to (exit 3 before any
change when one does not resolve) and writes what ``bulkhead apply`` writes for them, through
the same functions: the Kubernetes Secrets, server-side applied with the inventory labels (and
the rendered Namespaces that hold them, which may not exist yet on a first deploy), and each
docker environment's 0400 files through the Engine API. Nothing else is applied or pruned, and
no container is recreated: ``docker compose up`` or ``bulkhead apply`` does that. No value is
printed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bulkhead.commands._common import SpecPath, guarded
from bulkhead.commands.apply import Context, Envs

if TYPE_CHECKING:
    from bulkhead.apply.homelab import Rendered

app = typer.Typer(help="Secrets: check that every declared secret resolves, or write them.")

DryRun = Annotated[bool, typer.Option("--dry-run", help="Ask the servers, change nothing.")]


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


@app.command("apply")
def apply(
    file: SpecPath, context: Context = None, env: Envs = None, dry_run: DryRun = False
) -> None:
    """Write only FILE's secret material: the cluster's Secrets, the GPU machine's 0400 files."""
    from bulkhead.apply import homelab
    from bulkhead.commands.apply import attempt, refuse_unknown
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    only = env or []
    refuse_unknown(homelab.unknown_environments(spec, only))
    rendered = guarded(lambda: homelab.with_secrets(homelab.render(spec), only))
    cluster = partial(_apply_cluster, rendered, only, context, dry_run)
    dockers = [partial(_write_files, rendered, name, dry_run) for name in rendered.files]
    codes = [attempt(action, rendered.values) for action in (cluster, *dockers)]
    failed = [code for code in codes if code]
    if not (secret_material(rendered.objects) or rendered.files):
        typer.echo("no secret is read in the chosen environments: nothing to write")
    raise typer.Exit(failed[0] if failed else 0)


def secret_material(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The Secrets among ``objects``, and the Namespaces they live in (else the first deploy,
    which runs this before anything else, would have nowhere to put them)."""
    secrets = [o for o in objects if o.get("kind") == "Secret"]
    homes = {s["metadata"]["namespace"] for s in secrets}
    namespaces = [o for o in objects if o.get("kind") == "Namespace"]
    return [o for o in namespaces if o["metadata"]["name"] in homes] + secrets


def _apply_cluster(rendered: Rendered, only: list[str], context: str | None, dry: bool) -> None:
    from bulkhead.apply import homelab
    from bulkhead.apply.cluster import apply_cluster
    from bulkhead.commands.apply import DRY_VERBS, VERBS, print_cluster_plan

    name = homelab.cluster_environment(rendered.spec, only)
    objects = secret_material(rendered.objects)
    if name is None or not objects:
        return
    cluster = homelab.open_cluster(name, context)
    typer.echo(f"{name}: {cluster.target}")
    plan = apply_cluster(cluster, objects, rendered.homelab, dry_run=dry)
    print_cluster_plan(plan, DRY_VERBS if dry else VERBS)


def _write_files(rendered: Rendered, name: str, dry: bool) -> None:
    from bulkhead.apply import homelab
    from bulkhead.apply.engine import connect_engine
    from bulkhead.commands.apply import print_secret_files, sync_secret_files

    host = homelab.docker_environments(rendered.spec)[name].host
    with connect_engine(host) as engine:
        typer.echo(f"{name}: Docker engine at {host}")
        changes = sync_secret_files(engine, rendered, name, dry_run=dry)
    print_secret_files(changes, dry)
