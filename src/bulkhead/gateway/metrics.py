"""Prometheus metrics of one gateway: one registry per app, labelled by service, never by token.

Queue time (waiting for a batch) and inference time (the model call) are separate histograms,
so a slow GPU and a deep queue look different. Jobs by state and GPU readings are collected at
scrape time from their sources rather than mirrored into gauges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bulkhead.gateway.gpu import GpuReading

PREFIX = "bulkhead_gateway"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class _ScrapeCollector(Collector):
    """Jobs by state and GPU readings, read from their sources at scrape time."""

    def __init__(
        self,
        jobs: Callable[[], Mapping[str, int]],
        gpus: Callable[[], tuple[bool, list[GpuReading]]],
    ) -> None:
        self._jobs = jobs
        self._gpus = gpus

    def collect(self) -> Iterable[GaugeMetricFamily]:
        jobs = GaugeMetricFamily(f"{PREFIX}_jobs", "Batch jobs by state.", labels=["state"])
        for state, count in sorted(self._jobs().items()):
            jobs.add_metric([state], count)
        yield jobs
        up, readings = self._gpus()
        yield GaugeMetricFamily(f"{PREFIX}_gpu_up", "1 when NVML answers, else 0.", value=up)
        yield from _gpu_families(readings)


def _gpu_families(readings: list[GpuReading]) -> Iterable[GaugeMetricFamily]:
    used = GaugeMetricFamily(
        f"{PREFIX}_gpu_memory_used_bytes", "GPU memory in use.", labels=["gpu", "name"]
    )
    total = GaugeMetricFamily(
        f"{PREFIX}_gpu_memory_total_bytes", "GPU memory installed.", labels=["gpu", "name"]
    )
    util = GaugeMetricFamily(
        f"{PREFIX}_gpu_utilization_ratio", "GPU busy fraction (0-1).", labels=["gpu", "name"]
    )
    for r in readings:
        labels = [str(r.index), r.name]
        used.add_metric(labels, r.memory_used_bytes)
        total.add_metric(labels, r.memory_total_bytes)
        util.add_metric(labels, r.utilization)
    return (used, total, util)


class Metrics:
    """Every metric the gateway exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            f"{PREFIX}_requests", "HTTP requests.", ["service", "route", "code"], registry=r
        )
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self.tokens = Counter(
            f"{PREFIX}_tokens", "Model tokens.", ["service", "model", "kind"], registry=r
        )
        self.queue_depth = Gauge(
            f"{PREFIX}_queue_depth_inputs", "Inputs waiting, by class.", ["priority"], registry=r
        )
        self.queue_seconds = Histogram(
            f"{PREFIX}_queue_seconds",
            "Time from admission to the start of the model call.",
            ["priority"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            f"{PREFIX}_inference_seconds",
            "Duration of one model call.",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_inputs = Histogram(
            f"{PREFIX}_batch_inputs",
            "Inputs per model call.",
            ["model"],
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.rejections = Counter(
            f"{PREFIX}_admission_rejections",
            "Requests refused by admission.",
            ["reason", "priority"],
            registry=r,
        )
        self.dropped = Counter(
            f"{PREFIX}_dropped_inputs",
            "Queued inputs dropped because their caller went away.",
            ["priority"],
            registry=r,
        )
        self.upstream_disconnects = Counter(
            f"{PREFIX}_upstream_cancelled",
            "Upstream requests cancelled because the client disconnected.",
            ["model"],
            registry=r,
        )

    def count_request(self, service: str, route: str, code: int) -> None:
        """Count one HTTP request; label children are cached (``labels()`` is the slow part)."""
        key = (service, route, code)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(service, route, str(code))
        child.inc()

    def attach(
        self,
        jobs: Callable[[], Mapping[str, int]],
        gpus: Callable[[], tuple[bool, list[GpuReading]]],
    ) -> None:
        """Register the scrape-time collectors."""
        self.registry.register(_ScrapeCollector(jobs, gpus))

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
