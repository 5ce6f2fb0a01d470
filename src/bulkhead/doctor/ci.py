"""Diagnoses of the CI layer from Gitea's list-workflow-runs answer.

Gitea 1.24+ answers ``GET /repos/{owner}/{repo}/actions/runs`` with ``workflow_runs`` whose
``path`` is ``<workflow file>@<ref>`` and whose ``status``/``conclusion`` follow GitHub's
(``completed`` + ``failure``); older Gitea answers ``/actions/tasks`` with ``workflow_id`` and a
single ``status`` (``failure``, ``success``, ``running``...). Both shapes are read. Only the
latest run of each workflow counts: a failure fixed by a later success is history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bulkhead.doctor.inputs import Json
from bulkhead.doctor.model import Diagnosis
from bulkhead.doctor.rules import rule

FAILED = frozenset({"failure", "timed_out", "startup_failure"})
WAITING = frozenset({"queued", "waiting", "pending", "requested", "blocked"})
STUCK_AFTER = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Run:
    """One workflow run, normalised from either API shape."""

    workflow: str
    number: int
    state: str  # failure, success, cancelled, skipped, running, queued, ...
    title: str
    branch: str
    url: str
    since: dt.datetime | None

    @property
    def deploy(self) -> bool:
        """Deploy workflows are named deploy-*.yaml by the render."""
        return self.workflow.startswith("deploy")


def runs_of(answer: Json | Sequence[Json]) -> list[Run]:
    """Runs from an API answer (the object, or its ``workflow_runs`` list)."""
    entries = answer.get("workflow_runs", []) if isinstance(answer, dict) else answer
    return [_run(e) for e in entries or []]


def _run(entry: Json) -> Run:
    workflow = str(entry.get("path") or entry.get("workflow_id") or entry.get("name") or "?")
    status = str(entry.get("status") or "")
    state = str(entry.get("conclusion") or "") if status == "completed" else status
    started = entry.get("started_at") or entry.get("run_started_at") or entry.get("created_at")
    return Run(
        workflow=workflow.split("@")[0].rsplit("/", 1)[-1],
        number=int(entry.get("run_number") or entry.get("id") or 0),
        state=state or status,
        title=str(entry.get("display_title") or entry.get("name") or ""),
        branch=str(entry.get("head_branch") or ""),
        url=str(entry.get("html_url") or entry.get("url") or ""),
        since=_time(started),
    )


def _time(raw: object) -> dt.datetime | None:
    if not isinstance(raw, str) or raw.startswith("0001-"):
        return None
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def latest(runs: Sequence[Run]) -> list[Run]:
    """The newest run of each workflow, by workflow name."""
    newest: dict[str, Run] = {}
    for run in runs:
        if run.workflow not in newest or run.number > newest[run.workflow].number:
            newest[run.workflow] = run
    return [newest[w] for w in sorted(newest)]


def ci_diagnoses(runs: Sequence[Run], now: dt.datetime) -> list[Diagnosis]:
    """A failed deploy (error), a deploy stuck waiting for a runner, another failed workflow."""
    found = []
    for run in latest(runs):
        subject = f"workflow/{run.workflow}"
        evidence = tuple(x for x in (_where(run), run.url) if x)
        if run.state in FAILED:
            rule_id = "DR-CI-001" if run.deploy else "DR-CI-003"
            kind = "deploy" if run.deploy else "workflow"
            message = f"{kind} {run.workflow} failed (run #{run.number}{_title(run)})"
            found.append(Diagnosis(rule(rule_id), subject, message, evidence))
        elif run.deploy and run.state in WAITING and _stuck(run, now):
            message = (
                f"deploy {run.workflow} run #{run.number} has waited for a runner since {run.since}"
            )
            found.append(Diagnosis(rule("DR-CI-002"), subject, message, evidence))
    return found


def _stuck(run: Run, now: dt.datetime) -> bool:
    return run.since is not None and now - run.since > STUCK_AFTER


def _where(run: Run) -> str:
    return f"branch {run.branch}" if run.branch else ""


def _title(run: Run) -> str:
    return f": {run.title}" if run.title else ""


def summary(runs: Sequence[Run]) -> str:
    """The latest state of each workflow, for a healthy layer's line."""
    return ", ".join(f"{r.workflow} #{r.number} {r.state}" for r in latest(runs)) or "no runs"
