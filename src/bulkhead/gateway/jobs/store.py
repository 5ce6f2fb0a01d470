"""The job store interface: what the API, the worker and the sweeper need from a queue.

Anything that implements :class:`JobStore` can hold jobs: the SQLite one here serves one GPU
machine; a broker (Postgres with ``SELECT ... FOR UPDATE SKIP LOCKED``, or Redis through SAQ)
can replace it when several GPU machines share the work. The contract that makes a crash resume
rather than restart, and every input land exactly once:

- ``claim`` hands a queued job to one worker under a lease (``lease_s`` seconds) and counts an
  attempt; ``heartbeat`` renews the lease while the worker lives.
- ``save_chunk`` commits a chunk of results **and** advances the job's progress in one
  transaction, only for the lease holder and only at the current progress offset, so a chunk
  can never be stored twice nor out of order.
- ``requeue_expired`` (the sweeper) gives back jobs whose lease ran out, or fails them once
  their attempts are spent; the next claim resumes at the committed progress.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED)


@dataclass(frozen=True)
class JobRecord:
    """A job's state as stored."""

    id: str
    service: str
    model: str
    priority: str
    state: str
    total: int
    completed: int
    tokens: int
    attempts: int
    max_attempts: int
    error: str | None
    created_at: float
    updated_at: float
    finished_at: float | None


@dataclass(frozen=True)
class Claim:
    """A job handed to one worker: resume at ``job.completed``."""

    job: JobRecord
    worker_id: str


class JobStore(Protocol):
    """Durable jobs: creation, leases, chunked results, progress."""

    def create(
        self, *, service: str, model: str, priority: str, inputs: Sequence[str], max_attempts: int
    ) -> JobRecord:
        """Store a new queued job and its inputs."""
        ...

    def get(self, job_id: str) -> JobRecord | None:
        """One job, or None."""
        ...

    def claim(self, worker_id: str, lease_s: float, models: Collection[str]) -> Claim | None:
        """Take the oldest queued job for one of ``models`` under a lease."""
        ...

    def heartbeat(self, job_id: str, worker_id: str, lease_s: float) -> bool:
        """Renew a lease; False when the worker no longer holds it."""
        ...

    def inputs(self, job_id: str, start: int, count: int) -> list[str]:
        """Inputs ``start`` to ``start + count`` of a job."""
        ...

    def save_chunk(
        self,
        job_id: str,
        worker_id: str,
        start: int,
        vectors: npt.NDArray[np.float32],
        tokens: int,
        lease_s: float,
    ) -> bool:
        """Commit results for inputs ``start..`` and advance progress; False if not allowed."""
        ...

    def finish(self, job_id: str, worker_id: str) -> bool:
        """Mark a fully embedded job succeeded."""
        ...

    def release(self, job_id: str, worker_id: str, error: str) -> None:
        """Give a job back after an error: queued again, or failed once attempts are spent."""
        ...

    def requeue_expired(self) -> int:
        """Re-queue (or fail) running jobs whose lease expired; how many were touched."""
        ...

    def results(
        self, job_id: str, offset: int, limit: int
    ) -> list[tuple[int, npt.NDArray[np.float32]]]:
        """Stored vectors with their input index, from ``offset``, at most ``limit``."""
        ...

    def counts(self) -> dict[str, int]:
        """Jobs per state (every state present, zero included)."""
        ...

    def probe_write(self) -> None:
        """Prove the store accepts a write now (readiness); raise if it does not."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
