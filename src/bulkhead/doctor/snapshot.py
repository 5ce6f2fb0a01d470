"""Reading a snapshot directory: the same inputs as a live run, from files a user dumped.

``nodes.json``, ``pods.json``, ``events.json`` as ``kubectl get nodes|pods|events -A -o json``
prints them; ``gateway-ready.json`` (``{"status": 503, "body": {...}}``, the status code and
body of ``/readyz``); ``gateway-metrics.txt`` (the ``/metrics`` text, one scrape or several one
after another); ``gitea-runs.json`` (the answer of Gitea's list-workflow-runs API). A missing
file leaves its input unknown; a file that is not valid JSON is an input error located at its
line and column.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from bulkhead.doctor.inputs import Inputs, Readiness, Unread
from bulkhead.doctor.model import State
from bulkhead.errors import InputError, Location, Problem

FILES = {
    "nodes": "nodes.json",
    "pods": "pods.json",
    "events": "events.json",
    "readiness": "gateway-ready.json",
    "metrics": "gateway-metrics.txt",
    "runs": "gitea-runs.json",
}


def read_snapshot(directory: Path, now: dt.datetime) -> Inputs:
    """The inputs a snapshot directory holds (drift and containers are never in a snapshot)."""
    if not directory.is_dir():
        raise InputError([Problem(None, f"{directory}: no such snapshot directory")])
    return Inputs(
        now=now,
        nodes=_items(directory, "nodes"),
        pods=_items(directory, "pods"),
        events=_items(directory, "events"),
        drift=Unread(State.unknown, "drift needs the live cluster"),
        containers=Unread(State.unknown, "the Docker engine is not in a snapshot"),
        readiness=_readiness(directory),
        metrics=_metrics(directory),
        runs=_runs(directory),
        sources={name: str(directory / file) for name, file in FILES.items()},
    )


def _missing(name: str) -> Unread:
    return Unread(State.unknown, f"{FILES[name]} is not in the snapshot")


def _json(directory: Path, name: str) -> Any:
    path = directory / FILES[name]
    if not path.is_file():
        return _missing(name)
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = Location(str(path), exc.lineno, exc.colno)
        raise InputError([Problem(where, f"not valid JSON: {exc.msg}")]) from None


def _items(directory: Path, name: str) -> Any:
    data = _json(directory, name)
    if isinstance(data, Unread):
        return data
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        where = Location(str(directory / FILES[name]), 1, 1)
        message = "expected a list as `kubectl get ... -A -o json` prints it (an object with items)"
        raise InputError([Problem(where, message)])
    return data["items"]


def _readiness(directory: Path) -> Readiness | Unread:
    data = _json(directory, "readiness")
    if isinstance(data, Unread):
        return data
    if not isinstance(data, dict) or not isinstance(data.get("status"), int):
        where = Location(str(directory / FILES["readiness"]), 1, 1)
        raise InputError([Problem(where, 'expected {"status": <HTTP code>, "body": {...}}')])
    return Readiness(data["status"], data.get("body"), str(directory / FILES["readiness"]))


def _metrics(directory: Path) -> tuple[str, ...] | Unread:
    path = directory / FILES["metrics"]
    return (path.read_text(encoding="utf-8"),) if path.is_file() else _missing("metrics")


def _runs(directory: Path) -> Any:
    data = _json(directory, "runs")
    if isinstance(data, Unread):
        return data
    runs = data.get("workflow_runs") if isinstance(data, dict) else data
    if not isinstance(runs, list):
        where = Location(str(directory / FILES["runs"]), 1, 1)
        raise InputError([Problem(where, "expected Gitea's answer with workflow_runs")])
    return runs
