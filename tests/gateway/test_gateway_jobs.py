"""Durable batch jobs over HTTP, and a worker killed with SIGKILL mid-job that resumes after a
restart with every input embedded exactly once."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.gateway.conftest import (
    GROUP,
    MODEL,
    LiveGateway,
    ThreadServer,
    auth,
    gateway_settings,
)

pytestmark = [pytest.mark.model, GROUP]


def _wait_for(gateway_url: str, secret: str, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{gateway_url}/v1/jobs/{job_id}", headers=auth(secret)).json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")


def _all_results(url: str, secret: str, job_id: str, **params: Any) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = httpx.get(f"{url}/v1/jobs/{job_id}/results", headers=auth(secret),
                         params={"offset": offset, **params}).json()  # fmt: skip
        data.extend(page["data"])
        offset = page["next_offset"]
    return data


def test_inline_job_runs_in_process_and_pages_results(gateway: LiveGateway, embedder: Any) -> None:
    secret = gateway.token("pipeline")
    texts = [f"document {i} about sheep and satellites" for i in range(40)]
    created = httpx.post(gateway.url + "/v1/jobs", json={"model": MODEL, "input": texts},
                         headers=auth(secret))  # fmt: skip
    assert created.status_code == 202
    job = created.json()
    assert (job["status"], job["total"], job["completed"]) == ("queued", 40, 0)
    done = _wait_for(gateway.url, secret, job["id"], 60)
    assert (done["status"], done["completed"], done["progress"], done["attempts"]) == (
        "succeeded", 40, 1.0, 1,
    )  # fmt: skip
    expected = embedder.embed(texts)
    assert done["usage"]["prompt_tokens"] == int(expected.token_counts.sum())
    page = httpx.get(f"{gateway.url}/v1/jobs/{job['id']}/results", headers=auth(secret),
                     params={"offset": 5, "limit": 10}).json()  # fmt: skip
    assert [d["index"] for d in page["data"]] == list(range(5, 15))
    assert (page["has_more"], page["next_offset"]) == (True, 15)
    rows = _all_results(gateway.url, secret, job["id"], limit=16, encoding_format="base64")
    assert [r["index"] for r in rows] == list(range(40))
    import base64

    got = np.stack([np.frombuffer(base64.b64decode(r["embedding"]), "<f4") for r in rows])
    np.testing.assert_allclose(got, expected.vectors, atol=1e-5)


def test_jobs_belong_to_their_service(gateway: LiveGateway) -> None:
    owner = gateway.token("owner")
    job = httpx.post(gateway.url + "/v1/jobs", json={"model": MODEL, "input": ["x"]},
                     headers=auth(owner)).json()  # fmt: skip
    other = gateway.token("someone-else")
    for path in (f"/v1/jobs/{job['id']}", f"/v1/jobs/{job['id']}/results"):
        r = httpx.get(gateway.url + path, headers=auth(other))
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "job_not_found"


def test_jsonl_input_file_and_its_errors(gateway: LiveGateway) -> None:
    secret = gateway.token("files")
    inputs = gateway.settings.jobs.input_dir
    (inputs / "docs.jsonl").write_text('"first"\n{"input": "second"}\n\n"third"\n')
    (inputs / "bad.jsonl").write_text('"fine"\n{"text": 3}\n')
    created = httpx.post(gateway.url + "/v1/jobs", headers=auth(secret),
                         json={"model": MODEL, "input_file": "docs.jsonl"})  # fmt: skip
    assert created.status_code == 202
    assert created.json()["total"] == 3
    assert _wait_for(gateway.url, secret, created.json()["id"], 60)["status"] == "succeeded"
    for body, code in (
        ({"model": MODEL, "input_file": "../../etc/passwd"}, "input_file_not_found"),
        ({"model": MODEL, "input_file": "missing.jsonl"}, "input_file_not_found"),
        ({"model": MODEL, "input_file": "bad.jsonl"}, "invalid_input_file"),
        ({"model": MODEL, "input": ["a"], "input_file": "docs.jsonl"}, "invalid_request"),
        ({"model": MODEL}, "invalid_request"),
    ):
        r = httpx.post(gateway.url + "/v1/jobs", json=body, headers=auth(secret))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == code
    bad = httpx.post(gateway.url + "/v1/jobs", headers=auth(secret),
                     json={"model": MODEL, "input_file": "bad.jsonl"})  # fmt: skip
    assert "line 2" in bad.json()["error"]["message"]


# --- SIGKILL mid-job ------------------------------------------------------------------------


def _config(path: Path) -> Path:
    config = path / "gateway.yaml"
    config.write_text(
        "models:\n  embeddings:\n    all-minilm-l6-v2: {device: cpu}\n"
        "jobs:\n  worker: external\n  lease_s: 2\n  heartbeat_s: 0.5\n"
        "  sweep_interval_s: 0.5\n  poll_interval_s: 0.1\n  chunk_inputs: 16\n"
    )
    return config


def _worker(config: Path, state: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bulkhead", "gateway", "worker", "--config", str(config),
               "--state-dir", str(state)]  # fmt: skip
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def external(embedder: Any, tmp_path: Path) -> Iterator[LiveGateway]:
    """A gateway that leaves jobs to external worker processes."""
    from bulkhead.gateway.app import create_app

    settings = gateway_settings(tmp_path, jobs={"worker": "external"})
    app = create_app(settings, embedders={MODEL: embedder})
    with ThreadServer(app) as server:
        yield LiveGateway(url=server.url, settings=settings, app=app)


def _progress(db: Path, job_id: str) -> tuple[str, int, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT state, completed, attempts FROM jobs WHERE id = ?", (job_id,))
        state, completed, attempts = row.fetchone()
    return str(state), int(completed), int(attempts)


def test_worker_killed_mid_job_resumes_and_embeds_every_input_exactly_once(
    external: LiveGateway, embedder: Any, tmp_path: Path
) -> None:
    secret = external.token("pipeline")
    texts = [f"line {i}: the quick brown fox {i % 7} jumps over dog {i % 11}" for i in range(1200)]
    job = httpx.post(external.url + "/v1/jobs", json={"model": MODEL, "input": texts},
                     headers=auth(secret)).json()  # fmt: skip
    config, state, log = _config(tmp_path), external.settings.state.dir, tmp_path / "worker.log"
    db = external.settings.database_path

    first = _worker(config, state, log)
    try:
        deadline = time.monotonic() + 90
        while _progress(db, job["id"])[1] == 0:
            assert time.monotonic() < deadline, log.read_text()
            assert first.poll() is None, log.read_text()
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # mid-job: no cleanup, the lease is left to expire
        first.wait(10)
    finally:
        first.kill()
    status, completed, attempts = _progress(db, job["id"])
    assert (status, attempts) == ("running", 1), log.read_text()
    assert 0 < completed < len(texts), log.read_text()

    second = _worker(config, state, log)
    try:
        done = _wait_for(external.url, secret, job["id"], 120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert (done["status"], done["completed"], done["attempts"]) == ("succeeded", 1200, 2)

    with sqlite3.connect(db) as conn:
        chunks = conn.execute(
            "SELECT start, count FROM job_chunks WHERE job_id = ? ORDER BY start", (job["id"],)
        ).fetchall()
    covered = [i for start, count in chunks for i in range(start, start + count)]
    assert covered == list(range(1200))  # every input stored once: no gap, no duplicate
    rows = _all_results(external.url, secret, job["id"])
    assert [r["index"] for r in rows] == list(range(1200))
    got = np.array([r["embedding"] for r in rows], dtype=np.float32)
    np.testing.assert_allclose(got, embedder.embed(texts).vectors, atol=1e-5)
    assert json.dumps(done["usage"])
    assert done["usage"]["prompt_tokens"] > 0
