"""What the gateway's request path costs when the model costs nothing: the ceiling a GPU sees.

    .venv/bin/python bench/gateway/overhead.py [--call-ms 0] [--duration 5] [--rounds 3]

On a GPU a batch of short sentences takes well under a millisecond, so throughput is decided by
the Python that surrounds the model: HTTP, JSON, the token check, rate limits, the batcher's
hand-off, serialisation, metrics. This benchmark measures that part alone, on any machine, by
serving the real app (``create_app``, uvicorn with uvloop and httptools, exactly as
``bulkhead gateway serve`` runs it) with an embedder that answers at once (fixed vectors, real
token estimates), and compares it, side by side in one run, with the floor of the same HTTP
stack: a bare ASGI app on the same uvicorn that reads the body and returns a response of the
same size without looking at it.

``--call-ms N`` makes every model call take N ms whatever its size (sleeping, GIL released):
how a GPU looks to the server. The model's own best is then one call per ``N`` ms with every
caller in it, and the report adds the gateway's share of that ceiling, which shows how well
the batcher gathers callers.

Scenarios: 32 clients x 1 sentence and 8 clients x 32 inputs (wrk, one thread, rotating bodies,
127.0.0.1). The report gives requests/s of both servers, their ratio, and the server's CPU time
per request. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench

DIMENSIONS = 384


def serve_instant(state_dir: str, port: int, call_ms: float) -> None:
    """Serve the real gateway app with a model that answers at once (runs in a subprocess)."""
    import numpy as np
    import uvicorn

    from bulkhead.gateway.app import create_app
    from bulkhead.gateway.embedder import Embedded
    from bulkhead.gateway.server import uvicorn_options
    from bulkhead.gateway.settings import load_settings

    class Instant:
        name = bench.MODEL
        dimensions = DIMENSIONS
        forward = "instant"
        _row = np.random.default_rng(0).standard_normal(DIMENSIONS).astype(np.float32)

        def estimate_tokens(self, text: str) -> int:
            return len(text) // 4 + 2

        def embed(self, texts: Any) -> Embedded:
            time.sleep(call_ms / 1000)
            counts = np.array([self.estimate_tokens(t) for t in texts], dtype=np.int64)
            return Embedded(np.tile(self._row, (len(texts), 1)), counts)

    settings = load_settings(Path(state_dir) / "gateway.yaml", state_dir=Path(state_dir))
    app = create_app(settings, embedders={bench.MODEL: Instant()})
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **uvicorn_options()
    )


def serve_floor(port: int, response_bytes: int) -> None:
    """A bare ASGI app: read the body, answer a fixed JSON body of ``response_bytes``."""
    import uvicorn

    from bulkhead.gateway.server import uvicorn_options

    body = b'{"pad":"' + b"x" * max(0, response_bytes - 10) + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **uvicorn_options()
    )


def start(args: list[str], port: int, workdir: Path) -> bench.Server:
    """Run this file as a server (``args``: its role and settings) until /readyz answers."""
    log_path = workdir / f"{args[0]}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, __file__, *args], stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    bench.wait_ready(url, process, log_path)
    return bench.Server(url, "", process)


def run(duration: float, rounds: int, call_ms: float) -> str:
    single = [json.dumps({"model": bench.MODEL, "input": s}) for s in bench.sentences(256, 1000)]
    many = [json.dumps({"model": bench.MODEL, "input": bench.sentences(32, s)}) for s in range(16)]
    with tempfile.TemporaryDirectory(prefix="bulkhead-overhead-") as tmp:
        work = Path(tmp)
        (work / "gateway.yaml").write_text(
            json.dumps(
                {
                    "limits": {"max_inputs": 256},
                    "priorities": {"production": {"queue_inputs": 100000, "guaranteed_share": 1}},
                    "models": {"embeddings": {bench.MODEL: {"device": "cpu"}}},
                    "jobs": {"worker": "external"},
                }
            )
        )
        token = subprocess.run(
            [sys.executable, "-m", "bulkhead", "gateway", "token", "create", "--config",
             str(work / "gateway.yaml"), "--state-dir", str(work), "--service", "bench"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        gw_port = bench.free_port()
        gateway = start(["gateway", str(work), str(gw_port), str(call_ms)], gw_port, work)
        gateway.token = token
        results: dict[str, list[tuple[float, float]]] = {}
        floors: list[bench.Server] = []
        try:
            for name, bodies, clients in (("32 x 1", single, 32), ("8 x 32", many, 8)):
                size = _response_size(gw_port, token, bodies[0])
                floor_port = bench.free_port()
                floors.append(
                    floor := start(["floor", str(floor_port), str(size)], floor_port, work)
                )
                servers = {"gateway": gateway, "floor": floor}
                for server in servers.values():
                    bench.wrk(server, bodies, clients, 1, work)  # warm-up
                for _ in range(rounds):
                    for label, server in servers.items():
                        result = bench.wrk(server, bodies, clients, duration, work)
                        results.setdefault(f"{name} {label}", []).append(
                            (result.requests_per_s, result.cpu_per_request_s * 1000)
                        )
        finally:
            for server in (gateway, *floors):
                server.stop()
    return _report(results, duration, rounds, call_ms)


def _response_size(port: int, token: str, body: str) -> int:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/embeddings",
        data=body.encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return len(response.read())


def _report(
    results: dict[str, list[tuple[float, float]]], duration: float, rounds: int, call_ms: float
) -> str:
    lines = [
        f"# Gateway request-path overhead — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"wrk, 1 thread, 127.0.0.1; {rounds} rounds of {duration:.0f} s, servers alternating;"
        f" every model call takes {call_ms:g} ms.",
        "",
        "| scenario | gateway req/s | HTTP floor req/s | gateway / floor | gateway CPU ms/req"
        " | floor CPU ms/req |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("32 x 1", "8 x 32"):
        gw, floor = results[f"{name} gateway"], results[f"{name} floor"]
        ratios = [g[0] / f[0] for g, f in zip(gw, floor, strict=True)]
        lines.append(
            f"| {name} | {_med(gw, 0):.0f} | {_med(floor, 0):.0f} | "
            f"{statistics.median(ratios):.2f} ({' / '.join(f'{r:.2f}' for r in ratios)}) | "
            f"{_med(gw, 1):.2f} | {_med(floor, 1):.2f} |"
        )
    if call_ms > 0:
        lines.append("")
        for name, clients in (("32 x 1", 32), ("8 x 32", 8)):
            ceiling = clients / (call_ms / 1000)
            share = _med(results[f"{name} gateway"], 0) / ceiling
            lines.append(
                f"- {name}: the model's own best is {ceiling:.0f} req/s (every caller in one "
                f"{call_ms:g} ms call); the gateway reaches {share:.2f} of it."
            )
    return "\n".join(lines) + "\n"


def _med(values: list[tuple[float, float]], i: int) -> float:
    return statistics.median(v[i] for v in values)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "gateway":
        serve_instant(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "floor":
        serve_floor(int(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--call-ms", type=float, default=0, help="fixed cost of a model call")
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    text = run(args.duration, args.rounds, args.call_ms)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
