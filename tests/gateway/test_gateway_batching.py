"""Dynamic batching and admission: the batch planner, then the batcher on the real model."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from bulkhead.gateway.batching import Batcher, BatchStats, HeadView, QueueFull, plan_batch
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
