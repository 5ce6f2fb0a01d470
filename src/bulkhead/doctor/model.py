"""The values of the doctor: layers, rules, diagnoses, what each layer looked like, the verdict.

A :class:`Diagnosis` is one rule firing on one subject (a node, a pod, a container, a workflow
run), with evidence and, when the spec is to blame, the place in the user's file to change. A
:class:`Report` holds every layer's state and orders the diagnoses so that the first one is the
place to look first. Everything here is frozen and pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bulkhead.errors import Location


class Layer(StrEnum):
    """The layers of the homelab, in the order a user thinks of them."""

    cluster = "cluster"
    gpu = "GPU machine"
    ci = "CI"


class Severity(StrEnum):
    """How much a diagnosis matters: an error breaks something now, a warning soon will."""

    error = "error"
    warning = "warning"
    info = "info"


class State(StrEnum):
    """What reading a layer gave."""

    healthy = "healthy"
    problem = "problem"
    unknown = "unknown"  # no input for it (a snapshot without its files)
    unreachable = "unreachable"  # live: the API did not answer
    absent = "absent"  # the spec declares no such layer


@dataclass(frozen=True)
class Rule:
    """One row of the doctor's rule table (the same shape as the checks' rules)."""

    id: str
    title: str
    layer: Layer
    severity: Severity
    rank: int  # lower is closer to a root cause: a NotReady node before its pods' troubles
    explanation: str
    fix: str


@dataclass(frozen=True)
class Diagnosis:
    """One rule firing on one subject."""

    rule: Rule
    subject: str
    message: str
    evidence: tuple[str, ...] = ()
    fix: str | None = None  # more precise than the rule's own, when the subject allows it
    location: Location | None = None  # where in the spec to change it

    @property
    def order(self) -> tuple[int, int, int, str]:
        """Errors first, root causes before symptoms, then layer and subject."""
        severities = list(Severity)
        layers = list(Layer)
        return (
            severities.index(self.rule.severity),
            self.rule.rank,
            layers.index(self.rule.layer),
            self.subject,
        )


@dataclass(frozen=True)
class LayerReport:
    """One layer: its state, why (for unknown and unreachable), what was seen, and diagnoses."""

    layer: Layer
    state: State
    reason: str = ""
    seen: tuple[str, ...] = ()
    diagnoses: tuple[Diagnosis, ...] = ()


@dataclass(frozen=True)
class Report:
    """Every layer, and the verdict: where to look first."""

    layers: tuple[LayerReport, ...]
    diagnoses: tuple[Diagnosis, ...] = field(init=False)

    def __post_init__(self) -> None:
        found = sorted((d for layer in self.layers for d in layer.diagnoses), key=_order)
        object.__setattr__(self, "diagnoses", tuple(found))

    @property
    def problems(self) -> tuple[Diagnosis, ...]:
        """Diagnoses that make the homelab unhealthy (errors and warnings)."""
        return tuple(d for d in self.diagnoses if d.rule.severity is not Severity.info)

    @property
    def blind(self) -> tuple[LayerReport, ...]:
        """Layers that could not be read (unknown or unreachable)."""
        return tuple(r for r in self.layers if r.state in (State.unknown, State.unreachable))

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 a problem found, 4 a layer unreachable or unknown (and nothing found)."""
        if self.problems:
            return 1
        return 4 if self.blind else 0

    @property
    def verdict(self) -> str:
        """``look here first: <layer> — <reason>`` (or why nothing is known, or all healthy)."""
        if self.problems:
            first = self.problems[0]
            return f"look here first: {first.rule.layer} — {first.message}"
        if self.blind:
            layer = self.blind[0]
            return f"look here first: {layer.layer} — {layer.state}: {layer.reason}"
        return "healthy: every layer read answered and nothing is wrong"


def _order(diagnosis: Diagnosis) -> tuple[int, int, int, str]:
    return diagnosis.order
