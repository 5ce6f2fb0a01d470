"""Dynamic batching with admission: per-class bounded queues feeding one model, off the loop.

``Batcher.submit`` is synchronous and cheap: it splits a request into parts that each fit one
model call, refuses at once (:class:`QueueFull`) when the caller's class queue is full, and
otherwise enqueues and returns a future. One asyncio task forms batches: when the model is idle
it may wait a few milliseconds for company (:func:`worth_waiting`), asks :func:`plan_batch` how
many parts each class gets (guaranteed shares first, then what is idle by class order), drops
parts whose caller has gone, and runs the model in a single worker thread so the event loop
keeps serving HTTP while the model computes.

Whether to wait is decided from what the model costs, not from a fixed timer. Each call costs
about ``fixed + per_input * inputs`` (:class:`CallCost`, fitted on recent calls). When the model
frees up, the callers it just answered are likely to send again (closed-loop clients); the
batcher waits for them, at most ``max_wait_ms``, only if serving them together pays even when
they take that long (:func:`worth_waiting`). On a GPU, or on a CPU with short inputs, a call's
fixed cost dominates and returning callers are gathered into one call; a lone caller never
waits, since nobody else is coming.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bulkhead.gateway.embedder import Embedded, Embedder
from bulkhead.gateway.settings import BatchingSettings, PriorityClass


class QueueFull(Exception):
    """The caller's class queue cannot take this request now."""

    def __init__(self, priority: str, retry_after_s: float) -> None:
        super().__init__(f"the {priority} queue is full")
        self.priority = priority
        self.retry_after_s = retry_after_s


@dataclass(eq=False)
class Part:
    """A slice of one request that fits a single model call."""

    texts: list[str]
    cost: int
    future: asyncio.Future[Embedded]
    enqueued_at: float
    request_inputs: int = 0  # on a request's last part: the whole request's inputs, else 0


@dataclass
class ClassQueue:
    """One admission class's bounded FIFO."""

    name: str
    capacity: int
    share: float
    parts: deque[Part] = field(default_factory=deque)
    inputs: int = 0
    tokens: int = 0

    def push(self, part: Part) -> None:
        """Append a part at the tail."""
        self.parts.append(part)
        self.inputs += len(part.texts)
        self.tokens += part.cost

    def pop(self) -> Part:
        """Remove the head part."""
        part = self.parts.popleft()
        self.inputs -= len(part.texts)
        self.tokens -= part.cost
        return part


@dataclass(frozen=True)
class HeadView:
    """What :func:`plan_batch` sees of a class: its share and the costs at its head."""

    share: float
    costs: Sequence[tuple[int, int]]  # (estimated tokens, inputs) per part, oldest first


def plan_batch(classes: Sequence[HeadView], max_tokens: int, max_inputs: int) -> list[int]:
    """How many head parts to take from each class for the next model call.

    Each class with work first gets up to its guaranteed share of the token budget; what is
    left goes to the classes in order. A class with share 0 therefore only borrows capacity
    that the classes before it leave idle. At least one part is taken when any is waiting.
    """
    taken = [0] * len(classes)
    budget = [max_tokens, max_inputs]
    for i, view in enumerate(classes):
        _fill(view, i, taken, budget, cap=view.share * max_tokens)
    for i, view in enumerate(classes):
        _fill(view, i, taken, budget, cap=float(max_tokens))
    if not any(taken):
        first = next((i for i, view in enumerate(classes) if view.costs), None)
        if first is not None:
            taken[first] = 1
    return taken


def _fill(view: HeadView, i: int, taken: list[int], budget: list[int], cap: float) -> None:
    spent = sum(cost for cost, _ in view.costs[: taken[i]])
    while taken[i] < len(view.costs):
        cost, inputs = view.costs[taken[i]]
        if spent + cost > cap or cost > budget[0] or inputs > budget[1]:
            return
        spent += cost
        budget[0] -= cost
        budget[1] -= inputs
        taken[i] += 1


def worth_waiting(queued: int, coming: float, cost: CallCost, max_wait_s: float) -> bool:
    """Whether an idle model serves more inputs per second by waiting up to ``max_wait_s`` for
    ``coming`` more inputs than by serving the ``queued`` ones now:
    ``(q + m) / (w + a + b*(q + m)) > q / (a + b*q)``, with the worst-case wait ``w``."""
    if coming <= 0 or queued <= 0:
        return False
    a, b = cost.fixed_s, cost.per_input_s
    later = (queued + coming) * (a + b * queued)
    return later > queued * (max_wait_s + a + b * (queued + coming))


