"""End to end over HTTP on 127.0.0.1: the official openai client for the happy paths, raw httpx
for every error path, the real model and the stub upstream."""

from __future__ import annotations

import base64
import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from bulkhead.gateway.gpu import GpuMonitor, GpuReading
from tests.gateway.conftest import CHAT, DEAD_CHAT, GROUP, MODEL, LiveGateway, Stub, auth

pytestmark = [pytest.mark.model, GROUP]

SENTENCES = ["The cat sat on the mat.", "Kubernetes schedules pods onto nodes.", "Hello"]


ClientFor = Callable[[str], openai.OpenAI]


@pytest.fixture
def client_for(gateway: LiveGateway) -> Iterator[ClientFor]:
    """The official openai client for a token's secret, closed after the test."""
    made: list[openai.OpenAI] = []

    def make(secret: str) -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=gateway.url + "/v1", api_key=secret, max_retries=0))
        return made[-1]

    yield make
    for client in made:
        client.close()


def _vector(embedding: Any) -> Any:
    """As the client returns it: floats, or the base64 string when that format was asked for."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4")
    return embedding


def _error(response: httpx.Response, status: int, code: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["message"]
    return dict(error)


# --- the openai client ------------------------------------------------------------------------


def test_openai_client_embeddings_float_and_base64(
    gateway: LiveGateway, client_for: ClientFor, embedder: Any
) -> None:
    client = client_for(gateway.token())
    expected = embedder.embed(SENTENCES)
    for encoding in ("float", "base64"):
        result = client.embeddings.create(model=MODEL, input=SENTENCES, encoding_format=encoding)
        got = np.array([_vector(d.embedding) for d in result.data], dtype=np.float32)
        np.testing.assert_allclose(got, expected.vectors, atol=1e-5)
        assert [d.index for d in result.data] == [0, 1, 2]
        assert result.usage.prompt_tokens == int(expected.token_counts.sum())
        assert result.usage.total_tokens == result.usage.prompt_tokens
    single = client.embeddings.create(model=MODEL, input="Hello")  # the client's default format
    np.testing.assert_allclose(single.data[0].embedding, expected.vectors[2], atol=1e-5)


def test_base64_is_little_endian_float32(gateway: LiveGateway, embedder: Any) -> None:
    body = {"model": MODEL, "input": "Hello", "encoding_format": "base64"}
    r = httpx.post(gateway.url + "/v1/embeddings", json=body, headers=auth(gateway.token()))
    raw = base64.b64decode(r.json()["data"][0]["embedding"])
    vector = np.frombuffer(raw, dtype="<f4")
    np.testing.assert_allclose(vector, embedder.embed(["Hello"]).vectors[0], atol=1e-6)


def test_openai_client_lists_models_the_token_may_use(
    gateway: LiveGateway, client_for: ClientFor
) -> None:
    everything = client_for(gateway.token())
    assert {m.id for m in everything.models.list()} == {MODEL, CHAT, DEAD_CHAT}
    limited = client_for(gateway.token(models=(MODEL,)))
    assert [m.id for m in limited.models.list()] == [MODEL]


def test_openai_client_chat(gateway: LiveGateway, client_for: ClientFor, stub: Stub) -> None:
    client = client_for(gateway.token())
    reply = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "Hello world!"
    assert reply.usage is not None
    assert reply.usage.total_tokens == 10
    assert stub.state.bodies[-1]["model"] == "stub-model"  # mapped to the upstream's name


def test_openai_client_streaming_chat_with_usage(
    gateway: LiveGateway, client_for: ClientFor, stub: Stub
) -> None:
    client = client_for(gateway.token())
    chunks = list(
        client.chat.completions.create(
            model=CHAT,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello world!"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


def test_usage_is_always_requested_upstream_but_only_returned_when_asked(
    gateway: LiveGateway, client_for: ClientFor, stub: Stub
) -> None:
    client = client_for(gateway.token())
    chunks = list(
        client.chat.completions.create(
            model=CHAT, messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert stub.state.bodies[-1]["stream_options"] == {"include_usage": True}
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


# --- streaming behaviour -------------------------------------------------------------------------


def _slow_stream(gateway: LiveGateway, secret: str) -> tuple[httpx.Client, Any]:
    client = httpx.Client(base_url=gateway.url, headers=auth(secret), timeout=30)
    body = {"model": CHAT, "stream": True, "messages": [{"role": "user", "content": "slow"}]}
    return client, client.stream("POST", "/v1/chat/completions", json=body)


def _events(response: httpx.Response) -> Any:
    for line in response.iter_lines():
        if line.startswith("data: ") and line != "data: [DONE]":
            yield json.loads(line[6:])


def test_stream_is_passed_through_unbuffered(gateway: LiveGateway, stub: Stub) -> None:
    stub.state.release.clear()
    client, stream = _slow_stream(gateway, gateway.token())
    with client, stream as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
        first_words = [next(events)["choices"][0]["delta"]["content"] for _ in range(2)]
        assert first_words == ["", "Hello"]  # arrived while the upstream still holds the rest
        assert not stub.state.release.is_set()
        stub.state.release.set()
        rest = "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    assert rest == " world!"


def test_client_disconnect_cancels_the_upstream_request(gateway: LiveGateway, stub: Stub) -> None:
    stub.state.release.clear()
    stub.state.cancelled.clear()
    client, stream = _slow_stream(gateway, gateway.token("leaver"))
    with client, stream as response:
        events = _events(response)
        next(events)
        next(events)
    # the client hung up while the upstream was mid-generation
    assert stub.state.cancelled.wait(10), "the upstream request was not cancelled"
    metrics = httpx.get(gateway.url + "/metrics").text
    assert f'bulkhead_gateway_upstream_cancelled_total{{model="{CHAT}"}}' in metrics
    stub.state.release.set()


# --- error paths, raw httpx -----------------------------------------------------------------


def _post(gateway: LiveGateway, path: str, body: Any, secret: str | None, **kw: Any) -> Any:
    headers = auth(secret) if secret else {}
    return httpx.post(gateway.url + path, json=body, headers=headers, timeout=30, **kw)


EMBED = {"model": MODEL, "input": "hello"}


def test_401_without_or_with_a_bad_token(gateway: LiveGateway) -> None:
    _error(_post(gateway, "/v1/embeddings", EMBED, None), 401, "missing_api_key")
    _error(_post(gateway, "/v1/embeddings", EMBED, "bhg_nope"), 401, "invalid_api_key")
    r = httpx.post(gateway.url + "/v1/embeddings", json=EMBED, headers={"authorization": "Basic x"})
    _error(r, 401, "missing_api_key")
    _error(httpx.get(gateway.url + "/v1/models"), 401, "missing_api_key")


def test_the_loaded_heap_is_out_of_the_collectors_sight(gateway: LiveGateway) -> None:
    # the models and libraries are frozen once loaded: full collections no longer walk them
    assert httpx.get(gateway.url + "/readyz").status_code == 200
    assert gc.get_freeze_count() > 10_000


def test_revocation_takes_effect_on_the_next_request(gateway: LiveGateway) -> None:
    from bulkhead.gateway.tokens import TokenStore

    secret = gateway.token("revoked-svc")
    assert _post(gateway, "/v1/embeddings", EMBED, secret).status_code == 200
    store = TokenStore(gateway.settings.database_path)  # as the CLI would, from outside
    [token] = [t for t in store.list() if t.service == "revoked-svc"]
    store.revoke(token.id)
    store.close()
    _error(_post(gateway, "/v1/embeddings", EMBED, secret), 401, "invalid_api_key")


def test_403_for_a_model_the_token_may_not_use_and_404_for_unknown(gateway: LiveGateway) -> None:
    chat_only = gateway.token(models=(CHAT,))
    error = _error(_post(gateway, "/v1/embeddings", EMBED, chat_only), 403, "model_not_allowed")
    assert error["type"] == "permission_error"
    assert error["param"] == "model"
    embed_only = gateway.token(models=(MODEL,))
    chat = {"model": CHAT, "messages": [{"role": "user", "content": "hi"}]}
    _error(_post(gateway, "/v1/chat/completions", chat, embed_only), 403, "model_not_allowed")
    unknown = {"model": "gpt-9", "input": "x"}
    _error(_post(gateway, "/v1/embeddings", unknown, embed_only), 404, "model_not_found")
    as_chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    _error(_post(gateway, "/v1/chat/completions", as_chat, gateway.token()), 404, "model_not_found")


def test_413_for_large_bodies_declared_or_streamed(gateway: LiveGateway) -> None:
    secret = gateway.token()
    big = {"model": MODEL, "input": ["x" * 1000] * 70}  # > 64 KiB
    _error(_post(gateway, "/v1/embeddings", big, secret), 413, "request_too_large")

    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 1024  # no Content-Length: counted while reading

    r = httpx.post(gateway.url + "/v1/embeddings", content=chunks(), headers=auth(secret))
    _error(r, 413, "request_too_large")


def test_422_for_too_many_inputs_and_malformed_requests(gateway: LiveGateway) -> None:
    secret = gateway.token()
    many = {"model": MODEL, "input": ["a"] * 65}
    error = _error(_post(gateway, "/v1/embeddings", many, secret), 422, "too_many_inputs")
    assert error["param"] == "input"
    for body, code in (
        ({"model": MODEL, "input": []}, "invalid_request"),
        ({"model": MODEL}, "invalid_request"),
        ({"model": MODEL, "input": [1, 2]}, "invalid_request"),
        ({"model": MODEL, "input": "x", "encoding_format": "int8"}, "invalid_request"),
        ({"model": MODEL, "input": "x", "dimensions": 12}, "invalid_request"),
        ({"model": MODEL, "input": "y" * 2001}, "input_too_long"),
        ([1, 2, 3], "invalid_request"),
        ({"model": CHAT, "messages": []}, "invalid_request"),
    ):
        path = "/v1/chat/completions" if "messages" in body else "/v1/embeddings"
        _error(_post(gateway, path, body, secret), 422, code)
    r = httpx.post(gateway.url + "/v1/embeddings", content=b"{not json", headers=auth(secret))
    _error(r, 422, "invalid_request")


def test_429_on_requests_per_minute_with_retry_after_and_ratelimit_headers(
    gateway: LiveGateway,
) -> None:
    secret = gateway.token("rpm-svc", rpm=3)
    ok = [_post(gateway, "/v1/embeddings", EMBED, secret) for _ in range(3)]
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert ok[-1].headers["x-ratelimit-limit-requests"] == "3"
    assert ok[-1].headers["x-ratelimit-remaining-requests"] == "0"
    refused = _post(gateway, "/v1/embeddings", EMBED, secret)
    _error(refused, 429, "rate_limit_exceeded")
    assert 55 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"].endswith("s")
    assert refused.headers["x-bulkhead-reject-reason"] == "rate_limit_requests"


def test_429_on_tokens_per_minute_counted_apart_from_requests(gateway: LiveGateway) -> None:
    secret = gateway.token("tpm-svc", rpm=1000, tpm=20)
    first = _post(gateway, "/v1/embeddings", {"model": MODEL, "input": SENTENCES}, secret)
    assert first.status_code == 200
    used = first.json()["usage"]["prompt_tokens"]
    assert first.headers["x-ratelimit-remaining-tokens"] == str(max(0, 20 - used))
    refused = _post(gateway, "/v1/embeddings", EMBED, secret)
    _error(refused, 429, "rate_limit_exceeded")
    assert refused.headers["x-bulkhead-reject-reason"] == "rate_limit_tokens"
    assert refused.headers["x-ratelimit-remaining-requests"] == "999"
    assert int(refused.headers["retry-after"]) >= 1


def test_full_experiment_queue_answers_429_fast_while_production_is_served(
    gateway: LiveGateway,
) -> None:
    experiment = gateway.token("lab", priority="experiment")
    production = gateway.token("prod")
    body = {"model": MODEL, "input": [f"experiment input {i} " * 8 for i in range(32)]}
    results: list[httpx.Response] = []

    def call() -> None:
        results.append(_post(gateway, "/v1/embeddings", body, experiment))

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    served = _post(gateway, "/v1/embeddings", EMBED, production)
    for t in threads:
        t.join(60)
    assert served.status_code == 200
    refused = [r for r in results if r.status_code == 429]
    assert refused, "a 64-input queue cannot hold 12 concurrent 32-input requests"
    assert all(r.status_code in (200, 429) for r in results)
    for r in refused:
        _error(r, 429, "queue_full")
        assert r.headers["retry-after"].isdigit()
        assert r.elapsed.total_seconds() < 1.0  # refused at once, not after waiting
    metrics = httpx.get(gateway.url + "/metrics").text
    assert 'reason="queue_full",priority="experiment"' in metrics.replace(
        'priority="experiment",reason="queue_full"', 'reason="queue_full",priority="experiment"'
    )


def test_abandoned_requests_are_dropped_before_inference(gateway: LiveGateway) -> None:
    secret = gateway.token("impatient")
    long_body = {"model": MODEL, "input": [f"a long sentence {i} " * 20 for i in range(64)]}
    busy = threading.Thread(target=lambda: _post(gateway, "/v1/embeddings", long_body, secret))
    busy.start()
    time.sleep(0.05)  # the model is now working on the long batch
    marker = {"model": MODEL, "input": ["abandoned one", "abandoned two", "abandoned three"]}
    with pytest.raises(httpx.TimeoutException):
        httpx.post(gateway.url + "/v1/embeddings", json=marker, headers=auth(secret), timeout=0.05)
    busy.join(60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if 'bulkhead_gateway_dropped_inputs_total{priority="production"}' in (
            metrics := httpx.get(gateway.url + "/metrics").text
        ):
            break
        time.sleep(0.05)
    assert 'bulkhead_gateway_dropped_inputs_total{priority="production"} 3.0' in metrics
    gone = 'bulkhead_gateway_requests_total{code="499",route="/v1/embeddings",service="impatient"}'
    assert gone in metrics  # recorded as "client closed request", not as a server error
    assert 'code="500"' not in metrics


def test_upstream_errors(gateway: LiveGateway) -> None:
    secret = gateway.token()

    def chat(model: str, content: str, stream: bool = False) -> httpx.Response:
        body = {
            "model": model,
            "stream": stream,
            "messages": [{"role": "user", "content": content}],
        }
        return _post(gateway, "/v1/chat/completions", body, secret)

    passed = chat(CHAT, "error")
    assert passed.status_code == 400
    assert passed.json()["error"]["message"] == "bad request upstream"
    _error(chat(CHAT, "boom"), 502, "upstream_error")
    _error(chat(CHAT, "boom", stream=True), 502, "upstream_error")
    _error(chat(DEAD_CHAT, "hi"), 502, "upstream_unavailable")
    _error(chat(DEAD_CHAT, "hi", stream=True), 502, "upstream_unavailable")


def test_unknown_routes_and_methods_keep_the_error_shape(gateway: LiveGateway) -> None:
    _error(httpx.get(gateway.url + "/v1/nothing"), 404, None)
    _error(httpx.get(gateway.url + "/v1/embeddings"), 405, None)


# --- health and metrics -------------------------------------------------------------------------


def test_health_and_readiness(gateway: LiveGateway) -> None:
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(gateway.url + "/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks[f"model:{MODEL}"] == {"ok": True, "detail": "loaded, unpadded forward"}
    assert checks["database"]["ok"] is True
    assert checks[f"upstream:{CHAT}"]["ok"] is True
    assert checks[f"upstream:{DEAD_CHAT}"]["ok"] is False  # optional: does not fail readiness
    assert checks[f"upstream:{DEAD_CHAT}"]["detail"].endswith("(optional)")


def test_metrics_are_labelled_by_service_never_by_token(gateway: LiveGateway) -> None:
    secret = gateway.token("metrics-svc")
    _post(gateway, "/v1/embeddings", {"model": MODEL, "input": SENTENCES}, secret)
    _post(gateway, "/v1/embeddings", {"model": MODEL, "input": []}, secret)
    text = httpx.get(gateway.url + "/metrics").text
    assert secret not in text
    assert "tok_" not in text
    for line in (
        'bulkhead_gateway_requests_total{code="200",route="/v1/embeddings",service="metrics-svc"}',
        'bulkhead_gateway_requests_total{code="422",route="/v1/embeddings",service="metrics-svc"}',
        'bulkhead_gateway_tokens_total{kind="prompt",model="all-minilm-l6-v2",service="metrics-svc"}',
        'bulkhead_gateway_queue_depth_inputs{priority="production"}',
        'bulkhead_gateway_queue_seconds_bucket{le="0.001",priority="production"}',
        'bulkhead_gateway_inference_seconds_bucket{le="0.001",model="all-minilm-l6-v2"}',
        'bulkhead_gateway_jobs{state="queued"}',
        "bulkhead_gateway_gpu_up 0.0",  # no GPU here: NVMLError means gpu_up 0, not a crash
    ):
        assert line in text, line


class _LowMemoryGpu(GpuMonitor):
    """NVML cannot run here (no GPU); this stands in for a reading of a nearly full card."""

    def read(self) -> tuple[bool, list[GpuReading]]:
        gib = 1 << 30
        return True, [GpuReading(0, "RTX 3090", 23 * gib + gib // 2, 24 * gib, 0.97)]


def test_low_gpu_memory_refuses_experiments_but_not_production(gateway: LiveGateway) -> None:
    runtime = gateway.app.state.gateway
    real, runtime.gpu = runtime.gpu, _LowMemoryGpu(1.0)
    try:
        experiment = _post(gateway, "/v1/embeddings", EMBED, gateway.token(priority="experiment"))
        production = _post(gateway, "/v1/embeddings", EMBED, gateway.token())
        metrics = httpx.get(gateway.url + "/metrics").text
    finally:
        runtime.gpu = real
    _error(experiment, 429, "rate_limit_exceeded")
    assert experiment.headers["x-bulkhead-reject-reason"] == "gpu_memory"
    assert experiment.headers["retry-after"] == "1"
    assert production.status_code == 200
    assert 'bulkhead_gateway_gpu_memory_total_bytes{gpu="0",name="RTX 3090"} 2.5769803776e+10' in (
        metrics
    )
    assert "bulkhead_gateway_gpu_up 1.0" in metrics


def test_a_lean_route_refuses_what_it_would_silently_skip() -> None:
    from fastapi import APIRouter, Depends
    from starlette.requests import Request
    from starlette.responses import Response

    from bulkhead.gateway.routes._common import LeanRoute

    async def endpoint(request: Request) -> Response:
        return Response()

    async def with_params(request: Request, job_id: str) -> Response:
        return Response()

    router = APIRouter(route_class=LeanRoute)
    router.add_api_route("/fine", endpoint, methods=["POST"])
    with pytest.raises(TypeError, match="takes only"):
        router.add_api_route("/jobs/{job_id}", with_params, methods=["GET"])
    with pytest.raises(TypeError, match="runs no dependencies"):
        router.add_api_route("/guarded", endpoint, dependencies=[Depends(lambda: None)])
