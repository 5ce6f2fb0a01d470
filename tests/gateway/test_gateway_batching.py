"""Dynamic batching and admission: the batch planner, then the batcher on the real model."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np
import pytest

from bulkhead.gateway.batching import (
    Batcher,
    BatchStats,
    CallCost,
    HeadView,
    QueueFull,
    plan_batch,
    worth_waiting,
)
from bulkhead.gateway.embedder import Embedded
from bulkhead.gateway.settings import BatchingSettings, PriorityClass
from tests.gateway.conftest import GROUP


def test_production_takes_its_share_and_experiments_borrow_only_what_is_idle() -> None:
    production = HeadView(0.75, [(100, 1)] * 20)
    experiment = HeadView(0.0, [(100, 1)] * 20)
    assert plan_batch([production, experiment], max_tokens=1000, max_inputs=100) == [10, 0]
    idle = HeadView(0.75, [(100, 1)] * 3)
    assert plan_batch([idle, experiment], max_tokens=1000, max_inputs=100) == [3, 7]
    assert plan_batch([HeadView(0.75, []), experiment], 1000, 100) == [0, 10]


def test_a_guaranteed_share_protects_a_lower_class() -> None:
    production = HeadView(0.75, [(100, 1)] * 20)
    batch = HeadView(0.25, [(100, 1)] * 20)
    assert plan_batch([production, batch], max_tokens=1000, max_inputs=100) == [8, 2]


def test_input_cap_and_oversized_head() -> None:
    assert plan_batch([HeadView(1.0, [(1, 5)] * 10)], 1000, max_inputs=12) == [2]
    # a part is never larger than the budget (requests are split), but one always goes
    assert plan_batch([HeadView(0.0, [(5000, 1)])], 1000, 10) == [1]
    assert plan_batch([HeadView(1.0, []), HeadView(0.0, [])], 1000, 10) == [0, 0]


SETTINGS = BatchingSettings(max_batch_tokens=512, max_batch_inputs=64, max_wait_ms=2)
CLASSES = {
    "production": PriorityClass(queue_inputs=1000, guaranteed_share=0.75),
    "experiment": PriorityClass(queue_inputs=40, guaranteed_share=0.0),
}


class Recorder:
    def __init__(self) -> None:
        self.batches: list[int] = []
        self.dropped: list[tuple[str, int]] = []

    def stats(self) -> BatchStats:
        return BatchStats(
            on_batch=lambda _m, n, _s: self.batches.append(n),
            on_dropped=lambda cls, n: self.dropped.append((cls, n)),
        )


def _texts(n: int, tag: str) -> list[str]:
    return [f"{tag} sentence number {i} about rivers and hills" for i in range(n)]


@pytest.mark.model
@GROUP
def test_requests_are_split_coalesced_and_answered_in_order(embedder: Any) -> None:
    rec = Recorder()

    async def scenario() -> list[Any]:
        batcher = Batcher(embedder, SETTINGS, CLASSES, rec.stats())
        batcher.start()
        try:
            jobs = [batcher.embed(_texts(n, f"r{n}"), "production") for n in (3, 100, 5)]
            return await asyncio.gather(*jobs)
        finally:
            await batcher.stop()

    results = asyncio.run(scenario())
    assert [len(r.vectors) for r in results] == [3, 100, 5]
    assert sum(rec.batches) == 108
    assert all(n <= 64 for n in rec.batches)
    assert len(rec.batches) < 5  # the three requests shared model calls
    direct = embedder.embed(_texts(100, "r100"))
    np.testing.assert_allclose(results[1].vectors, direct.vectors, atol=1e-5)
    assert results[1].token_counts.tolist() == direct.token_counts.tolist()


@pytest.mark.model
@GROUP
def test_full_queue_refuses_at_once_and_production_overtakes_experiments(embedder: Any) -> None:
    rec = Recorder()
    order: list[str] = []

    async def scenario() -> None:
        batcher = Batcher(embedder, SETTINGS, CLASSES, rec.stats())
        batcher.start()
        try:
            experiments = [batcher.submit(_texts(10, f"e{i}"), "experiment") for i in range(4)]
            with pytest.raises(QueueFull) as full:
                batcher.submit(_texts(10, "e-over"), "experiment")
            assert full.value.retry_after_s >= 1
            assert batcher.depth("experiment") == 40
            production = batcher.submit(_texts(10, "p"), "production")
            for name, futures in [("p", production)] + [(f"e{i}", f) for i, f in
                                                           enumerate(experiments)]:  # fmt: skip
                asyncio.gather(*futures).add_done_callback(lambda _, n=name: order.append(n))
            await asyncio.gather(*production, *[f for fs in experiments for f in fs])
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert order[0] == "p"


@pytest.mark.model
@GROUP
def test_parts_whose_caller_left_are_dropped_before_inference(embedder: Any) -> None:
    rec = Recorder()

    async def scenario() -> None:
        batcher = Batcher(embedder, SETTINGS, CLASSES, rec.stats())
        batcher.start()
        try:
            busy = batcher.submit(_texts(64, "busy"), "production")
            await asyncio.sleep(0)  # the batcher takes the first batch
            gone = batcher.submit(_texts(7, "gone"), "production")
            kept = batcher.submit(_texts(2, "kept"), "production")
            for future in gone:
                future.cancel()
            await asyncio.gather(*busy, *kept)
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert rec.dropped == [("production", 7)]
    assert sum(rec.batches) == 66  # the 7 abandoned inputs never reached the model


# --- waiting for company: decided by what a model call costs ------------------------------


def _cost(fixed_s: float, per_input_s: float) -> CallCost:
    cost = CallCost()
    cost.fixed_s, cost.per_input_s = fixed_s, per_input_s
    return cost


def test_waiting_for_returning_callers_pays_when_a_call_is_mostly_fixed_cost() -> None:
    gpu_like, cpu_long_inputs = _cost(0.02, 1e-5), _cost(0.001, 0.01)
    assert worth_waiting(queued=16, coming=16, cost=gpu_like, max_wait_s=0.005)
    assert not worth_waiting(queued=16, coming=16, cost=cpu_long_inputs, max_wait_s=0.005)
    assert not worth_waiting(queued=1, coming=0, cost=gpu_like, max_wait_s=0.005)  # alone
    assert not worth_waiting(queued=16, coming=1, cost=gpu_like, max_wait_s=1.0)  # too long
    assert not worth_waiting(queued=4, coming=4, cost=CallCost(), max_wait_s=0.005)  # unknown


def test_the_rule_is_the_throughput_comparison_it_claims() -> None:
    # inputs per second serving q now vs after waiting w for m more, at cost a + b*n
    for q, m, a, b, w in [(16, 16, 0.02, 1e-5, 0.002), (16, 16, 0.001, 0.01, 0.002),
                          (1, 3, 0.01, 0.0015, 0.05), (10, 2, 0.005, 0.0, 0.001),
                          (30, 2, 0.01, 0.002, 0.002)]:  # fmt: skip
        now = q / (a + b * q)
        later = (q + m) / (w + a + b * (q + m))
        assert worth_waiting(q, m, _cost(a, b), w) == (later > now)


def test_call_cost_separates_fixed_and_per_input_seconds() -> None:
    cost = CallCost()
    for n in (1, 2, 1):
        cost.observe(n, 0.01 + 0.001 * n)
    assert cost.fixed_s == 0.0  # fewer than four calls: no fit yet
    for n in (4, 8, 16, 32, 64):
        cost.observe(n, 0.01 + 0.001 * n)
    assert cost.fixed_s == pytest.approx(0.01)
    assert cost.per_input_s == pytest.approx(0.001)
    same = CallCost()
    for _ in range(10):
        same.observe(16, 0.05)
    assert (same.fixed_s, same.per_input_s) == (0.0, 0.0)  # one size says nothing about the split


class FixedCostModel:
    """A model whose call costs the same whatever its size, as a GPU's small batches do: the
    batcher's waiting rule is about that cost curve, which the CPU model here does not have."""

    name = "fixed-cost"
    dimensions = 4

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: list[int] = []

    def estimate_tokens(self, text: str) -> int:
        return 4

    def embed(self, texts: Any) -> Embedded:
        time.sleep(self.seconds)
        self.calls.append(len(texts))
        return Embedded(np.zeros((len(texts), 4), np.float32), np.full(len(texts), 4, np.int64))


