"""The job worker and the sweeper: claim, embed chunk by chunk, heartbeat, resume after a crash.

The worker runs in ``serve`` (sharing the online batcher, at the job's priority) or alone as
``bulkhead gateway worker``. It holds a lease on one job at a time, renews it from a separate
task, and commits each chunk with :meth:`JobStore.save_chunk`, which refuses a chunk it does not
expect; losing the lease stops the work. The sweeper re-queues jobs whose worker died.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Collection

from bulkhead.gateway.batching import QueueFull
from bulkhead.gateway.embedder import Embedded
from bulkhead.gateway.jobs.store import Claim, JobStore
from bulkhead.gateway.settings import JobSettings

log = logging.getLogger("bulkhead.gateway.jobs")

EmbedFn = Callable[[str, list[str], str], Awaitable[Embedded]]  # model, texts, priority


class LeaseLost(Exception):
    """Another worker (or the sweeper) took the job."""


def worker_id() -> str:
    """A name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobWorker:
    """Processes jobs from a store, one at a time."""

    def __init__(
        self,
        store: JobStore,
        embed: EmbedFn,
        models: Collection[str],
        settings: JobSettings,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.name = name or worker_id()
        self._embed = embed
        self._models = list(models)
        self._settings = settings

    async def run_forever(self) -> None:
        """Claim and process jobs until cancelled."""
        while True:
            if not await self.run_once():
                await asyncio.sleep(self._settings.poll_interval_s)

    async def run_once(self) -> bool:
        """Claim one job and process it; False when there was none."""
        claim = await asyncio.to_thread(
            self.store.claim, self.name, self._settings.lease_s, self._models
        )
        if claim is None:
            return False
        await self._process(claim)
        return True

    async def _process(self, claim: Claim) -> None:
        job = claim.job
        beat = asyncio.create_task(self._heartbeat(job.id))
        work = asyncio.create_task(self._chunks(claim))
        done, _ = await asyncio.wait((beat, work), return_when=asyncio.FIRST_COMPLETED)
        for task in (beat, work):
            task.cancel()
        await asyncio.gather(beat, work, return_exceptions=True)
        outcome = work.exception() if work in done and not work.cancelled() else LeaseLost()
        if outcome is None:
            await asyncio.to_thread(self.store.finish, job.id, self.name)
        elif not isinstance(outcome, LeaseLost):
            log.warning("job %s failed on %s: %s", job.id, self.name, outcome)
            await asyncio.to_thread(self.store.release, job.id, self.name, str(outcome))

    async def _heartbeat(self, job_id: str) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_s)
            held = await asyncio.to_thread(
                self.store.heartbeat, job_id, self.name, self._settings.lease_s
            )
            if not held:
                raise LeaseLost(job_id)

    async def _chunks(self, claim: Claim) -> None:
        job = claim.job
        step = self._settings.chunk_inputs
        for start in range(job.completed, job.total, step):
            texts = await asyncio.to_thread(self.store.inputs, job.id, start, step)
            result = await self._embed_retrying(job.model, texts, job.priority)
            saved = await asyncio.to_thread(
                self.store.save_chunk,
                job.id,
                self.name,
                start,
                result.vectors,
                int(result.token_counts.sum()),
                self._settings.lease_s,
            )
            if not saved:
                raise LeaseLost(job.id)

    async def _embed_retrying(self, model: str, texts: list[str], priority: str) -> Embedded:
        while True:
            try:
                return await self._embed(model, texts, priority)
            except QueueFull as full:  # online traffic first; come back when there is room
                await asyncio.sleep(min(full.retry_after_s, self._settings.poll_interval_s))


async def sweep_forever(store: JobStore, settings: JobSettings) -> None:
    """Re-queue jobs whose lease expired, every ``sweep_interval_s``, until cancelled."""
    while True:
        touched = await asyncio.to_thread(store.requeue_expired)
        if touched:
            log.warning("sweeper re-queued or failed %d job(s) with an expired lease", touched)
        await asyncio.sleep(settings.sweep_interval_s)
