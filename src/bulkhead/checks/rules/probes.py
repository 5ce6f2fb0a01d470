"""PRB: probes and health. Anything that listens says when it is ready, and nothing is routed
from outside to a workload that cannot say so."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Severity


def ports_have_health(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A workload with ports and no ingress declares health (ingress is BH-PRB-002's)."""
    for name, workload in facts.workloads(spec):
        if workload.ports and workload.health is None and workload.ingress is None:
            message = f"{name} listens on {', '.join(workload.ports)} but declares no health check"
            yield Hit(facts.at(spec, name, "ports"), message, name)


def ingress_has_health(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """An ingress routes only to a workload with a health check."""
    for name, workload in facts.workloads(spec):
        if workload.ingress is not None and workload.health is None:
            message = f"{name} has an ingress ({workload.ingress.host}) but no health check"
            yield Hit(facts.at(spec, name, "ingress"), message, name)


RULES = (
    Rule(
        id="BH-PRB-001",
        title="Workloads with ports declare health",
        severity=Severity.warning,
        summary="Reports a workload that declares ports but no health check.",
        rationale=(
            "Without a readiness probe Kubernetes sends traffic to a pod the moment its process "
            "starts, and keeps sending it to one that has hung; Docker's restart policy cannot "
            "tell a wedged container from a healthy one."
        ),
        example="workloads:\n  redis:\n    class: cache\n    ports: {redis: 6379}   # no health",
        fix="Add health: {path: /healthz, port: http} (HTTP) or health: {port: redis} (TCP).",
        check=ports_have_health,
    ),
    Rule(
        id="BH-PRB-002",
        title="Ingress routes only to workloads with health",
        severity=Severity.error,
        summary="Reports a workload with an ingress but no health check.",
        rationale=(
            "Traefik routes to every endpoint Kubernetes calls ready; without a readiness probe "
            "that is every running pod, so users get errors during each rollout and restart."
        ),
        example=(
            "workloads:\n  web:\n    class: service\n    ports: {http: 8000}\n"
            "    ingress: {host: web.lab.home, port: http}   # no health"
        ),
        fix="Add health: {path: /healthz, port: http}.",
        check=ingress_has_health,
    ),
)