def _closed_loop(max_wait_ms: float, clients: int, rounds: int, turnaround_s: float) -> list[int]:
    """``clients`` callers that each send one input again ``turnaround_s`` after an answer."""
    model = FixedCostModel(0.02)
    settings = BatchingSettings(max_wait_ms=max_wait_ms)

    async def client(batcher: Batcher, i: int) -> None:
        await asyncio.sleep(i * 0.001)  # callers start staggered, as real ones do
        for _ in range(rounds):
            await batcher.embed([f"client {i}"], "production")
            await asyncio.sleep(turnaround_s * (i + 1) / clients)

    async def scenario() -> None:
        batcher = Batcher(model, settings, CLASSES)
        batcher.start()
        try:
            await asyncio.gather(*(client(batcher, i) for i in range(clients)))
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    return model.calls


def test_with_a_fixed_cost_model_returning_callers_are_gathered() -> None:
    def steady(calls: list[int]) -> float:
        late = calls[len(calls) // 3 :]
        return sum(late) / len(late)

    waited = _closed_loop(max_wait_ms=10, clients=16, rounds=12, turnaround_s=0.004)
    never = _closed_loop(max_wait_ms=0, clients=16, rounds=12, turnaround_s=0.004)
    assert min(never[2:]) <= 3  # without waiting, a straggler gets a call of its own
    assert steady(waited) > 1.25 * steady(never)  # waiting: fewer, fuller calls
    assert steady(waited) >= 10


@pytest.mark.model
@GROUP
def test_a_lone_caller_on_the_cpu_model_never_waits(embedder: Any) -> None:
    queued: list[float] = []

    async def scenario() -> None:
        batcher = Batcher(
            embedder,
            BatchingSettings(max_wait_ms=50),
            CLASSES,
            BatchStats(on_queued=lambda _c, s: queued.append(s)),
        )
        batcher.start()
        try:
            for i in range(12):
                await batcher.embed(_texts(1 + i % 5, f"alone{i}"), "production")
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert max(queued[4:]) < 0.02  # far below max_wait_ms: it was never worth waiting


def test_a_lone_caller_whose_request_spans_calls_never_waits_for_itself() -> None:
    model = FixedCostModel(0.03)
    queued: list[float] = []
    settings = BatchingSettings(max_batch_inputs=8, max_wait_ms=20)

    async def scenario() -> None:
        stats = BatchStats(on_queued=lambda _c, s: queued.append(s))
        batcher = Batcher(model, settings, CLASSES, stats)
        batcher.start()
        try:
            for i in range(8):  # calls of 1, 8 and 4 inputs: the cost fit learns "fixed"
                await batcher.embed([f"t{i}-{j}" for j in range(12 if i % 2 else 1)], "production")
            assert batcher.cost.fixed_s > 0.02
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert model.calls[-2:] == [8, 4]
    # the second part of a 12-input request waits for the first part's call (30 ms), never
    # for company (which would add max_wait_ms: 20 ms more)
    assert max(queued) < 0.042
