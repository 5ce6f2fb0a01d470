"""`bulkhead gateway serve --config examples/gateway.yaml` works as shipped, on the CPU."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.gateway.conftest import GROUP, MODEL
from tests.support.cli import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway.yaml"

pytestmark = [pytest.mark.model, GROUP]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_the_example_config(tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "bulkhead", "gateway", "serve", "--config", str(EXAMPLE),
               "--state-dir", str(tmp_path), "--port", str(port)]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = _wait_ready(url, server, log)
        checks = ready.json()["checks"]
        assert checks[f"model:{MODEL}"]["ok"]
        assert checks["database"]["ok"]
        assert not checks["upstream:llama3.1"]["ok"]  # no Ollama here; optional in the example
        created = run_cli("gateway", "token", "create", "--config", str(EXAMPLE),
                          "--state-dir", str(tmp_path), "--service", "smoke")  # fmt: skip
        with openai.OpenAI(base_url=url + "/v1", api_key=created.stdout.strip()) as client:
            result = client.embeddings.create(model=MODEL, input=["served as shipped"])
        assert len(result.data[0].embedding) == 384
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
    # uvicorn shuts down cleanly, then re-raises the signal so the exit status reports it
    assert code in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()
    assert (tmp_path / "gateway.sqlite3").is_file()


def _wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            response = httpx.get(url + "/readyz", timeout=2)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code == 200:
            return response
        time.sleep(0.2)
    raise AssertionError("the gateway never became ready:\n" + log.read_text())