@dataclass
class CallCost:
    """A model call's seconds as ``fixed + per_input * inputs``, fitted on recent calls."""

    samples: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=64))
    fixed_s: float = 0.0
    per_input_s: float = 0.0

    def observe(self, inputs: int, seconds: float) -> None:
        """Record one call and refit (least squares) while the recent calls' sizes differ at
        least twofold; calls of nearly one size cannot tell fixed from per-input cost, so the
        last fit stands."""
        self.samples.append((inputs, seconds))
        sizes = [x for x, _ in self.samples]
        if len(sizes) < 4 or max(sizes) < 2 * min(sizes):
            return
        n = len(self.samples)
        mean_x = sum(sizes) / n
        mean_y = sum(y for _, y in self.samples) / n
        var_x = sum((x - mean_x) ** 2 for x in sizes)
        cov = sum((x - mean_x) * (y - mean_y) for x, y in self.samples)
        self.per_input_s = max(0.0, cov / var_x)
        fastest = min(y for _, y in self.samples)
        self.fixed_s = min(max(0.0, mean_y - self.per_input_s * mean_x), fastest)


@dataclass
class BatchStats:
    """Callbacks the batcher reports through (metrics), all optional."""

    on_batch: Callable[[str, int, float], None] | None = None  # model, inputs, seconds
    on_queued: Callable[[str, float], None] | None = None  # class, seconds waited
    on_dropped: Callable[[str, int], None] | None = None  # class, inputs dropped


