"""``bulkhead doctor FILE``: read the live layers and say where to look first.

Live, it reads the cluster (nodes, pods, events, and drift from the render) through the same
adapter ``apply`` uses, the GPU machine's Docker engine and its gateway (``/readyz``, two
scrapes of ``/metrics``), and Gitea's last workflow runs. ``--snapshot DIR`` reads the same
inputs from files instead. It ends with the verdict line, then the evidence. Exit 0 healthy, 1
a problem found, 4 a layer unreachable (or, from a snapshot, unknown).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bulkhead.commands._common import OutputFormat, SpecPath, guarded
from bulkhead.commands.apply import Context

if TYPE_CHECKING:
    from bulkhead.apply.homelab import Rendered
    from bulkhead.apply.kube import KubeCluster
    from bulkhead.doctor import Containers, Drift, Inputs, Readiness, Unread
    from bulkhead.doctor.inputs import Json
    from bulkhead.spec.models import Homelab


def command(
    file: SpecPath,
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            help="Read a dump (nodes.json, pods.json...) instead of live.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="text or json.")
    ] = OutputFormat.text,
    context: Context = None,
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", help="Gateway URL (default: from the spec).", show_default=False),
    ] = None,
    gitea_repo: Annotated[
        str | None,
        typer.Option(
            "--gitea-repo",
            envvar="BULKHEAD_GITEA_REPO",
            help="OWNER/NAME of the repository whose deploy runs to read.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Diagnose FILE's homelab: cluster, GPU machine and CI, worst first."""
    from bulkhead.doctor import diagnose, read_snapshot
    from bulkhead.doctor.output import as_json, text
    from bulkhead.spec import load_spec

    spec = guarded(lambda: load_spec(file))
    now = dt.datetime.now(dt.UTC)
    if snapshot is not None:
        inputs = guarded(lambda: read_snapshot(snapshot, now))
    else:
        inputs = guarded(lambda: _live(spec, now, _Live(context, gateway, gitea_repo)))
    report = diagnose(spec, inputs)
    typer.echo(as_json(report) if output is OutputFormat.json else text(report), nl=False)
    raise typer.Exit(report.exit_code)


@dataclass(frozen=True)
class _Live:
    context: str | None
    gateway: str | None
    repo: str | None


def _live(spec: Homelab, now: dt.datetime, options: _Live) -> Inputs:
    from bulkhead.apply.homelab import Unplaceable, render
    from bulkhead.doctor import Inputs

    try:
        rendered: Rendered | None = render(spec)
    except Unplaceable:
        rendered = None
    inputs = _with_cluster(Inputs(now=now), spec, rendered, options.context)
    inputs = _with_gpu(inputs, spec, rendered, options.gateway)
    return replace(inputs, runs=_runs(spec, options.repo))


def _with_cluster(
    inputs: Inputs, spec: Homelab, rendered: Rendered | None, context: str | None
) -> Inputs:
    from bulkhead.apply.homelab import cluster_environment, open_cluster
    from bulkhead.doctor.live import read_cluster
    from bulkhead.errors import BulkheadError

    name = cluster_environment(spec)
    if name is None:
        return inputs
    try:
        cluster = open_cluster(name, context)
    except BulkheadError as exc:
        gone = _unread("unreachable", str(exc))
        return replace(inputs, nodes=gone, pods=gone, events=gone, drift=gone)
    reading = read_cluster(cluster)
    drift = _drift(cluster, rendered)
    return replace(
        inputs, nodes=reading.nodes, pods=reading.pods, events=reading.events, drift=drift
    )


def _drift(cluster: KubeCluster, rendered: Rendered | None) -> list[Drift] | Unread:
    from bulkhead.apply.cluster import Action, plan_cluster
    from bulkhead.doctor import Drift
    from bulkhead.errors import BulkheadError

    if rendered is None:
        return _unread("unknown", "the spec does not place, so there is no render to compare")
    try:
        plan = plan_cluster(cluster, rendered.objects, rendered.homelab, prune=True)
    except BulkheadError as exc:
        return _unread("unreachable", str(exc))
    words = {
        Action.update: "differs from the render",
        Action.create: "is missing from the cluster",
        Action.prune: "is no longer rendered but still deployed",
        Action.conflict: "has fields another manager owns",
    }
    return [
        Drift(str(c.ref), words[c.action], _first_change(c.diff))
        for c in plan.changes
        if c.action in words
    ]


def _first_change(diff: str) -> str:
    lines = [x for x in diff.splitlines() if x[:1] in "+-" and not x.startswith(("+++", "---"))]
    return "; ".join(line.strip() for line in lines[:3])


def _with_gpu(
    inputs: Inputs, spec: Homelab, rendered: Rendered | None, gateway: str | None
) -> Inputs:
    from bulkhead.apply.homelab import docker_environments
    from bulkhead.doctor.live import gateway_url

    envs = docker_environments(spec)
    if not envs:
        return inputs
    name, env = next(iter(envs.items()))
    readiness, metrics = _gateway(gateway or gateway_url(spec, name))
    containers = _containers(spec, rendered, name, env.host)
    return replace(inputs, containers=containers, readiness=readiness, metrics=metrics)


def _containers(
    spec: Homelab, rendered: Rendered | None, name: str, host: str
) -> Containers | Unread:
    from bulkhead.apply.compose import ComposeError, container_specs, owner_labels
    from bulkhead.apply.engine import connect_engine
    from bulkhead.doctor import Containers
    from bulkhead.errors import BulkheadError

    document = rendered.compose.get(name, {}) if rendered else {}
    homelab = spec.metadata.name
    try:
        expected = tuple(
            s.service for s in container_specs(document, homelab=homelab, environment=name)
        )
    except ComposeError:  # apply reports it; the doctor still reads what runs
        expected = ()
    try:
        with connect_engine(host, timeout=10) as engine:
            live = engine.managed(owner_labels(homelab, name))
    except BulkheadError as exc:
        return _unread("unreachable", str(exc))
    return Containers(host, expected, tuple(live))


def _gateway(url: str | None) -> tuple[Readiness | Unread, tuple[str, ...] | Unread]:
    import httpx

    from bulkhead.doctor.live import read_metrics, read_readiness

    if url is None:
        missing = _unread("unknown", "no gateway in the spec (a gpu-service with /readyz)")
        return missing, missing
    with httpx.Client(timeout=5.0) as client:
        readiness = read_readiness(client, url)
        if not readiness.status:
            return readiness, _unread("unreachable", f"{url} does not answer")
        return readiness, read_metrics(client, url)


def _runs(spec: Homelab, repo: str | None) -> Sequence[Json] | Unread:
    import httpx

    from bulkhead.doctor.live import read_gitea_runs
    from bulkhead.spec.models import GiteaEnvironment

    gitea = next((e for e in spec.environments.values() if isinstance(e, GiteaEnvironment)), None)
    if gitea is None:
        return _unread("unknown", "no gitea environment")
    repo = repo or gitea.repository
    if not repo:
        return _unread(
            "unknown", "set the gitea environment's repository (or --gitea-repo OWNER/NAME)"
        )
    token = os.environ.get("BULKHEAD_GITEA_TOKEN")
    with httpx.Client(timeout=10.0) as client:
        return read_gitea_runs(client, gitea.url, repo, token)


def _unread(state: str, reason: str) -> Unread:
    from bulkhead.doctor import State, Unread

    return Unread(State(state), reason)
