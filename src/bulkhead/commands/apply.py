"""``bulkhead apply FILE``: push the rendered state to the cluster and the GPU machine.

First every secret the chosen environments need is read from its source; one that does not
resolve stops apply before anything changes (exit 3, located). The k3s environment then gets a
server-side apply (field manager ``bulkhead``) in kind order — the Secrets before the workloads
that read them — every conflict refused before anything changes unless ``--force-conflicts``,
prune (``--prune``) of owned objects no longer rendered, and a wait for rollouts that names a
failing pod and why. Each docker environment gets its secret files (mode 0400, rewritten only
when they differ) and one container per compose service, recreated only when it changed, and
a wait for health. Environments are applied one after another and a failure in one does not
stop the next; the exit code is the first failure's (1 failed, 2 unplaceable, 4 unreachable).
No secret value is printed: errors are scrubbed of them, diffs show ``<changed>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from bulkhead.commands._common import SpecPath, guarded

if TYPE_CHECKING:
    from bulkhead.apply.cluster import ClusterPlan
    from bulkhead.apply.deploy import DeployOptions, DockerPlan, Step
    from bulkhead.apply.engine import DockerEngine
    from bulkhead.apply.homelab import Rendered
    from bulkhead.apply.rollout import RolloutState
    from bulkhead.apply.secrets import FileChange, Values

Context = Annotated[
    str | None,
    typer.Option(
        "--context",
        envvar="BULKHEAD_CONTEXT",
        help="kubeconfig context to use; required unless the current context (or its cluster) "
        "has the name of the spec's k3s environment.",
        show_default=False,
    ),
]
Envs = Annotated[
    list[str] | None,
    typer.Option("--env", help="Only this environment (repeatable).", show_default=False),
]

VERBS = {
    "create": "created",
    "update": "configured",
    "prune": "pruned",
    "orphan": "kept",
    "unchanged": "unchanged",
    "conflict": "conflict",
}
DRY_VERBS = {**VERBS, "create": "would create", "update": "would configure", "prune": "would prune"}


def command(
    file: SpecPath,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Ask the servers, change nothing.")
    ] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete owned objects that are no longer rendered.")
    ] = False,
    context: Context = None,
    force_conflicts: Annotated[
        bool,
        typer.Option("--force-conflicts", help="Take over fields other managers own."),
    ] = False,
    env: Envs = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for rollouts and health.")
    ] = 300.0,
) -> None:
    """Apply FILE's rendered state: server-side apply to K3s, containers on the GPU machine."""
    from bulkhead.apply import homelab
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    only = env or []
    refuse_unknown(homelab.unknown_environments(spec, only))
    rendered = guarded(lambda: homelab.with_secrets(homelab.render(spec), only))
    options = _Options(dry_run, prune, context, force_conflicts, timeout)
    codes = [_cluster(rendered, only, options), *_dockers(rendered, only, options)]
    failed = [code for code in codes if code]
    raise typer.Exit(failed[0] if failed else 0)


@dataclass(frozen=True)
class _Options:
    dry_run: bool
    prune: bool
    context: str | None
    force: bool
    timeout: float


def refuse_unknown(names: list[str]) -> None:
    if names:
        typer.echo(f"error: no environment named {', '.join(names)} in the spec", err=True)
        raise typer.Exit(3)


def _cluster(rendered: Rendered, only: list[str], options: _Options) -> int:
    return attempt(partial(_apply_cluster, rendered, only, options), rendered.values)


def _apply_cluster(rendered: Rendered, only: list[str], options: _Options) -> None:
    from bulkhead.apply import homelab
    from bulkhead.apply.cluster import Action, apply_cluster
    from bulkhead.apply.rollout import WORKLOAD_KINDS, wait_for_rollouts

    name = homelab.cluster_environment(rendered.spec, only)
    if name is None:
        return
    cluster = homelab.open_cluster(name, options.context)
    typer.echo(f"{name}: {cluster.target}")
    plan = apply_cluster(
        cluster,
        rendered.objects,
        rendered.homelab,
        prune=options.prune,
        force=options.force,
        dry_run=options.dry_run,
    )
    print_cluster_plan(plan, DRY_VERBS if options.dry_run else VERBS)
    changed = [c.ref for c in plan.having(Action.create, Action.update)]
    workloads = [ref for ref in changed if ref.kind in WORKLOAD_KINDS]
    if workloads and not options.dry_run:
        wait_for_rollouts(cluster, workloads, timeout=options.timeout, on_progress=_progress())


