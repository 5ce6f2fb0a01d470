"""From inputs to a report: which layers were read, what each rule found, and the verdict.

A layer the spec does not declare is ``absent``; a layer none of whose inputs could be read is
``unknown`` (or ``unreachable``, live); otherwise it is ``problem`` or ``healthy``, and ``seen``
says what was read so that "healthy" always means "read and fine".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bulkhead.doctor import ci, cluster, gpu
from bulkhead.doctor.inputs import Inputs, Unread
from bulkhead.doctor.model import Diagnosis, Layer, LayerReport, Report, Severity, State
from bulkhead.spec.models import DockerEnvironment, GiteaEnvironment, Homelab, K3sEnvironment


def diagnose(spec: Homelab, inputs: Inputs) -> Report:
    """Every layer's report, with its diagnoses."""
    return Report((_cluster(spec, inputs), _gpu(spec, inputs), _ci(spec, inputs)))


def _declares(spec: Homelab, kind: type) -> bool:
    return any(isinstance(env, kind) for env in spec.environments.values())


def _cluster(spec: Homelab, inputs: Inputs) -> LayerReport:
    if not _declares(spec, K3sEnvironment):
        return LayerReport(Layer.cluster, State.absent, "the spec declares no k3s environment")
    nodes, pods, events, drift = inputs.nodes, inputs.pods, inputs.events, inputs.drift
    blind = _blind(Layer.cluster, {"nodes": nodes, "pods": pods})
    if blind:
        return blind
    found: list[Diagnosis] = []
    node_list = _read(nodes)
    pod_list = _read(pods)
    found += cluster.node_diagnoses(node_list, pod_list)
    found += cluster.pod_diagnoses(pod_list, _read(events), spec)
    found += cluster.drift_diagnoses(_read(drift))
    seen = (
        f"{len(node_list)} nodes, {len(pod_list)} pods",
        *_not_read({"nodes": nodes, "pods": pods, "events": events, "drift": drift}),
    )
    return _layer(Layer.cluster, found, seen)


def _gpu(spec: Homelab, inputs: Inputs) -> LayerReport:
    if not _declares(spec, DockerEnvironment):
        return LayerReport(Layer.gpu, State.absent, "the spec declares no docker environment")
    parts: dict[str, Any] = {
        "containers": inputs.containers,
        "readiness": inputs.readiness,
        "metrics": inputs.metrics,
    }
    blind = _blind(Layer.gpu, parts)
    if blind:
        return blind
    found: list[Diagnosis] = []
    seen: list[str] = []
    if not isinstance(inputs.containers, Unread):
        found += gpu.container_diagnoses(inputs.containers)
        seen.append(f"{len(inputs.containers.live)} containers on {inputs.containers.host}")
    if not isinstance(inputs.readiness, Unread):
        found += gpu.readiness_diagnoses(inputs.readiness)
        seen.append(f"gateway /readyz {inputs.readiness.status}")
    if not isinstance(inputs.metrics, Unread):
        found += gpu.metrics_diagnoses(inputs.metrics)
        seen.append(gpu.metrics_summary(inputs.metrics))
    return _layer(Layer.gpu, found, (*seen, *_not_read(parts)))


def _ci(spec: Homelab, inputs: Inputs) -> LayerReport:
    if not _declares(spec, GiteaEnvironment):
        return LayerReport(Layer.ci, State.absent, "the spec declares no gitea environment")
    blind = _blind(Layer.ci, {"runs": inputs.runs})
    if blind:
        return blind
    runs = ci.runs_of(list(_read(inputs.runs)))
    return _layer(Layer.ci, ci.ci_diagnoses(runs, inputs.now), (ci.summary(runs),))


def _read(value: Any) -> Sequence[Any]:
    return [] if isinstance(value, Unread) else value


def _blind(layer: Layer, parts: dict[str, Any]) -> LayerReport | None:
    """The layer's report when none of its inputs was read."""
    unread = [v for v in parts.values() if isinstance(v, Unread)]
    if len(unread) < len(parts):
        return None
    state = (
        State.unreachable if any(u.state is State.unreachable for u in unread) else State.unknown
    )
    reason = "; ".join(dict.fromkeys(u.reason for u in unread))
    return LayerReport(layer, state, reason)


def _not_read(parts: dict[str, Any]) -> list[str]:
    return [f"not read: {name} ({v.reason})" for name, v in parts.items() if isinstance(v, Unread)]


def _layer(layer: Layer, found: list[Diagnosis], seen: Sequence[str]) -> LayerReport:
    problems = [d for d in found if d.rule.severity is not Severity.info]
    state = State.problem if problems else State.healthy
    return LayerReport(layer, state, "", tuple(seen), tuple(sorted(found, key=lambda d: d.order)))
