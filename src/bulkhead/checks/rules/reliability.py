"""REL: reliability. What users reach from outside has more than one replica, and CI jobs
cannot hold a runner forever."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Severity, WorkloadClass


def ingress_replicas(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A service behind an ingress runs more than one replica."""
    for name, workload in facts.workloads(spec):
        single = workload.replicas <= 1
        if workload.class_ is WorkloadClass.service and workload.ingress and single:
            message = (
                f"{name} sits behind an ingress ({workload.ingress.host}) with "
                f"{workload.replicas} replica(s): every restart or node loss is an outage"
            )
            yield Hit(facts.at(spec, name, "replicas"), message, name)


def job_timeout(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A ci-job declares a timeout."""
    for name, workload in facts.workloads(spec):
        if workload.ci is not None and workload.ci.timeout_minutes is None:
            message = f"ci-job {name} has no timeoutMinutes"
            yield Hit(facts.at(spec, name, "ci"), message, name)


RULES = (
    Rule(
        id="BH-REL-001",
        title="Services behind an ingress run two replicas",
        severity=Severity.warning,
        summary="Reports a service with an ingress and at most one replica.",
        rationale=(
            "With one replica every rollout, eviction or Pi reboot is a user-visible outage; "
            "two replicas on different nodes (bulkhead spreads them) ride through all three."
        ),
        example=(
            "workloads:\n  web:\n    class: service\n    replicas: 1\n"
            "    ingress: {host: web.lab.home, port: http}"
        ),
        fix="Set replicas: 2 (and make sure the service keeps no state in the pod).",
        check=ingress_replicas,
    ),
    Rule(
        id="BH-REL-002",
        title="CI jobs have a timeout",
        severity=Severity.warning,
        summary="Reports a ci-job without ci.timeoutMinutes.",
        rationale=(
            "A hung job holds its runner until act_runner's own limit (3 hours by default), and "
            "capacity caps how many jobs a runner takes: everything behind it waits."
        ),
        example=(
            "workloads:\n  test:\n    class: ci-job\n"
            "    ci: {runsOn: [arm64], steps: [{run: make test}]}"
        ),
        fix="Set ci.timeoutMinutes to a little above the job's usual duration.",
        check=job_timeout,
    ),
)