def print_cluster_plan(plan: ClusterPlan, verbs: dict[str, str]) -> None:
    """One line per change; unchanged objects are counted, not listed."""
    unchanged = 0
    for change in plan.changes:
        if change.action.value == "unchanged":
            unchanged += 1
            continue
        note = f" — {change.note}" if change.note and change.action.value == "orphan" else ""
        typer.echo(f"  {verbs[change.action.value]:<15}{change.ref}{note}")
        for conflict in change.conflicts:
            typer.echo(f"  {'':<15}  {conflict.field} is owned by {conflict.manager!r}")
    if unchanged:
        typer.echo(f"  {'unchanged':<15}{unchanged} objects")


def _progress() -> Callable[[RolloutState], None]:
    last: dict[str, str] = {}

    def show(state: RolloutState) -> None:
        key = str(state.ref)
        if last.get(key) != state.message:
            last[key] = state.message
            typer.echo(f"  {'rollout':<15}{key}: {state.message}")

    return show


def _dockers(rendered: Rendered, only: list[str], options: _Options) -> list[int]:
    from bulkhead.apply import homelab

    envs = homelab.docker_environments(rendered.spec, only)
    return [attempt(partial(_deploy, rendered, name, options), rendered.values) for name in envs]


def _deploy(rendered: Rendered, name: str, options: _Options) -> None:
    from bulkhead.apply import homelab
    from bulkhead.apply.compose import skipped_services
    from bulkhead.apply.deploy import deploy_docker
    from bulkhead.apply.engine import connect_engine

    env = homelab.docker_environments(rendered.spec)[name]
    document = rendered.compose.get(name, {"services": {}})
    with connect_engine(env.host) as engine:
        typer.echo(f"{name}: Docker engine at {env.host}")
        files = sync_secret_files(engine, rendered, name, dry_run=options.dry_run)
        deploy = deploy_options(rendered, name, files, options.dry_run, options.timeout)
        plan = deploy_docker(
            engine, document, homelab=rendered.homelab, environment=name, options=deploy
        )
    print_secret_files(files, options.dry_run)
    print_docker_plan(plan, options.dry_run)
    for service in skipped_services(document):
        typer.echo(f"  {'not started':<15}{service} (in a compose profile: run on demand)")


def sync_secret_files(
    engine: DockerEngine, rendered: Rendered, name: str, *, dry_run: bool
) -> tuple[FileChange, ...]:
    """Write (or, dry, compare) one docker environment's secret files on its engine."""
    from bulkhead.apply import secrets
    from bulkhead.apply.objects import inventory_labels

    labels = {**inventory_labels(rendered.homelab), "bulkhead.dev/role": "secret-files"}
    return secrets.sync_files(
        engine,
        rendered.compose.get(name, {}),
        rendered.files.get(name, ()),
        rendered.values,
        labels=labels,
        dry_run=dry_run,
    )


def deploy_options(
    rendered: Rendered,
    name: str,
    files: tuple[FileChange, ...],
    dry_run: bool,
    timeout: float = 120.0,
) -> DeployOptions:
    """Deploy options carrying the env files' variables and the files this run rewrites."""
    from bulkhead.apply.deploy import DeployOptions
    from bulkhead.apply.secrets import env_variables, written

    variables = env_variables(rendered.files.get(name, ()), rendered.values)
    return DeployOptions(
        dry_run=dry_run, timeout=timeout, env_files=variables, renewed=written(files)
    )


def print_secret_files(changes: tuple[FileChange, ...], dry_run: bool) -> None:
    """One line per secret file written (path and mode, never content); unchanged counted."""
    unchanged = sum(1 for c in changes if c.action.value == "unchanged")
    for change in changes:
        if change.action.value != "unchanged":
            verb = f"would {change.action.value}" if dry_run else f"{change.action.value}d"
            typer.echo(f"  {verb:<15}{change.path} (secret file, 0400)")
    if unchanged:
        typer.echo(f"  {'unchanged':<15}{unchanged} secret files")


DOCKER_VERBS = {
    "create": "created",
    "recreate": "recreated",
    "start": "started",
    "remove": "removed",
    "unchanged": "unchanged",
}


def print_docker_plan(plan: DockerPlan, dry_run: bool) -> None:
    """One line per container step."""
    for step in plan.steps:
        typer.echo(f"  {_docker_verb(step, dry_run):<15}{step.name}{_reason(step)}")


def _docker_verb(step: Step, dry_run: bool) -> str:
    verb = DOCKER_VERBS[step.kind.value]
    return f"would {step.kind.value}" if dry_run and step.kind.value != "unchanged" else verb


def _reason(step: Step) -> str:
    return f" ({step.reason})" if step.reason else ""


def attempt(action: Callable[[], None], values: Values) -> int:
    """Run one environment; print a failure (no secret value in it) and return its exit code
    instead of stopping."""
    from bulkhead.errors import BulkheadError, InputError

    try:
        with values.hiding():
            action()
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        return exc.exit_code
    except BulkheadError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    return 0
