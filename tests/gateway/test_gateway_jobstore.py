"""The SQLite job store's contract: leases, heartbeats, in-order chunks, sweeping, attempts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bulkhead.gateway.jobs.sqlite import SqliteJobStore
from bulkhead.gateway.jobs.store import FAILED, QUEUED, RUNNING, SUCCEEDED


@pytest.fixture
def store(tmp_path: Path) -> SqliteJobStore:
    return SqliteJobStore(tmp_path / "state.sqlite3")


def _vectors(n: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + n, dtype=np.float32).repeat(4).reshape(n, 4)


def _job(store: SqliteJobStore, n: int = 5, attempts: int = 3) -> str:
    texts = [f"text {i}" for i in range(n)]
    return store.create(service="s", model="m", priority="production", inputs=texts,
                        max_attempts=attempts).id  # fmt: skip


def test_claim_save_finish(store: SqliteJobStore) -> None:
    job_id = _job(store)
    assert store.claim("w1", 30, ["other-model"]) is None
    claim = store.claim("w1", 30, ["m"])
    assert claim is not None
    assert claim.job.id == job_id
    assert claim.job.state == RUNNING
    assert store.claim("w2", 30, ["m"]) is None  # one owner at a time
    assert store.inputs(job_id, 3, 10) == ["text 3", "text 4"]
    assert store.save_chunk(job_id, "w1", 0, _vectors(3), tokens=9, lease_s=30)
    assert not store.finish(job_id, "w1")  # not complete yet
    assert store.save_chunk(job_id, "w1", 3, _vectors(2, 3), tokens=6, lease_s=30)
    assert store.finish(job_id, "w1")
    job = store.get(job_id)
    assert job is not None
    assert (job.state, job.completed, job.tokens) == (SUCCEEDED, 5, 15)
    results = store.results(job_id, 1, 3)
    assert [i for i, _ in results] == [1, 2, 3]
    assert [float(v[0]) for _, v in results] == [1.0, 2.0, 3.0]


def test_chunks_are_accepted_once_and_in_order_only_from_the_lease_holder(
    store: SqliteJobStore,
) -> None:
    job_id = _job(store)
    store.claim("w1", 30, ["m"])
    assert not store.save_chunk(job_id, "w2", 0, _vectors(2), 0, 30)  # not the holder
    assert not store.save_chunk(job_id, "w1", 2, _vectors(2), 0, 30)  # out of order
    assert store.save_chunk(job_id, "w1", 0, _vectors(2), 0, 30)
    assert not store.save_chunk(job_id, "w1", 0, _vectors(2), 0, 30)  # twice
    job = store.get(job_id)
    assert job is not None
    assert job.completed == 2


def test_expired_lease_is_swept_and_the_next_claim_resumes(store: SqliteJobStore) -> None:
    job_id = _job(store)
    store.claim("dead", 0.05, ["m"])
    store.save_chunk(job_id, "dead", 0, _vectors(2), 0, 0.05)
    time.sleep(0.1)
    store.requeue_expired()
    job = store.get(job_id)
    assert job is not None
    assert job.state == QUEUED
    assert "lease expired" in (job.error or "")
    assert not store.heartbeat(job_id, "dead", 30)  # the dead worker lost it
    claim = store.claim("w2", 30, ["m"])
    assert claim is not None
    assert claim.job.completed == 2
    assert claim.job.attempts == 2
    assert not store.save_chunk(job_id, "dead", 2, _vectors(3, 2), 0, 30)  # zombie refused


def test_heartbeat_keeps_the_lease(store: SqliteJobStore) -> None:
    job_id = _job(store)
    store.claim("w1", 0.2, ["m"])
    for _ in range(4):
        time.sleep(0.1)
        assert store.heartbeat(job_id, "w1", 0.2)
        store.requeue_expired()
    job = store.get(job_id)
    assert job is not None
    assert job.state == RUNNING


def test_attempts_are_capped(store: SqliteJobStore) -> None:
    job_id = _job(store, attempts=2)
    for worker in ("w1", "w2"):
        assert store.claim(worker, 0.01, ["m"]) is not None
        time.sleep(0.03)
        store.requeue_expired()
    job = store.get(job_id)
    assert job is not None
    assert job.state == FAILED
    assert job.finished_at is not None
    assert store.claim("w3", 30, ["m"]) is None


def test_release_requeues_then_fails(store: SqliteJobStore) -> None:
    job_id = _job(store, attempts=2)
    store.claim("w1", 30, ["m"])
    store.release(job_id, "w1", "model exploded")
    job = store.get(job_id)
    assert job is not None
    assert (job.state, job.error) == (QUEUED, "model exploded")
    store.claim("w1", 30, ["m"])
    store.release(job_id, "w1", "again")
    job = store.get(job_id)
    assert job is not None
    assert job.state == FAILED


def test_concurrent_claimers_never_share_a_job(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    seed = SqliteJobStore(path)
    for _ in range(20):
        _job(seed, n=1)
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        store = SqliteJobStore(path)  # its own connection, as another process would have
        while (claim := store.claim(name, 30, ["m"])) is not None:
            with lock:
                claimed.append(claim.job.id)
        store.close()

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(claimed) == 20 == len(set(claimed))
    assert seed.counts() == {"queued": 0, "running": 20, "succeeded": 0, "failed": 0}
