"""Diagnoses of the GPU machine: its containers, the gateway's ``/readyz`` and ``/metrics``.

Metric names are the gateway's own (:mod:`bulkhead.gateway.metrics`, prefix
``bulkhead_gateway``): queue depth by priority class, admission rejections by reason, GPU
memory and NVML availability. With two scrapes or more, a queue that grows at every scrape is
a backlog; one scrape only shows where the queue stands.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bulkhead.doctor import prometheus as prom
from bulkhead.doctor.inputs import Containers, ContainerView, Readiness
from bulkhead.doctor.model import Diagnosis
from bulkhead.doctor.rules import rule

PREFIX = "bulkhead_gateway"
QUEUE = f"{PREFIX}_queue_depth_inputs"
REJECTIONS = f"{PREFIX}_admission_rejections_total"
GPU_UP = f"{PREFIX}_gpu_up"
GPU_USED = f"{PREFIX}_gpu_memory_used_bytes"
GPU_TOTAL = f"{PREFIX}_gpu_memory_total_bytes"
GPU_FULL = 0.95


def container_diagnoses(containers: Containers) -> list[Diagnosis]:
    """Declared services without a container, containers stopped, containers unhealthy."""
    found = [d for c in containers.live if (d := _container(c))]
    running = {c.service for c in containers.live}
    for service in containers.expected:
        if service not in running:
            message = f"service {service} has no container on {containers.host}"
            found.append(Diagnosis(rule("DR-GPU-003"), f"service/{service}", message))
    return found


def _container(view: ContainerView) -> Diagnosis | None:
    if view.status != "running":
        oom = ": OOMKilled, its memory limit is too low" if view.oom_killed else ""
        message = f"container {view.name} is {view.status} (exit {view.exit_code}){oom}"
        return Diagnosis(rule("DR-GPU-001"), f"container/{view.name}", message)
    if view.health == "unhealthy":
        evidence = (f"health check: {view.health_output}",) if view.health_output else ()
        message = f"container {view.name} is unhealthy"
        return Diagnosis(rule("DR-GPU-002"), f"container/{view.name}", message, evidence)
    return None


def readiness_diagnoses(ready: Readiness) -> list[Diagnosis]:
    """A silent gateway (status 0: no answer), or an unready one naming the checks that fail."""
    if ready.status == 200:
        return []
    if ready.status == 0:
        message = f"gateway does not answer /readyz at {ready.url}: {ready.body}"
        return [Diagnosis(rule("DR-GPU-010"), "gateway", message)]
    checks = (ready.body or {}).get("checks") if isinstance(ready.body, dict) else None
    failing = [
        f"{name}: {check.get('detail', 'failing')}"
        for name, check in sorted((checks or {}).items())
        if isinstance(check, dict) and not check.get("ok")
    ]
    reason = f"; failing: {', '.join(failing)}" if failing else ""
    message = f"gateway is up but not ready (/readyz answers {ready.status}){reason}"
    evidence = tuple(failing) or (f"/readyz {ready.status}: {ready.body}",)
    return [Diagnosis(rule("DR-GPU-011"), "gateway", message, evidence)]


def metrics_diagnoses(texts: Sequence[str]) -> list[Diagnosis]:
    """Queue growth, rejections, GPU memory and visibility, from one or more scrapes."""
    scrapes = [s for text in texts for s in prom.parse(text)]
    if not scrapes:
        return []
    return [*_queue(scrapes), *_rejections(scrapes), *_gpu(scrapes[-1])]


def metrics_summary(texts: Sequence[str]) -> str:
    """What the metrics showed, for a healthy layer's line."""
    scrapes = [s for text in texts for s in prom.parse(text)]
    if not scrapes:
        return "metrics: no samples"
    depth = prom.by_label(prom.series(scrapes[-1], QUEUE), "priority")
    queued = ", ".join(f"{k} {v:g}" for k, v in sorted(depth.items())) or "empty"
    return f"queue: {queued} ({len(scrapes)} scrape{'s' if len(scrapes) > 1 else ''})"


def _queue(scrapes: Sequence[prom.Scrape]) -> list[Diagnosis]:
    """One diagnosis naming every priority class whose queue grew at every scrape."""
    depths = [prom.by_label(prom.series(s, QUEUE), "priority") for s in scrapes]
    trends = {}
    for priority in sorted(depths[-1], key=lambda p: (p != "production", p)):
        values = [d.get(priority, 0.0) for d in depths]
        if len(values) > 1 and all(b > a for a, b in itertools.pairwise(values)):
            trends[priority] = " → ".join(f"{v:g}" for v in values)
    if not trends:
        return []
    growing = ", ".join(f"{p} {t}" for p, t in trends.items())
    message = f"gateway queue is growing at every scrape ({growing} inputs)"
    evidence = tuple(f"{p}: {t} inputs waiting" for p, t in trends.items())
    return [Diagnosis(rule("DR-GPU-012"), "queue", message, evidence)]


def _rejections(scrapes: Sequence[prom.Scrape]) -> list[Diagnosis]:
    last = prom.by_label(prom.series(scrapes[-1], REJECTIONS), "reason")
    first = prom.by_label(prom.series(scrapes[0], REJECTIONS), "reason")
    window = len(scrapes) > 1
    rejected = {r: v - (first.get(r, 0.0) if window else 0.0) for r, v in last.items()}
    rejected = {r: v for r, v in rejected.items() if v > 0}
    if not rejected:
        return []
    when = "between scrapes" if window else "since the gateway started"
    detail = ", ".join(f"{r} {v:g}" for r, v in sorted(rejected.items()))
    message = f"gateway rejected {sum(rejected.values()):g} requests {when} ({detail})"
    return [Diagnosis(rule("DR-GPU-013"), "admission", message, (detail,))]


def _gpu(scrape: prom.Scrape) -> list[Diagnosis]:
    found = []
    up = prom.series(scrape, GPU_UP)
    if up and max(up.values()) == 0:
        found.append(Diagnosis(rule("DR-GPU-015"), "gpu", "the gateway sees no GPU (gpu_up 0)"))
    used, total = prom.series(scrape, GPU_USED), prom.series(scrape, GPU_TOTAL)
    for labels, size in sorted(total.items()):
        share = used.get(labels, 0.0) / size if size else 0.0
        if share >= GPU_FULL:
            gpu = dict(labels)
            name = f"GPU {gpu.get('gpu', '?')} ({gpu.get('name', '')})".replace(" ()", "")
            message = f"{name} memory is {share:.0%} used"
            evidence = (f"{used.get(labels, 0.0) / 2**30:.1f} GiB of {size / 2**30:.1f} GiB",)
            found.append(Diagnosis(rule("DR-GPU-014"), f"gpu/{gpu.get('gpu')}", message, evidence))
    return found
