"""CI: the jobs themselves. Steps are well formed, actions are pinned to a ref, and scheduled
jobs have a valid schedule."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.cron import cron_problem
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import CiStep, Homelab, Severity


def _steps(spec: Homelab) -> Iterator[tuple[str, int, CiStep]]:
    for name, workload in facts.workloads(spec):
        for i, step in enumerate(workload.ci.steps if workload.ci else ()):
            yield name, i, step


def step_shape(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Each step has exactly one of run and uses; with goes only with uses."""
    for name, i, step in _steps(spec):
        problem = _shape_problem(step)
        if problem:
            where = facts.at(spec, name, "ci", "steps", i)
            yield Hit(where, f"step {i + 1} of {name} {problem}", name)


def _shape_problem(step: CiStep) -> str | None:
    if step.run is not None and step.uses is not None:
        return "has both run and uses"
    if step.run is None and step.uses is None:
        return "has neither run nor uses"
    if step.with_ is not None and step.uses is None:
        return "has with but no uses"
    return None


def action_ref(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """An action is named with @ref (a local ./path or docker:// image is exempt)."""
    for name, i, step in _steps(spec):
        uses = step.uses or ""
        local = uses.startswith(("./", "docker://"))
        if uses and not local and "@" not in uses.rpartition("/")[2]:
            where = facts.at(spec, name, "ci", "steps", i, "uses")
            yield Hit(where, f"step {i + 1} of {name} uses {uses} without @ref", name)


def schedule_valid(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A scheduled job has a valid cron schedule, and a schedule has the schedule trigger."""
    for name, workload in facts.workloads(spec):
        ci = workload.ci
        if ci is None:
            continue
        triggered = "schedule" in ci.on
        problem = _schedule_problem(triggered, ci.schedule)
        if problem:
            key = "on" if ci.schedule is None else "schedule"
            yield Hit(facts.at(spec, name, "ci", key), f"{name} {problem}", name)


def _schedule_problem(triggered: bool, schedule: str | None) -> str | None:
    if schedule is None:
        return "runs on schedule but has no schedule" if triggered else None
    if not triggered:
        return "has a schedule, but on does not include schedule, so it never fires"
    problem = cron_problem(schedule)
    return f"has an invalid schedule: {problem}" if problem else None


RULES = (
    Rule(
        id="BH-CI-001",
        title="CI steps are well formed",
        severity=Severity.error,
        summary="Reports a step with both or neither of run and uses, or with but no uses.",
        rationale=(
            "Gitea rejects the whole workflow file for one malformed step, and says so only in "
            "the Actions tab, after the push."
        ),
        example="ci:\n  steps:\n    - {name: test}   # neither run nor uses",
        fix="Give each step either run: <command> or uses: <action>@<ref> (with: only with uses).",
        check=step_shape,
    ),
    Rule(
        id="BH-CI-002",
        title="Actions are pinned to a ref",
        severity=Severity.error,
        summary="Reports a step whose uses names an action without @ref.",
        rationale=(
            "An action reference without a ref is invalid in Gitea and GitHub Actions alike; the "
            "job fails to start."
        ),
        example="ci:\n  steps:\n    - {uses: actions/checkout}",
        fix="Name the ref: actions/checkout@v4 (or a commit SHA to pin it fully).",
        check=action_ref,
    ),
    Rule(
        id="BH-CI-003",
        title="Scheduled jobs have a valid schedule",
        severity=Severity.error,
        summary=(
            "Reports a job triggered on schedule without a schedule, a schedule without the "
            "schedule trigger, and a schedule that is not valid cron."
        ),
        rationale=(
            "Gitea cannot schedule a workflow whose cron it cannot parse and says so only in its "
            "server log: the nightly job simply never runs."
        ),
        example="ci:\n  on: [schedule]\n  schedule: '0 3 * *'   # four fields",
        fix="Write on: [schedule] with schedule: '0 3 * * *' (minute hour day month weekday).",
        check=schedule_valid,
    ),
)