class Batcher:
    """Coalesces embedding requests for one model into batched model calls."""

    def __init__(
        self,
        embedder: Embedder,
        settings: BatchingSettings,
        priorities: dict[str, PriorityClass],
        stats: BatchStats | None = None,
    ) -> None:
        self.embedder = embedder
        self._settings = settings
        self._queues = {
            name: ClassQueue(name, cls.queue_inputs, cls.guaranteed_share)
            for name, cls in priorities.items()
        }
        self._stats = stats or BatchStats()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"model-{embedder.name}")
        self._task: asyncio.Task[None] | None = None
        self._busy_since: float | None = None
        self.cost = CallCost()
        self._answered = (0, 0)  # requests the last call completed, and their inputs
        self._resent = 0  # requests submitted since then
        self._answered_at = 0.0

    def start(self) -> None:
        """Start the batching task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        """Stop forming batches and fail whatever is still queued."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for queue in self._queues.values():
            while queue.parts:
                part = queue.pop()
                if not part.future.done():
                    part.future.cancel()
        self._executor.shutdown(wait=True)

    def depth(self, priority: str) -> int:
        """Inputs waiting in one class's queue."""
        return self._queues[priority].inputs

    def split(self, texts: list[str]) -> list[tuple[list[str], int]]:
        """Cut a request into parts that each fit one model call: (texts, estimated tokens)."""
        limit_tokens = self._settings.max_batch_tokens
        limit_inputs = self._settings.max_batch_inputs
        parts: list[tuple[list[str], int]] = []
        current: list[str] = []
        cost = 0
        for text in texts:
            est = self.embedder.estimate_tokens(text)
            if current and (cost + est > limit_tokens or len(current) >= limit_inputs):
                parts.append((current, cost))
                current, cost = [], 0
            current.append(text)
            cost += est
        if current:
            parts.append((current, cost))
        return parts

    def submit(self, texts: list[str], priority: str) -> list[asyncio.Future[Embedded]]:
        """Enqueue ``texts`` under ``priority``; raises :class:`QueueFull` without waiting."""
        queue = self._queues[priority]
        if queue.inputs + len(texts) > queue.capacity:
            raise QueueFull(priority, self._retry_after())
        loop = asyncio.get_running_loop()
        now = time.perf_counter()
        futures: list[asyncio.Future[Embedded]] = []
        parts = self.split(texts)
        for i, (chunk, cost) in enumerate(parts, start=1):
            future: asyncio.Future[Embedded] = loop.create_future()
            whole = len(texts) if i == len(parts) else 0
            queue.push(Part(chunk, cost, future, now, whole))
            futures.append(future)
        self._resent += 1
        self._wakeup.set()
        return futures

    async def embed(self, texts: list[str], priority: str) -> Embedded:
        """Submit and wait; the parts' results joined in order."""
        results = await asyncio.gather(*self.submit(texts, priority))
        if len(results) == 1:
            return results[0]
        return Embedded(
            np.concatenate([r.vectors for r in results]),
            np.concatenate([r.token_counts for r in results]),
        )

    def _retry_after(self) -> float:
        busy = time.perf_counter() - self._busy_since if self._busy_since is not None else 0.0
        return max(1.0, busy)

    async def _run(self) -> None:
        while True:
            if not any(queue.parts for queue in self._queues.values()):
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._coalesce()
            batch = self._take()
            if batch:
                await self._execute(batch)

    async def _coalesce(self) -> None:
        """Wait for company while :func:`worth_waiting` says so, at most max_wait_ms."""
        deadline = time.perf_counter() + self._settings.max_wait_ms / 1000
        while (remaining := deadline - time.perf_counter()) > 0 and self._should_wait(remaining):
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return

    def _should_wait(self, remaining_s: float) -> bool:
        """Whether the callers of the last call are worth waiting for, a wait of at most
        ``remaining_s`` or, once some have come back, as long as the rest should take at the
        pace they came back so far."""
        queues = self._queues.values()
        inputs = sum(queue.inputs for queue in queues)
        if inputs >= self._settings.max_batch_inputs:
            return False
        if sum(queue.tokens for queue in queues) >= self._settings.max_batch_tokens:
            return False
        callers, answered_inputs = self._answered
        missing = max(0, callers - self._resent)
        wait = remaining_s
        if self._resent:
            pace = (time.perf_counter() - self._answered_at) / self._resent
            wait = min(wait, missing * pace)
        coming = missing * answered_inputs / max(1, callers)
        return worth_waiting(inputs, coming, self.cost, wait)

    def _take(self) -> list[tuple[str, Part]]:
        self._drop_gone()
        queues = list(self._queues.values())
        views = [HeadView(q.share, [(p.cost, len(p.texts)) for p in q.parts]) for q in queues]
        counts = plan_batch(views, self._settings.max_batch_tokens, self._settings.max_batch_inputs)
        batch: list[tuple[str, Part]] = []
        for queue, count in zip(queues, counts, strict=True):
            batch.extend((queue.name, queue.pop()) for _ in range(count))
        return batch

    def _drop_gone(self) -> None:
        """Remove parts whose caller stopped waiting (disconnected or cancelled)."""
        for queue in self._queues.values():
            if not any(part.future.done() for part in queue.parts):
                continue
            parts, queue.parts = queue.parts, deque()
            queue.inputs = queue.tokens = 0
            for part in parts:
                if not part.future.done():
                    queue.push(part)
                elif self._stats.on_dropped:
                    self._stats.on_dropped(queue.name, len(part.texts))

    async def _execute(self, batch: list[tuple[str, Part]]) -> None:
        texts = [text for _, part in batch for text in part.texts]
        started = time.perf_counter()
        self._busy_since = started
        for name, part in batch:
            if self._stats.on_queued:
                self._stats.on_queued(name, started - part.enqueued_at)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self.embedder.embed, texts)
        except asyncio.CancelledError:
            _fail(batch, None)
            raise
        except Exception as exc:  # the model failed: every caller in the batch gets the error
            _fail(batch, exc)
            return
        finally:
            self._busy_since = None
        elapsed = time.perf_counter() - started
        self.cost.observe(len(texts), elapsed)
        completed = [part.request_inputs for _, part in batch if part.request_inputs]
        self._answered, self._resent = (len(completed), sum(completed)), 0
        self._answered_at = time.perf_counter()
        if self._stats.on_batch:
            self._stats.on_batch(self.embedder.name, len(texts), elapsed)
        _scatter(batch, result)


def _fail(batch: list[tuple[str, Part]], exc: Exception | None) -> None:
    for _, part in batch:
        if part.future.done():
            continue
        if exc is None:
            part.future.cancel()
        else:
            part.future.set_exception(exc)


def _scatter(batch: list[tuple[str, Part]], result: Embedded) -> None:
    offset = 0
    for _, part in batch:
        end = offset + len(part.texts)
        if not part.future.done():
            part.future.set_result(_rows(result, offset, end))
        offset = end


def _rows(result: Embedded, start: int, end: int) -> Embedded:
    counts: npt.NDArray[np.int64] = result.token_counts[start:end]
    return Embedded(result.vectors[start:end], counts)
