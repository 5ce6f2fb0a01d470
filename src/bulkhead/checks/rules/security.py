"""SEC: security. No privileged containers, host network, host paths or Docker socket, except
for the ci-runner class that needs them to build images; each such exemption is reported as
information so that it stays visible."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bulkhead.checks import facts
from bulkhead.checks.model import Check, Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Severity, Workload, WorkloadClass

EXEMPT = frozenset({WorkloadClass.ci_runner})


@dataclass(frozen=True)
class Privilege:
    """One dangerous setting: its YAML key, what it grants, and how to read it off a workload."""

    key: str
    grants: str
    held: Callable[[Workload], bool]


PRIVILEGES = (
    Privilege("privileged", "runs privileged (root on the host)", lambda w: w.security.privileged),
    Privilege("hostNetwork", "shares the host's network", lambda w: w.security.host_network),
    Privilege("hostPaths", "mounts host paths", lambda w: bool(w.security.host_paths)),
    Privilege("dockerSocket", "mounts the Docker socket", lambda w: w.security.docker_socket),
)


def _held(spec: Homelab, privilege: Privilege, exempt: bool) -> Iterator[tuple[str, Hit]]:
    for name, workload in facts.workloads(spec):
        if privilege.held(workload) and (workload.class_ in EXEMPT) == exempt:
            where = facts.at(spec, name, "security", privilege.key)
            yield name, Hit(where, f"{name} {privilege.grants}", name)


def forbid(privilege: Privilege) -> Check:
    """The check that reports ``privilege`` on every class that is not exempt."""

    def check(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
        for _, hit in _held(spec, privilege, exempt=False):
            yield hit

    check.__doc__ = f"No workload outside {sorted(c.value for c in EXEMPT)} sets {privilege.key}."
    return check


def exemptions(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """Every privilege a ci-runner holds by its exemption, one hit each."""
    for privilege in PRIVILEGES:
        for name, hit in _held(spec, privilege, exempt=True):
            message = f"{hit.message}: allowed because it is a ci-runner (exemption)"
            yield Hit(hit.location, message, name)


def _rule(number: int, privilege: Privilege, rationale: str, example: str, fix: str) -> Rule:
    return Rule(
        id=f"BH-SEC-{number:03d}",
        title=f"No {privilege.key} outside ci-runners",
        severity=Severity.error,
        summary=f"Reports a workload that sets security.{privilege.key} and is not a ci-runner.",
        rationale=rationale,
        example=f"workloads:\n  api:\n    class: service\n    security: {example}",
        fix=fix,
        check=forbid(privilege),
    )


RULES = (
    _rule(
        1,
        PRIVILEGES[0],
        "A privileged container is root on the node: it can load kernel modules, reach every "
        "device and escape its namespace. One compromised service then owns the Pi and every "
        "secret on it.",
        "{privileged: true}",
        "Remove privileged; grant the one capability or device the workload needs instead.",
    ),
    _rule(
        2,
        PRIVILEGES[1],
        "A host-network pod bypasses NetworkPolicy and binds the node's ports directly, so the "
        "separation bulkhead renders does not apply to it.",
        "{hostNetwork: true}",
        "Remove hostNetwork; publish the port through a Service or an ingress.",
    ),
    _rule(
        3,
        PRIVILEGES[2],
        "A host path ties the pod to one node's disk, escapes the volume's backup, and can "
        "expose the node's own files (/etc, /var/lib/rancher) to the container.",
        "{hostPaths: [/var/lib/app]}",
        "Use a volume (volumes: {data: {mount: ..., size: ...}}) with a backup.",
    ),
    _rule(
        4,
        PRIVILEGES[3],
        "The Docker socket is root on the host: anything that can talk to it can start a "
        "privileged container with / mounted.",
        "{dockerSocket: true}",
        "Remove dockerSocket; build images in a ci-runner (or with rootless BuildKit/kaniko).",
    ),
    Rule(
        id="BH-SEC-005",
        title="ci-runner exemptions are visible",
        severity=Severity.info,
        summary=(
            "Reports each privilege (privileged, hostNetwork, hostPaths, dockerSocket) that a "
            "ci-runner holds by the exemption of its class."
        ),
        rationale=(
            "Runners that build images need a Docker daemon or a privileged sandbox; that is "
            "allowed, but it is the most powerful thing in the cluster and should never be "
            "granted silently."
        ),
        example="workloads:\n  act-runner:\n    class: ci-runner\n    security: {privileged: true}",
        fix=(
            "Nothing to do if intended. Prefer rootless builds (BuildKit rootless, kaniko) and "
            "a dedicated node or namespace for runners."
        ),
        check=exemptions,
    ),
)
