"""Diagnoses of the cluster layer from nodes, pods and events (``kubectl get -o json`` shapes).

Nodes: conditions (NotReady, memory, disk and PID pressure), cordons, and requests against
allocatable. Pods: the scheduler's own message for a Pending pod, OOMKilled (a memory limit
problem), ``exec format error`` (an image for another architecture), image pulls, config
errors, crash loops and restarts — one diagnosis per container, the most telling one. Where a
pod belongs to a workload of the spec, the diagnosis points at the line to change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from bulkhead.doctor.inputs import Drift, Json
from bulkhead.doctor.model import Diagnosis
from bulkhead.doctor.rules import rule
from bulkhead.errors import Location
from bulkhead.spec.models import Homelab
from bulkhead.spec.quantity import Quantity, QuantityError, human_cpu, human_memory

PRESSURE = {
    "MemoryPressure": "DR-CLU-002",
    "DiskPressure": "DR-CLU-003",
    "PIDPressure": "DR-CLU-004",
}
PULL = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
CONFIG = frozenset({"CreateContainerConfigError", "CreateContainerError"})
NEARLY_FULL = 0.9
RESTARTS = 3


# -- nodes ------------------------------------------------------------------------------------


def node_diagnoses(nodes: Sequence[Json], pods: Sequence[Json]) -> list[Diagnosis]:
    """Conditions and headroom of every node."""
    found: list[Diagnosis] = []
    for node in nodes:
        on_it = [p for p in pods if _node_of(p) == node["metadata"]["name"]]
        found += [_with_pods(d, on_it) for d in _conditions(node)]
        if (node.get("spec") or {}).get("unschedulable"):
            name = node["metadata"]["name"]
            found.append(Diagnosis(rule("DR-CLU-006"), f"node/{name}", f"node {name} is cordoned"))
        found += _headroom(node, on_it)
    return found


def _with_pods(diagnosis: Diagnosis, pods: Sequence[Json]) -> Diagnosis:
    """A node's diagnosis with the pods it affects as evidence."""
    if not pods:
        return diagnosis
    names = ", ".join(_name(p) for p in pods[:5]) + (" ..." if len(pods) > 5 else "")
    line = f"{len(pods)} pods on it: {names}"
    return replace(diagnosis, evidence=(*diagnosis.evidence, line))


def _conditions(node: Json) -> Iterator[Diagnosis]:
    name = node["metadata"]["name"]
    for cond in (node.get("status") or {}).get("conditions") or []:
        evidence = _condition_evidence(cond)
        if cond.get("type") == "Ready" and cond.get("status") != "True":
            why = "" if cond.get("status") == "False" else ": its kubelet stopped reporting"
            message = f"node {name} is NotReady{why}"
            yield Diagnosis(rule("DR-CLU-001"), f"node/{name}", message, evidence)
        elif cond.get("type") in PRESSURE and cond.get("status") == "True":
            message = f"node {name} is under {_words(cond['type'])}"
            yield Diagnosis(rule(PRESSURE[cond["type"]]), f"node/{name}", message, evidence)


def _condition_evidence(cond: Json) -> tuple[str, ...]:
    parts = [f"{cond.get('type')}={cond.get('status')}"]
    if cond.get("reason"):
        parts.append(f"reason {cond['reason']}")
    if cond.get("lastHeartbeatTime"):
        parts.append(f"last heartbeat {cond['lastHeartbeatTime']}")
    line = ", ".join(parts) + (f": {cond['message']}" if cond.get("message") else "")
    return (line,)


def _words(condition: str) -> str:
    return {"MemoryPressure": "memory pressure", "DiskPressure": "disk pressure"}.get(
        condition, "PID pressure"
    )


def _headroom(node: Json, pods: Sequence[Json]) -> Iterator[Diagnosis]:
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    name = node["metadata"]["name"]
    for resource, show in (("memory", human_memory), ("cpu", human_cpu)):
        total = _quantity(allocatable.get(resource), resource)
        if not total:
            continue
        requested = sum(_requests(p, resource) for p in pods)
        if requested >= NEARLY_FULL * total:
            line = f"{resource}: {show(requested)} requested of {show(total)} allocatable"
            message = f"node {name} has {requested / total:.0%} of its {resource} requested"
            yield Diagnosis(rule("DR-CLU-005"), f"node/{name}", message, (line,))


