"""Deploying a docker environment: reconcile its compose services with the engine's containers.

:func:`plan_docker` is pure: desired specs against bulkhead's live containers give one
:class:`Step` per service — create, recreate (configuration or image changed), start (stopped),
unchanged — and one ``remove`` per container bulkhead created for a service no longer
declared. Containers without bulkhead's labels are never touched: a name already taken by one
is an error, not a removal. :func:`deploy_docker` runs the plan and waits for health.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bulkhead.apply.compose import (
    ContainerSpec,
    NamedVolume,
    container_specs,
    owner_labels,
    project_name,
)
from bulkhead.apply.engine import LiveContainer
from bulkhead.errors import ApplyError


class StepKind(StrEnum):
    """What deploy does to one container."""

    create = "create"
    recreate = "recreate"
    start = "start"
    unchanged = "unchanged"
    remove = "remove"


@dataclass(frozen=True)
class Step:
    """One container's fate, with the reason."""

    kind: StepKind
    name: str
    service: str | None
    reason: str = ""
    spec: ContainerSpec | None = None
    live: LiveContainer | None = None


@dataclass(frozen=True)
class DockerPlan:
    """Every step for one docker environment."""

    environment: str
    host: str
    steps: tuple[Step, ...]

    @property
    def changed(self) -> bool:
        """Whether deploying would change anything."""
        return any(s.kind is not StepKind.unchanged for s in self.steps)


class Engine(Protocol):
    """What deploy needs from the engine adapter (:class:`~.engine.DockerEngine`)."""

    host: str

    def managed(self, labels: Mapping[str, str]) -> list[LiveContainer]: ...

    def by_name(self, name: str) -> LiveContainer | None: ...

    def inspect(self, container_id: str) -> LiveContainer: ...

    def image_id(self, reference: str) -> str | None: ...

    def pull(self, reference: str, platform: str | None = None) -> str: ...

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> None: ...

    def ensure_volume(self, volume: NamedVolume, labels: Mapping[str, str]) -> None: ...

    def create(self, spec: ContainerSpec) -> str: ...

    def start(self, container_id: str) -> None: ...

    def remove(self, container_id: str, *, timeout: int = 10) -> None: ...


@dataclass(frozen=True)
class DeployOptions:
    """How to deploy: plan only, active compose profiles, env files (path → variables: the
    secret env files), host files just rewritten (the containers that mount one are recreated,
    as a bind mount keeps the old file), how long to wait for health, the clock (for tests)."""

    dry_run: bool = False
    profiles: frozenset[str] = frozenset()
    env_files: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    renewed: frozenset[str] = frozenset()
    timeout: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


class UnhealthyContainers(ApplyError):
    """Deployed containers that did not become healthy: names each and says why."""


def plan_docker(
    specs: Sequence[ContainerSpec],
    live: Sequence[LiveContainer],
    images: Mapping[str, str | None],
    renewed: frozenset[str] = frozenset(),
) -> tuple[Step, ...]:
    """Steps that make ``live`` match ``specs``; ``images`` maps references to local IDs;
    a container that mounts one of the ``renewed`` host files is recreated."""
    by_service: dict[str | None, list[LiveContainer]] = {}
    for container in sorted(live, key=lambda c: c.name):
        by_service.setdefault(container.service, []).append(container)
    steps = [_step(spec, by_service.pop(spec.service, []), images, renewed) for spec in specs]
    extras = [c for spec in specs for c in _extras(spec, live)]
    leftovers = [c for group in by_service.values() for c in group]
    removes = [Step(StepKind.remove, c.name, c.service, _gone(c), live=c) for c in leftovers]
    dupes = [Step(StepKind.remove, c.name, c.service, "duplicate", live=c) for c in extras]
    return (*steps, *dupes, *removes)


def _gone(container: LiveContainer) -> str:
    return f"service {container.service} is no longer declared"


def _extras(spec: ContainerSpec, live: Sequence[LiveContainer]) -> list[LiveContainer]:
    """bulkhead's containers of a service beyond the one that keeps its name."""
    mine = [c for c in live if c.service == spec.service]
    keep = next((c for c in mine if c.name == spec.name), mine[0] if mine else None)
    return [c for c in mine if c is not keep]


