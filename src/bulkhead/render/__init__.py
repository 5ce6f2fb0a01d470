"""Render: the real artifacts of a placed homelab, deterministic and validated offline.

Public surface (pure functions of a spec and its placement):

- :func:`render_cluster_objects` — every Kubernetes object of every k3s environment, as plain
  dicts, each labelled ``app.kubernetes.io/managed-by: bulkhead`` and
  ``bulkhead.dev/homelab: <metadata.name>`` (apply's inventory);
- :func:`render_compose` — docker environment name → its Compose document;
- :func:`render_tree` — relative path → file text, for ``bulkhead render FILE -o DIR``.

One module per target (:mod:`.kubernetes`, :mod:`.compose`, :mod:`.gitea`), one YAML dumper
(:mod:`.dump`), one view of the facts they share (:mod:`.view`). What the schemas of the targets
cannot catch and the spec still lets through (a cron schedule, a backup target bulkhead cannot
reach) is reported before anything is rendered, located in the user's file
(:func:`spec_problems`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from bulkhead.checks.cron import cron_problem
from bulkhead.errors import Problem, SpecError
from bulkhead.placement.result import PlacementResult
from bulkhead.render import restic
from bulkhead.render.compose import compose_documents
from bulkhead.render.dump import dump_document, dump_documents
from bulkhead.render.kubernetes import cluster_objects
from bulkhead.render.tree import tree
from bulkhead.render.view import View
from bulkhead.spec.models import Homelab

__all__ = [
    "dump_document",
    "dump_documents",
    "render_cluster_objects",
    "render_compose",
    "render_tree",
    "spec_problems",
]


def render_cluster_objects(spec: Homelab, placement: PlacementResult) -> list[dict[str, Any]]:
    """Every Kubernetes object, in apply order within each namespace."""
    return cluster_objects(_view(spec, placement))


def render_compose(spec: Homelab, placement: PlacementResult) -> dict[str, dict[str, Any]]:
    """Docker environment name → Compose document."""
    return compose_documents(_view(spec, placement))


def render_tree(
    spec: Homelab,
    placement: PlacementResult,
    *,
    spec_path: str = "homelab.yaml",
    out_dir: str = "rendered",
) -> dict[str, str]:
    """Relative path → file text. ``spec_path`` and ``out_dir`` are the paths, relative to the
    repository root, that the CI workflows re-render and apply from."""
    return tree(_view(spec, placement), spec_path, out_dir)


def _view(spec: Homelab, placement: PlacementResult) -> View:
    problems = list(spec_problems(spec))
    if problems:
        raise SpecError(problems)
    return View(spec, placement)


def spec_problems(spec: Homelab) -> Iterator[Problem]:
    """What would make a rendered artifact invalid, located in the spec."""
    for name, workload in spec.workloads.items():
        for volume, declared in workload.volumes.items():
            if declared.backup is not None:
                path = ("workloads", name, "volumes", volume, "backup", "schedule")
                yield from _cron(spec, path, declared.backup.schedule)
        if workload.ci is not None:
            yield from _ci_schedule(spec, name, workload.ci.on, workload.ci.schedule)
    for target_name, target in spec.backups.targets.items():
        problem = restic.problem(target)
        if problem:
            yield Problem(spec.locate("backups", "targets", target_name, "url"), problem)
    yield from _service_names(spec)


def _service_names(spec: Homelab) -> Iterator[Problem]:
    """Cluster workloads with ports and apis name Services, which must start with a letter."""
    services = [("workloads", n) for n, w in spec.workloads.items() if w.namespace and w.ports]
    for path in [*services, *(("apis", api) for api in spec.apis)]:
        if not path[1][0].isalpha():
            message = f"{path[1]!r} names a Kubernetes Service, which must start with a letter"
            yield Problem(spec.source.locate_key(*path), message)


def _cron(spec: Homelab, path: tuple[str, ...], schedule: str) -> Iterator[Problem]:
    problem = cron_problem(schedule)
    if problem:
        yield Problem(spec.locate(*path), f"invalid cron schedule {schedule!r}: {problem}")


def _ci_schedule(
    spec: Homelab, name: str, events: Sequence[str], schedule: str | None
) -> Iterator[Problem]:
    path = ("workloads", name, "ci")
    if schedule is not None:
        yield from _cron(spec, (*path, "schedule"), schedule)
    elif "schedule" in events:
        message = "'on' has schedule but there is no 'schedule' (a cron string) to run on"
        yield Problem(spec.locate(*path, "on"), message)
