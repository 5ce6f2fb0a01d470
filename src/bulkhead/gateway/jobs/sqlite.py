"""The SQLite job store (WAL): one file shared by the gateway and any worker processes.

Claims run in ``BEGIN IMMEDIATE`` transactions, so two workers never take the same job; every
result chunk is written in the same transaction that advances progress. Vectors are stored as
little-endian float32 blobs, one row per chunk. See :mod:`bulkhead.gateway.jobs.store` for the
contract and docs/gateway.md for when to move to Postgres or Redis.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bulkhead.gateway.jobs.store import (
    FAILED,
    QUEUED,
    RUNNING,
    STATES,
    SUCCEEDED,
    Claim,
    JobRecord,
)
from bulkhead.gateway.tokens import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    model TEXT NOT NULL,
    priority TEXT NOT NULL,
    state TEXT NOT NULL,
    total INTEGER NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    tokens INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    worker TEXT,
    lease_until REAL,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_at);
CREATE TABLE IF NOT EXISTS job_inputs (
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS job_chunks (
    job_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    dims INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_id, start)
);
"""

_JOB_COLUMNS = (
    "id, service, model, priority, state, total, completed, tokens, attempts, max_attempts,"
    " error, created_at, updated_at, finished_at"
)


class SqliteJobStore:
    """:class:`~bulkhead.gateway.jobs.store.JobStore` on a SQLite file. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._conn = connect(path)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.executescript(_SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def probe_write(self) -> None:
        """Prove the database accepts a write now (readiness); raises if it does not."""
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)", (time.time(),))

    def create(
        self, *, service: str, model: str, priority: str, inputs: Sequence[str], max_attempts: int
    ) -> JobRecord:
        """Store a new queued job and its inputs."""
        job_id = "job_" + secrets.token_hex(8)
        now = time.time()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO jobs (id, service, model, priority, state, total, max_attempts,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, service, model, priority, QUEUED, len(inputs), max_attempts, now, now),
            )
            conn.executemany(
                "INSERT INTO job_inputs (job_id, idx, text) VALUES (?, ?, ?)",
                ((job_id, i, text) for i, text in enumerate(inputs)),
            )
        found = self.get(job_id)
        assert found is not None
        return found

    def get(self, job_id: str) -> JobRecord | None:
        """One job, or None."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return _record(row) if row else None

    def claim(self, worker_id: str, lease_s: float, models: Collection[str]) -> Claim | None:
        """Take the oldest queued job for one of ``models`` under a lease."""
        if not models:
            return None
        marks = ", ".join("?" for _ in models)
        now = time.time()
        with self._tx() as conn:
            row = conn.execute(
                f"SELECT id FROM jobs WHERE state = ? AND model IN ({marks})"
                " ORDER BY created_at LIMIT 1",
                (QUEUED, *models),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET state = ?, worker = ?, lease_until = ?, attempts = attempts + 1,"
                " updated_at = ? WHERE id = ?",
                (RUNNING, worker_id, now + lease_s, now, row[0]),
            )
            job = _record(
                conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (row[0],)).fetchone()
            )
        return Claim(job, worker_id)

    def heartbeat(self, job_id: str, worker_id: str, lease_s: float) -> bool:
        """Renew a lease; False when the worker no longer holds it."""
        now = time.time()
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET lease_until = ?, updated_at = ?"
                " WHERE id = ? AND worker = ? AND state = ?",
                (now + lease_s, now, job_id, worker_id, RUNNING),
            )
        return cursor.rowcount == 1

    def inputs(self, job_id: str, start: int, count: int) -> list[str]:
        """Inputs ``start`` to ``start + count`` of a job."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT text FROM job_inputs WHERE job_id = ? AND idx >= ? AND idx < ?"
                " ORDER BY idx",
                (job_id, start, start + count),
            ).fetchall()
        return [str(row[0]) for row in rows]

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
        now = time.time()
        count, dims = vectors.shape
        blob = np.ascontiguousarray(vectors, dtype="<f4").tobytes()
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET completed = completed + ?, tokens = tokens + ?, lease_until = ?,"
                " updated_at = ? WHERE id = ? AND worker = ? AND state = ? AND completed = ?",
                (count, tokens, now + lease_s, now, job_id, worker_id, RUNNING, start),
            )
            if cursor.rowcount != 1:
                return False
            conn.execute(
                "INSERT INTO job_chunks (job_id, start, count, dims, data) VALUES (?, ?, ?, ?, ?)",
                (job_id, start, count, dims, blob),
            )
        return True

    def finish(self, job_id: str, worker_id: str) -> bool:
        """Mark a fully embedded job succeeded."""
        now = time.time()
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = ?, worker = NULL, lease_until = NULL, updated_at = ?,"
                " finished_at = ? WHERE id = ? AND worker = ? AND state = ? AND completed = total",
                (SUCCEEDED, now, now, job_id, worker_id, RUNNING),
            )
        return cursor.rowcount == 1

    def release(self, job_id: str, worker_id: str, error: str) -> None:
        """Give a job back after an error: queued again, or failed once attempts are spent."""
        now = time.time()
        with self._tx() as conn:
            conn.execute(
                "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN ? ELSE ? END,"
                " finished_at = CASE WHEN attempts >= max_attempts THEN ? END,"
                " worker = NULL, lease_until = NULL, error = ?, updated_at = ?"
                " WHERE id = ? AND worker = ? AND state = ?",
                (FAILED, QUEUED, now, error, now, job_id, worker_id, RUNNING),
            )

    def requeue_expired(self) -> int:
        """Re-queue (or fail) running jobs whose lease expired; how many were touched."""
        now = time.time()
        with self._tx() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN ? ELSE ? END,"
                " finished_at = CASE WHEN attempts >= max_attempts THEN ? END,"
                " error = 'lease expired (worker lost)', worker = NULL, lease_until = NULL,"
                " updated_at = ? WHERE state = ? AND lease_until < ?",
                (FAILED, QUEUED, now, now, RUNNING, now),
            )
        return cursor.rowcount

    def results(
        self, job_id: str, offset: int, limit: int
    ) -> list[tuple[int, npt.NDArray[np.float32]]]:
        """Stored vectors with their input index, from ``offset``, at most ``limit``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT start, count, dims, data FROM job_chunks"
                " WHERE job_id = ? AND start < ? AND start + count > ? ORDER BY start",
                (job_id, offset + limit, offset),
            ).fetchall()
        out: list[tuple[int, npt.NDArray[np.float32]]] = []
        for start, count, dims, data in rows:
            matrix = np.frombuffer(data, dtype="<f4").reshape(count, dims)
            lo, hi = max(offset, start), min(offset + limit, start + count)
            out.extend((i, matrix[i - start]) for i in range(lo, hi))
        return out

    def counts(self) -> dict[str, int]:
        """Jobs per state (every state present, zero included)."""
        with self._lock:
            rows = self._conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        found = {str(state): int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in STATES}


def _record(row: tuple[object, ...]) -> JobRecord:
    (
        id_,
        service,
        model,
        priority,
        state,
        total,
        completed,
        tokens,
        attempts,
        max_attempts,
        error,
        created_at,
        updated_at,
        finished_at,
    ) = row
    return JobRecord(
        id=str(id_),
        service=str(service),
        model=str(model),
        priority=str(priority),
        state=str(state),
        total=_int(total),
        completed=_int(completed),
        tokens=_int(tokens),
        attempts=_int(attempts),
        max_attempts=_int(max_attempts),
        error=str(error) if error is not None else None,
        created_at=_float(created_at),
        updated_at=_float(updated_at),
        finished_at=_float(finished_at) if finished_at is not None else None,
    )


def _int(value: object) -> int:
    return int(str(value))


def _float(value: object) -> float:
    return float(str(value))
