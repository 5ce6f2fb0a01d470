"""Fixtures of the gateway tests: the real shipped model (loaded once per worker), live servers
on 127.0.0.1 in threads, the stub upstream, and tokens.

Tests that load the model are marked ``model`` and share the ``gateway-model`` xdist group, so
one pytest worker loads it once. Third-party deprecation noise is filtered here, by message
and module, never globally.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL = "all-minilm-l6-v2"
CHAT = "stub-chat"
DEAD_CHAT = "dead-chat"  # an upstream nobody listens for
GROUP = pytest.mark.xdist_group("gateway-model")


def pytest_configure(config: pytest.Config) -> None:
    # torch / transformers / schemathesis' dependencies still use APIs their own
    # dependencies deprecate; silence exactly those, only in the gateway tests.
    for line in (
        "ignore::DeprecationWarning:torch.*",
        "ignore::DeprecationWarning:transformers.*",
        "ignore::FutureWarning:transformers.*",
        "ignore::DeprecationWarning:jsonschema.*",
        "ignore::DeprecationWarning:hypothesis_graphql.*",
    ):
        config.addinivalue_line("filterwarnings", line)


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The shipped all-MiniLM-L6-v2, loaded offline on the CPU, once per worker."""
    from bulkhead.gateway.embedder import SentenceTransformerEmbedder
    from bulkhead.gateway.settings import EmbeddingModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return SentenceTransformerEmbedder.load(MODEL, EmbeddingModel(device="cpu"), 32)


class ThreadServer:
    """An ASGI app served by uvicorn in a thread, on a free 127.0.0.1 port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        self._sock.close()


@dataclass
class Stub:
    """The running stub upstream and its recorded state."""

    url: str
    state: Any


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    """The OpenAI-compatible stub upstream, on 127.0.0.1."""
    from tests.gateway.stub_upstream import StubState, build

    state = StubState()
    with ThreadServer(build(state)) as server:
        yield Stub(url=server.url + "/v1", state=state)


def gateway_settings(state_dir: Path, stub_url: str | None = None, **overrides: Any) -> Any:
    """Test settings: the shipped model, small limits, fast job timings, the stub for chat."""
    from bulkhead.gateway.settings import default_settings

    base: dict[str, Any] = {
        "limits": {"max_body_bytes": 64 * 1024, "max_inputs": 64, "max_input_chars": 2000},
        "priorities": {
            "production": {"queue_inputs": 4096, "guaranteed_share": 0.75},
            "experiment": {"queue_inputs": 64, "guaranteed_share": 0.0},
        },
        "models": {"embeddings": {MODEL: {"device": "cpu"}}, "chat": {}},
        "gpu": {"poll_interval_s": 0.5},
        "jobs": {
            "lease_s": 3,
            "heartbeat_s": 0.5,
            "sweep_interval_s": 0.5,
            "poll_interval_s": 0.1,
            "chunk_inputs": 16,
            "input_dir": str(state_dir / "inputs"),
        },
    }
    if stub_url is not None:
        base["models"]["chat"] = {
            CHAT: {"upstream": stub_url, "model": "stub-model"},
            DEAD_CHAT: {"upstream": "http://127.0.0.1:9/v1", "required": False},
        }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    (state_dir / "inputs").mkdir(parents=True, exist_ok=True)
    return default_settings(state_dir, **base)


@dataclass
class LiveGateway:
    """A gateway serving on 127.0.0.1 with the shared model."""

    url: str
    settings: Any
    app: Any

    def token(self, service: str = "svc", **grant: Any) -> str:
        """A new token's secret."""
        from bulkhead.gateway.tokens import TokenStore

        store = TokenStore(self.settings.database_path)
        try:
            secret, _ = store.create(service, priority=grant.pop("priority", "production"), **grant)
        finally:
            store.close()
        return secret


@pytest.fixture(scope="module")
def gateway(
    embedder: Any, stub: Stub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    """One live gateway per test module, with the stub as its chat upstream."""
    from bulkhead.gateway.app import create_app

    settings = gateway_settings(tmp_path_factory.mktemp("gw"), stub.url)
    app = create_app(settings, embedders={MODEL: embedder})
    with ThreadServer(app) as server:
        yield LiveGateway(url=server.url, settings=settings, app=app)


def auth(secret: str) -> dict[str, str]:
    """The bearer header for ``secret``."""
    return {"authorization": f"Bearer {secret}"}
