"""The fake API server on a real socket, for tests that run the ``bulkhead`` CLI end to end.

:func:`serve` listens on 127.0.0.1 (a free port), hands every request to
:meth:`FakeKube.handle`, and :func:`write_kubeconfig` writes a kubeconfig that points at it, so
the CLI reaches the fake through exactly the code path it uses for a real cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx2
import yaml

from bulkhead.testing.fakekube._server import FakeKube


@contextmanager
def serve(fake: FakeKube) -> Iterator[str]:
    """Serve ``fake`` over HTTP until the block ends; yields the server URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_kubeconfig(path: Path, server: str, *, context: str, token: str = "fake-token") -> Path:
    """A kubeconfig with one context (and its cluster and user both named ``context``)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _handler(fake: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx2.Request(
                self.command,
                f"http://fake{self.path}",
                headers=dict(self.headers.items()),
                content=self.rfile.read(length),
            )
            response = fake.handle(request)
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers["Content-Type"])
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test output is not the place for an access log."""

    return Handler
