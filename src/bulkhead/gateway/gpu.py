"""GPU readings through NVML (pynvml), cached, degrading to "no GPU" instead of failing.

``pynvml.NVMLError`` from any call (no driver, no library, no device) means "no GPU": the gateway
exports ``gpu_up 0`` and admits work as if memory were plentiful. Readings are cached for
``poll_interval_s`` so admission checks never wait on the driver.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GpuReading:
    """One device's memory and utilisation."""

    index: int
    name: str
    memory_used_bytes: int
    memory_total_bytes: int
    utilization: float

    @property
    def memory_free_bytes(self) -> int:
        """Memory not in use."""
        return self.memory_total_bytes - self.memory_used_bytes


class GpuMonitor:
    """Cached NVML readings of every device."""

    def __init__(self, poll_interval_s: float) -> None:
        self._interval = poll_interval_s
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._up = False
        self._readings: list[GpuReading] = []
        self._nvml: Any = None
        self._initialised = False

    def read(self) -> tuple[bool, list[GpuReading]]:
        """Whether NVML answers, and the readings (refreshed when stale)."""
        with self._lock:
            now = time.monotonic()
            if now - self._at >= self._interval:
                self._up, self._readings = self._poll()
                self._at = now
            return self._up, list(self._readings)

    def min_free_bytes(self) -> int | None:
        """The least free memory of any device; None when there is no GPU."""
        up, readings = self.read()
        if not up or not readings:
            return None
        return min(r.memory_free_bytes for r in readings)

    def close(self) -> None:
        """Shut NVML down if it was started."""
        with self._lock:
            if self._initialised and self._nvml is not None:
                with contextlib.suppress(self._nvml.NVMLError):
                    self._nvml.nvmlShutdown()
            self._initialised = False

    def _poll(self) -> tuple[bool, list[GpuReading]]:
        import pynvml

        self._nvml = pynvml
        try:
            if not self._initialised:
                pynvml.nvmlInit()
                self._initialised = True
            return True, [_reading(pynvml, i) for i in range(pynvml.nvmlDeviceGetCount())]
        except pynvml.NVMLError:
            return False, []


def _reading(pynvml: Any, index: int) -> GpuReading:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    name = pynvml.nvmlDeviceGetName(handle)
    try:
        utilization = pynvml.nvmlDeviceGetUtilizationRates(handle).gpu / 100.0
    except pynvml.NVMLError:  # some devices (MIG slices) do not report utilisation
        utilization = 0.0
    return GpuReading(
        index=index,
        name=name.decode() if isinstance(name, bytes) else str(name),
        memory_used_bytes=int(memory.used),
        memory_total_bytes=int(memory.total),
        utilization=float(utilization),
    )