def _requests(pod: Json, resource: str) -> int:
    """The pod's effective request: max(sum of containers, largest init container)."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    spec = pod.get("spec") or {}
    main = sum(_container_request(c, resource) for c in spec.get("containers") or [])
    init = [_container_request(c, resource) for c in spec.get("initContainers") or []]
    return max([main, *init])


def _container_request(container: Json, resource: str) -> int:
    requests = (container.get("resources") or {}).get("requests") or {}
    return _quantity(requests.get(resource), resource)


def _quantity(raw: Any, resource: str) -> int:
    """CPU in millicores, memory in bytes; 0 when absent or unreadable."""
    if raw is None:
        return 0
    try:
        quantity = Quantity.parse(raw)
    except QuantityError:
        return 0
    return quantity.millis if resource == "cpu" else quantity.units


def _node_of(pod: Json) -> str | None:
    return (pod.get("spec") or {}).get("nodeName")


# -- pods -------------------------------------------------------------------------------------


def pod_diagnoses(pods: Sequence[Json], events: Sequence[Json], spec: Homelab) -> list[Diagnosis]:
    """The most telling diagnosis of every troubled pod (one per container)."""
    messages = _event_messages(events)
    found: list[Diagnosis] = []
    for pod in pods:
        if (pod.get("status") or {}).get("phase") == "Succeeded":
            continue
        pending = _pending(pod, spec)
        found += [pending] if pending else _containers(pod, messages, spec)
    return found


def _event_messages(events: Sequence[Json]) -> dict[tuple[str, str], list[str]]:
    """Event messages by the pod they are about (namespace, name)."""
    found: dict[tuple[str, str], list[str]] = {}
    for event in events:
        obj = event.get("involvedObject") or event.get("regarding") or {}
        if obj.get("kind") == "Pod":
            key = (obj.get("namespace", ""), obj.get("name", ""))
            found.setdefault(key, []).append(str(event.get("message") or event.get("note") or ""))
    return found


def _pending(pod: Json, spec: Homelab) -> Diagnosis | None:
    status = pod.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
            scheduler = str(cond.get("message", "")).strip()
            message = f"pod {_name(pod)} is Pending: {scheduler}"
            evidence = (f"scheduler: {scheduler}",)
            key = ("resources", "memory") if "memory" in scheduler else ("resources",)
            where = _locate(pod, spec, key)
            return Diagnosis(
                rule("DR-CLU-010"), f"pod/{_name(pod)}", message, evidence, None, where
            )
    return None


def _containers(
    pod: Json, messages: Mapping[tuple[str, str], list[str]], spec: Homelab
) -> list[Diagnosis]:
    status = pod.get("status") or {}
    meta = pod["metadata"]
    events = messages.get((meta.get("namespace", ""), meta["name"]), [])
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    return [d for c in statuses if (d := _container(pod, c, events, spec))]


def _container(
    pod: Json, container: Json, events: Sequence[str], spec: Homelab
) -> Diagnosis | None:
    waiting = (container.get("state") or {}).get("waiting") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    now = (container.get("state") or {}).get("terminated") or {}
    texts = [str(waiting.get("message", "")), str(last.get("message", "")), *events]
    for check in (_oom, _exec_format, _pull, _config, _crash, _restarts):
        found = check(pod, container, waiting, last or now, texts, spec)
        if found:
            return found
    return None


def _oom(
    pod: Json, c: Json, waiting: Json, last: Json, texts: list[str], spec: Homelab
) -> Diagnosis | None:
    if last.get("reason") != "OOMKilled":
        return None
    limit = _limit(pod, c["name"])
    state = waiting.get("reason") or "restarting"
    message = (
        f"pod {_name(pod)}: container {c['name']} is OOMKilled ({state}): its memory limit"
        f"{f' ({limit})' if limit else ''} is too low"
    )
    evidence = (
        f"last exit: OOMKilled, exit code {last.get('exitCode', 137)}",
        f"restarts: {c.get('restartCount', 0)}",
    )
    where = _locate(pod, spec, ("limits", "memory"), ("resources", "memory"))
    return Diagnosis(rule("DR-CLU-011"), f"pod/{_name(pod)}", message, evidence, None, where)


def _exec_format(
    pod: Json, c: Json, waiting: Json, last: Json, texts: list[str], spec: Homelab
) -> Diagnosis | None:
    proof = next((t for t in texts if "exec format error" in t), None)
    if proof is None:
        return None
    arch = (pod.get("spec") or {}).get("nodeSelector", {}).get("kubernetes.io/arch")
    node = _node_of(pod)
    on = f" on node {node}" if node else ""
    message = (
        f"pod {_name(pod)}: container {c['name']} fails with exec format error{on}: image "
        f"{c.get('image', '?')} is not built for the node's architecture"
        f"{f' ({arch})' if arch else ''}"
    )
    where = _locate(pod, spec, ("platforms",), ("image",))
    return Diagnosis(
        rule("DR-CLU-012"), f"pod/{_name(pod)}", message, (proof.strip(),), None, where
    )


def _pull(
    pod: Json, c: Json, waiting: Json, last: Json, texts: list[str], spec: Homelab
) -> Diagnosis | None:
    if waiting.get("reason") not in PULL:
        return None
    message = (
        f"pod {_name(pod)}: image {c.get('image', '?')} cannot be pulled ({waiting['reason']})"
    )
    evidence = tuple(t for t in texts[:1] if t) or (waiting["reason"],)
    where = _locate(pod, spec, ("image",))
    return Diagnosis(rule("DR-CLU-013"), f"pod/{_name(pod)}", message, evidence, None, where)


def _config(
    pod: Json, c: Json, waiting: Json, last: Json, texts: list[str], spec: Homelab
) -> Diagnosis | None:
    if waiting.get("reason") not in CONFIG:
        return None
    detail = waiting.get("message", "")
    message = f"pod {_name(pod)}: container {c['name']} cannot be created: {detail}".rstrip(": ")
    return Diagnosis(rule("DR-CLU-016"), f"pod/{_name(pod)}", message, (waiting["reason"],))


def _crash(
    pod: Json, c: Json, waiting: Json, last: Json, texts: list[str], spec: Homelab
) -> Diagnosis | None:
    if waiting.get("reason") != "CrashLoopBackOff":
        return None
    code, reason = last.get("exitCode", "?"), last.get("reason", "Error")
    message = f"pod {_name(pod)}: container {c['name']} is in CrashLoopBackOff (exit {code})"
    evidence = (f"last exit: {reason}, exit code {code}", f"restarts: {c.get('restartCount', 0)}")
    return Diagnosis(rule("DR-CLU-014"), f"pod/{_name(pod)}", message, evidence)


def _restarts(
    pod: Json, c: Json, waiting: Json, last: Json, texts: list[str], spec: Homelab
) -> Diagnosis | None:
    count = int(c.get("restartCount") or 0)
    if count < RESTARTS:
        return None
    message = f"pod {_name(pod)}: container {c['name']} restarted {count} times"
    evidence = (f"last exit: {last.get('reason', '?')}, exit code {last.get('exitCode', '?')}",)
    return Diagnosis(rule("DR-CLU-015"), f"pod/{_name(pod)}", message, evidence)


def _limit(pod: Json, container: str) -> str | None:
    for spec in (pod.get("spec") or {}).get("containers") or []:
        if spec.get("name") == container:
            return ((spec.get("resources") or {}).get("limits") or {}).get("memory")
    return None


def _name(pod: Json) -> str:
    return f"{pod['metadata'].get('namespace', 'default')}/{pod['metadata']['name']}"


def _locate(pod: Json, spec: Homelab, *keys: tuple[str, ...]) -> Location | None:
    """The spec line to change: the first of ``keys`` the pod's workload sets, else the last."""
    labels = pod["metadata"].get("labels") or {}
    name = labels.get("app.kubernetes.io/name")
    workload = spec.workloads.get(name) if name else None
    if workload is None:
        return None
    dumped = workload.model_dump(by_alias=True, exclude_defaults=True)
    chosen = next((k for k in keys if _has(dumped, k)), keys[-1])
    return spec.locate("workloads", str(name), *chosen)


def _has(data: Mapping[str, Any], key: tuple[str, ...]) -> bool:
    for part in key:
        if not isinstance(data, Mapping) or part not in data:
            return False
        data = data[part]
    return True


# -- drift ------------------------------------------------------------------------------------


def drift_diagnoses(drift: Sequence[Drift]) -> list[Diagnosis]:
    """One warning per owned object that differs from the render."""
    return [
        Diagnosis(
            rule("DR-CLU-020"),
            item.subject,
            f"{item.subject} {item.change} (drift from the render)",
            (item.detail,) if item.detail else (),
        )
        for item in drift
    ]