def _step(
    spec: ContainerSpec,
    mine: list[LiveContainer],
    images: Mapping[str, str | None],
    renewed: frozenset[str],
) -> Step:
    current = next((c for c in mine if c.name == spec.name), mine[0] if mine else None)
    if current is None:
        return Step(StepKind.create, spec.name, spec.service, "new service", spec)
    reason = _recreate_reason(spec, current, images.get(spec.image))
    if not reason and renewed & set(spec.options.get("volumes") or {}):
        reason = "secret files rewritten"
    if reason:
        return Step(StepKind.recreate, spec.name, spec.service, reason, spec, current)
    if current.status != "running":
        return Step(StepKind.start, spec.name, spec.service, current.status, spec, current)
    return Step(StepKind.unchanged, spec.name, spec.service, "", spec, current)


def _recreate_reason(spec: ContainerSpec, current: LiveContainer, image_id: str | None) -> str:
    if current.name != spec.name:
        return f"renamed from {current.name}"
    if current.config_hash != spec.config_hash:
        return "configuration changed"
    if image_id is not None and image_id != current.image_id:
        return f"image {spec.image} changed"
    return ""


def deploy_docker(
    engine: Engine,
    document: Mapping[str, Any],
    *,
    homelab: str,
    environment: str,
    options: DeployOptions | None = None,
    on_step: Callable[[Step], None] = lambda step: None,
) -> DockerPlan:
    """Make the engine run exactly the document's services (bulkhead's containers only)."""
    opts = options or DeployOptions()
    specs = container_specs(
        document,
        homelab=homelab,
        environment=environment,
        profiles=opts.profiles,
        env_files=opts.env_files,
    )
    labels = owner_labels(homelab, environment)
    live = engine.managed(labels)
    _refuse_foreign_names(engine, specs, live)
    images = {s.image: engine.image_id(s.image) for s in specs}
    plan = DockerPlan(environment, engine.host, plan_docker(specs, live, images, opts.renewed))
    if opts.dry_run or not plan.changed:
        return plan
    engine.ensure_network(f"{project_name(document, environment)}_default", labels)
    for volume in {v.name: v for spec in specs for v in spec.volumes}.values():
        engine.ensure_volume(volume, labels)
    started = [cid for step in plan.steps if (cid := _run(engine, step, images, on_step))]
    wait_healthy(engine, started, timeout=opts.timeout, sleep=opts.sleep, clock=opts.clock)
    return plan


def _refuse_foreign_names(
    engine: Engine, specs: Sequence[ContainerSpec], live: Sequence[LiveContainer]
) -> None:
    mine = {c.name for c in live}
    for spec in specs:
        other = None if spec.name in mine else engine.by_name(spec.name)
        if other is not None:
            raise ApplyError(
                f"a container named {spec.name} exists on {engine.host} and bulkhead did not "
                f"create it; rename or remove it, or set container_name for {spec.service}"
            )


def _run(
    engine: Engine, step: Step, images: Mapping[str, str | None], on_step: Callable[[Step], None]
) -> str | None:
    """Carry out one step; returns the ID of a container that must now become healthy."""
    if step.kind is StepKind.unchanged:
        return None
    on_step(step)
    if step.live is not None and step.kind in (StepKind.recreate, StepKind.remove):
        engine.remove(step.live.id)
    if step.kind is StepKind.remove or step.spec is None:
        return None
    if step.kind is StepKind.start and step.live is not None:
        engine.start(step.live.id)
        return step.live.id
    if images.get(step.spec.image) is None:
        engine.pull(step.spec.image, step.spec.options.get("platform"))
    container_id = engine.create(step.spec)
    engine.start(container_id)
    return container_id


def wait_healthy(
    engine: Engine,
    container_ids: Sequence[str],
    *,
    timeout: float,
    poll: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Wait until every container is healthy (or running, without a health check)."""
    deadline, pending = clock() + timeout, list(container_ids)
    while pending:
        states = [engine.inspect(cid) for cid in pending]
        failed = [_failure(c) for c in states if _failure(c)]
        if failed:
            raise UnhealthyContainers("containers failed:\n  " + "\n  ".join(map(str, failed)))
        pending = [c.id for c in states if not _ready(c)]
        if pending and clock() >= deadline:
            waiting = [f"{c.name}: {c.health or c.status} after {timeout:g}s" for c in states]
            raise UnhealthyContainers("containers not healthy:\n  " + "\n  ".join(waiting))
        if pending:
            sleep(poll)


def _ready(container: LiveContainer) -> bool:
    return container.status == "running" and container.health in (None, "healthy")


def _failure(container: LiveContainer) -> str | None:
    if container.oom_killed:
        return f"{container.name}: OOMKilled (the memory limit is too low)"
    if container.status in ("exited", "dead"):
        return f"{container.name}: exited with code {container.exit_code}"
    if container.health == "unhealthy":
        output = f": {container.health_output}" if container.health_output else ""
        return f"{container.name}: health check failing{output}"
    return None
