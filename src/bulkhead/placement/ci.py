"""CI jobs onto Gitea runners: a runner fits when its labels include every ``runsOn`` label.

A runner label may carry its execution environment (``ubuntu-latest:docker://node:20``); only
the name before the first ``:`` is matched, as act_runner does. Capacity caps how many jobs a
runner runs at once; more jobs than that queue on the runner, they are not refused. So each
job goes to the fitting runner with the lowest load (jobs per capacity slot), ties by name, and
a job is unplaced only when no runner fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from bulkhead.placement.result import Assignment, EnvKind, NodeFailure, RunnerUsage, Unplaced
from bulkhead.placement.scheduler import kubernetes_line
from bulkhead.spec.models import GiteaEnvironment, Homelab

LACKS_LABELS = "runner(s) didn't have every runs-on label"


@dataclass(frozen=True)
class Job:
    """One replica of a ci-job and the labels it runs on."""

    workload: str
    replica: int
    order: int
    priority: int
    runs_on: tuple[str, ...]


@dataclass(frozen=True)
class RunnerSpec:
    """One runner: where it lives, its label names and its concurrency."""

    name: str
    environment: str
    node: str
    labels: tuple[str, ...]
    capacity: int


def jobs_of(spec: Homelab, name: str, order: int = 0) -> tuple[Job, ...]:
    """Every replica of the ci-job ``name`` (``order``: its position in the spec)."""
    workload = spec.workloads[name]
    runs_on = tuple(workload.ci.runs_on) if workload.ci else ()
    return tuple(Job(name, i, order, workload.priority, runs_on) for i in range(workload.replicas))


def runners_of(spec: Homelab, environments: Iterable[str]) -> tuple[RunnerSpec, ...]:
    """The runners of the given gitea environments, by environment then name."""
    found = []
    for env_name in environments:
        env = spec.environments[env_name]
        assert isinstance(env, GiteaEnvironment)
        for name in sorted(env.runners):
            runner = env.runners[name]
            labels = tuple(label.split(":", 1)[0] for label in runner.labels)
            found.append(RunnerSpec(name, env_name, runner.node, labels, runner.capacity))
    return tuple(found)


def missing_labels(job: Job, runner: RunnerSpec) -> tuple[str, ...]:
    """The job's runs-on labels the runner lacks."""
    return tuple(label for label in job.runs_on if label not in runner.labels)


def assign(
    jobs: Sequence[Job], runners: Sequence[RunnerSpec]
) -> tuple[tuple[Assignment, ...], tuple[Unplaced, ...]]:
    """Each job to the least loaded fitting runner, in queue order."""
    load = {r.name: 0 for r in runners}
    placed: list[Assignment] = []
    unplaced: list[Unplaced] = []
    for job in sorted(jobs, key=lambda j: (-j.priority, j.order, j.replica)):
        fitting = [r for r in runners if not missing_labels(job, r)]
        if not fitting:
            unplaced.append(explain(job, runners))
            continue
        runner = min(fitting, key=lambda r: (Fraction(load[r.name], r.capacity), r.name))
        load[runner.name] += 1
        placed.append(_assignment(job, runner))
    return tuple(placed), tuple(unplaced)


def _assignment(job: Job, runner: RunnerSpec) -> Assignment:
    return Assignment(
        job.workload, job.replica, runner.environment, EnvKind.gitea, runner.node, runner.name
    )


def explain(job: Job, runners: Sequence[RunnerSpec]) -> Unplaced:
    """Why no runner fits: each runner with the labels it lacks."""
    failures = {r.name: (_lack(job, r),) for r in runners}
    return Unplaced(
        workload=job.workload,
        replica=job.replica,
        environment=runners[0].environment if runners else None,
        kind=EnvKind.gitea,
        kubernetes=kubernetes_line(failures, noun="runners"),
        failures=tuple(f for name in sorted(failures) for f in failures[name]),
        unresolvable=True,
    )


def _lack(job: Job, runner: RunnerSpec) -> NodeFailure:
    lacking = ", ".join(missing_labels(job, runner))
    labels = ", ".join(runner.labels)
    detail = f"{runner.name}: labels [{labels}] lack {lacking}"
    return NodeFailure(runner.name, "RunnerLabels", LACKS_LABELS, detail)


def usage(runners: Sequence[RunnerSpec], placed: Sequence[Assignment]) -> tuple[RunnerUsage, ...]:
    """Every runner with the jobs assigned to it."""
    return tuple(
        RunnerUsage(
            name=r.name,
            environment=r.environment,
            node=r.node,
            labels=r.labels,
            capacity=r.capacity,
            jobs=tuple(f"{a.workload}/{a.replica}" for a in placed if a.runner == r.name),
        )
        for r in runners
    )
