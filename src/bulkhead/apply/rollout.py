"""Waiting for rollouts, and naming the pod and the reason when one fails.

Readiness follows ``kubectl rollout status``: the controller has observed the latest
generation, every replica is updated, and every updated replica is available. A rollout fails
fast when one of its pods is stuck for a reason that will not fix itself (CrashLoopBackOff,
ImagePullBackOff, an unschedulable pod, ...); otherwise it fails at the timeout, naming the pods
that are not ready and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bulkhead.apply.objects import ObjectRef
from bulkhead.errors import ApplyError

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
STUCK_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


class Reader(Protocol):
    """Reading objects: what waiting needs from the cluster adapter (and planning builds on)."""

    def get(self, ref: ObjectRef) -> dict[str, Any] | None: ...

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class RolloutState:
    """Where one workload's rollout stands."""

    ref: ObjectRef
    done: bool
    message: str
    failure: str | None = None


class RolloutFailed(ApplyError):
    """A rollout did not complete: names the workload, the pod and the reason."""

    def __init__(self, states: Sequence[RolloutState]) -> None:
        self.states = tuple(states)
        lines = [f"{s.ref}: {s.failure or s.message}" for s in self.states]
        super().__init__("rollout failed:\n  " + "\n  ".join(lines))


def status_of(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether a workload's rollout is complete, and a progress message (pure)."""
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status") or {}
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return False, "waiting for the controller to observe the new spec"
    if obj["kind"] == "DaemonSet":
        return _daemonset(status)
    wanted = int(spec.get("replicas", 1))
    updated, available = status.get("updatedReplicas", 0), _available(obj["kind"], status)
    if updated < wanted:
        return False, f"{updated}/{wanted} replicas updated"
    if status.get("replicas", 0) > updated:
        return False, f"{status['replicas'] - updated} old replicas terminating"
    if available < wanted:
        return False, f"{available}/{wanted} replicas available"
    return True, f"{available}/{wanted} replicas available"


def _available(kind: str, status: Mapping[str, Any]) -> int:
    key = "readyReplicas" if kind == "StatefulSet" else "availableReplicas"
    return int(status.get(key, 0))


def _daemonset(status: Mapping[str, Any]) -> tuple[bool, str]:
    wanted = int(status.get("desiredNumberScheduled", 0))
    updated = int(status.get("updatedNumberScheduled", 0))
    available = int(status.get("numberAvailable", 0))
    done = updated >= wanted and available >= wanted
    return done, f"{available}/{wanted} pods available, {updated} updated"


def deadline_exceeded(obj: Mapping[str, Any]) -> str | None:
    """The Deployment controller's own verdict, when it gave up (ProgressDeadlineExceeded)."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("status") == "False":
            return f"{condition.get('reason')}: {condition.get('message', '')}".strip()
    return None


def pod_problem(pod: Mapping[str, Any]) -> str | None:
    """Why a pod is stuck, in one line naming it, or None when it is progressing (pure)."""
    name = f"pod {pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
    status = pod.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
            return f"{name} is unschedulable: {cond.get('message', '')}"
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in STUCK_WAITING:
            return f"{name}: container {container['name']}: {_waiting(waiting, container)}"
    return None


def _waiting(waiting: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    reason, message = waiting["reason"], waiting.get("message", "")
    last = (container.get("lastState") or {}).get("terminated") or {}
    if last.get("reason") == "OOMKilled":
        return f"{reason} (last exit: OOMKilled, the memory limit is too low)"
    if "exec format error" in (last.get("message") or "") + message:
        return f"{reason} (exec format error: the image is built for another CPU architecture)"
    return f"{reason}: {message}" if message else reason


def pod_not_ready(pod: Mapping[str, Any]) -> str | None:
    """Why a pod is not ready yet (a softer reading than :func:`pod_problem`), or None."""
    status = pod.get("status") or {}
    name = f"pod {pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            return f"{name}: container {container['name']}: {_waiting_soft(waiting)}"
        if not container.get("ready"):
            return f"{name}: container {container['name']} is not ready"
    phase = status.get("phase", "Pending")
    return None if phase == "Running" else f"{name} is {phase}"


def _waiting_soft(waiting: Mapping[str, Any]) -> str:
    reason, message = waiting.get("reason", "waiting"), waiting.get("message", "")
    return f"{reason}: {message}" if message else str(reason)


def observe(cluster: Reader, ref: ObjectRef, *, final: bool = False) -> RolloutState:
    """One look at a workload and its pods."""
    obj = cluster.get(ref)
    if obj is None:
        return RolloutState(ref, False, "gone", failure="the workload was deleted")
    done, message = status_of(obj)
    if done:
        return RolloutState(ref, True, message)
    pods = _pods(cluster, obj)
    failure = deadline_exceeded(obj) or next(filter(None, map(pod_problem, pods)), None)
    if failure is None and final:
        reasons = [r for r in map(pod_not_ready, pods) if r]
        failure = f"timed out ({message}); " + ("; ".join(reasons) or "no pods were created")
    return RolloutState(ref, False, message, failure)


def _pods(cluster: Reader, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not selector:
        return []
    namespace = obj["metadata"].get("namespace")
    return cluster.list("v1", "Pod", namespace=namespace, labels=selector)


def wait_for_rollouts(
    cluster: Reader,
    refs: Sequence[ObjectRef],
    *,
    timeout: float,
    on_progress: Callable[[RolloutState], None] = lambda state: None,
    poll: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[RolloutState, ...]:
    """Wait until every workload is rolled out; raise :class:`RolloutFailed` naming the pods."""
    deadline, pending = clock() + timeout, [r for r in refs if r.kind in WORKLOAD_KINDS]
    finished: list[RolloutState] = []
    while pending:
        final = clock() >= deadline
        states = [observe(cluster, ref, final=final) for ref in pending]
        for state in states:
            on_progress(state)
        finished += [s for s in states if s.done]
        failed = [s for s in states if s.failure]
        if failed:
            raise RolloutFailed(failed)
        pending = [s.ref for s in states if not s.done]
        if pending:
            sleep(poll)
    return tuple(finished)
