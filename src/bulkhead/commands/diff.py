"""``bulkhead diff FILE``: what ``bulkhead apply --prune`` would change, changing nothing.

Secrets are read from their sources as apply reads them (exit 3, located, when one does not
resolve) so that a changed value shows: as ``<changed>`` per key, never the value. For the
cluster: a server-side dry-run of every rendered object and Secret, shown as a unified diff of
live vs desired with server-managed fields stripped, then the owned objects prune would delete,
and every field-manager conflict. For each docker environment: the secret files that would be
written and the containers that would be created, recreated, started or removed. Exit 0 when
nothing would change, 1 when something would, 4 when a layer is unreachable.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import typer

from bulkhead.commands._common import SpecPath, guarded
from bulkhead.commands.apply import (
    Context,
    Envs,
    deploy_options,
    print_docker_plan,
    print_secret_files,
    sync_secret_files,
)

if TYPE_CHECKING:
    from bulkhead.apply.cluster import ClusterPlan
    from bulkhead.apply.homelab import Rendered


def command(file: SpecPath, context: Context = None, env: Envs = None) -> None:
    """Show what applying FILE would change (exit 1 when something would)."""
    from bulkhead.apply import homelab
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    only = env or []
    rendered = guarded(lambda: homelab.with_secrets(homelab.render(spec), only))
    changed = guarded(partial(_hidden, rendered, partial(_cluster, rendered, only, context)))
    for name in homelab.docker_environments(spec, only):
        changed = guarded(partial(_hidden, rendered, partial(_docker, rendered, name))) or changed
    raise typer.Exit(1 if changed else 0)


def _hidden(rendered: Rendered, action: Callable[[], bool]) -> bool:
    with rendered.values.hiding():
        return action()


def _cluster(rendered: Rendered, only: list[str], context: str | None) -> bool:
    from bulkhead.apply import homelab
    from bulkhead.apply.cluster import plan_cluster

    name = homelab.cluster_environment(rendered.spec, only)
    if name is None:
        return False
    cluster = homelab.open_cluster(name, context)
    plan = plan_cluster(cluster, rendered.objects, rendered.homelab, prune=True)
    typer.echo(f"# {name}: {cluster.target}")
    print_cluster_diff(plan)
    return plan.changed


def print_cluster_diff(plan: ClusterPlan) -> None:
    """Every diff, conflict and note, then a one-line summary."""
    from bulkhead.apply.cluster import Action

    for change in plan.changes:
        if change.diff:
            typer.echo(change.diff, nl=False)
        for conflict in change.conflicts:
            typer.echo(f"! {change.ref}: {conflict.field} is owned by {conflict.manager!r}")
        if change.note and change.action.value == "orphan":
            typer.echo(f"# {change.ref}: {change.note}")
    words = {
        Action.create: "to create",
        Action.update: "to configure",
        Action.prune: "to prune",
        Action.conflict: "conflicts",
    }
    counts = [(len(plan.having(action)), word) for action, word in words.items()]
    summary = ", ".join(f"{n} {word}" for n, word in counts if n)
    typer.echo(f"# {summary or 'no changes'}")


def _docker(rendered: Rendered, name: str) -> bool:
    from bulkhead.apply import homelab
    from bulkhead.apply.deploy import deploy_docker
    from bulkhead.apply.engine import connect_engine
    from bulkhead.apply.secrets import written

    env = homelab.docker_environments(rendered.spec)[name]
    document = rendered.compose.get(name, {"services": {}})
    with connect_engine(env.host) as engine:
        files = sync_secret_files(engine, rendered, name, dry_run=True)
        plan = deploy_docker(
            engine,
            document,
            homelab=rendered.homelab,
            environment=name,
            options=deploy_options(rendered, name, files, dry_run=True),
        )
    typer.echo(f"# {name}: Docker engine at {env.host}")
    print_secret_files(files, dry_run=True)
    print_docker_plan(plan, dry_run=True)
    return plan.changed or bool(written(files))
