"""The values of the checks layer: a rule row, what a rule reports, and the report of a run.

A rule's function yields :class:`Hit` values (where, which workload, what is wrong, and an
optional fix more precise than the rule's own); the engine turns each into a :class:`Finding`
with the rule id and the severity that the policy gives it. Everything here is frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bulkhead.errors import Location
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Severity

FAMILIES = {
    "PLC": "placement",
    "SEP": "separation",
    "RES": "resources",
    "PRB": "probes and health",
    "SEC": "security",
    "NET": "network",
    "IMG": "images",
    "VOL": "volumes and backups",
    "REL": "reliability",
    "CI": "CI jobs",
    "POL": "policy: waivers and severity overrides",
}
REPORTED = (Severity.error, Severity.warning, Severity.info)


@dataclass(frozen=True)
class Hit:
    """One thing a rule found: located in the user's file, tied to a workload when there is one."""

    location: Location
    message: str
    workload: str | None = None
    fix: str | None = None


Check = Callable[[Homelab, PlacementResult], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    """One row of the registry. ``check`` is None for the policy rules the engine reports."""

    id: str
    title: str
    severity: Severity
    summary: str
    rationale: str
    example: str
    fix: str
    check: Check | None

    @property
    def family(self) -> str:
        """The family code, such as ``SEP``."""
        return self.id.split("-")[1]


@dataclass(frozen=True)
class Finding:
    """A hit with its rule id, its effective severity and its fix."""

    rule: str
    severity: Severity
    message: str
    fix: str
    workload: str | None
    location: Location


@dataclass(frozen=True)
class Waived:
    """A finding a waiver silenced, with the waiver's reason and its index in policy.waivers."""

    finding: Finding
    reason: str
    waiver: int


@dataclass(frozen=True)
class CheckReport:
    """What :func:`bulkhead.checks.run_checks` returns: active findings, then waived ones."""

    findings: tuple[Finding, ...]
    waived: tuple[Waived, ...] = ()

    def count(self, severity: Severity) -> int:
        """How many active findings have this severity."""
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def summary(self) -> dict[str, int]:
        """``{"error": n, "warning": n, "info": n}``."""
        return {s.value: self.count(s) for s in REPORTED}

    @property
    def ok(self) -> bool:
        """True when no active finding is an error."""
        return self.count(Severity.error) == 0
