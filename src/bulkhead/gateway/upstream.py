"""Chat completions proxied to OpenAI-compatible upstreams (Ollama, vLLM), streaming included.

Streams are passed through event by event as they arrive (nothing waits for the end). The
gateway always asks the upstream for ``stream_options.include_usage`` so it can count tokens,
and drops the usage-only event again when the client did not ask for it. A dedicated ASGI
response listens for the client's disconnect while streaming and closes the upstream request
at once, so an abandoned generation stops consuming the GPU.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bulkhead.gateway.apierrors import UPSTREAM, ApiError
from bulkhead.gateway.settings import ChatModel

UsageFn = Callable[[int, int], None]  # prompt tokens, completion tokens


@dataclass(frozen=True)
class Upstream:
    """Where one chat model lives."""

    name: str
    config: ChatModel

    @property
    def url(self) -> str:
        """The upstream's chat completions endpoint."""
        return self.config.upstream.rstrip("/") + "/chat/completions"

    @property
    def models_url(self) -> str:
        """The upstream's model list, used as its readiness probe."""
        return self.config.upstream.rstrip("/") + "/models"

    def headers(self) -> dict[str, str]:
        """Headers for the upstream, its API key included when configured."""
        headers = {"content-type": "application/json"}
        key = os.environ.get(self.config.api_key_env) if self.config.api_key_env else None
        if key:
            headers["authorization"] = f"Bearer {key}"
        return headers

    def timeout(self) -> httpx.Timeout:
        """Connect fast, wait long for tokens."""
        return httpx.Timeout(self.config.timeout_s, connect=5.0)


class ChatProxy:
    """One pooled HTTP client for every upstream."""

    def __init__(self, models: dict[str, ChatModel]) -> None:
        self.upstreams = {name: Upstream(name, cfg) for name, cfg in models.items()}
        limits = httpx.Limits(max_connections=512, max_keepalive_connections=64)
        self._client = httpx.AsyncClient(limits=limits, trust_env=False)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()

    async def reachable(self, name: str) -> tuple[bool, str]:
        """Whether the upstream answers its model list within two seconds."""
        upstream = self.upstreams[name]
        try:
            response = await self._client.get(upstream.models_url, timeout=2.0)
        except httpx.HTTPError as exc:
            return False, f"{upstream.config.upstream}: {type(exc).__name__}"
        ok = response.status_code < 500
        return ok, f"{upstream.config.upstream}: HTTP {response.status_code}"

    def _request(self, name: str, body: dict[str, Any]) -> httpx.Request:
        upstream = self.upstreams[name]
        payload = {**body, "model": upstream.config.model or name}
        if payload.get("stream"):
            options = dict(payload.get("stream_options") or {})
            options["include_usage"] = True
            payload["stream_options"] = options
        return self._client.build_request(
            "POST",
            upstream.url,
            content=orjson.dumps(payload),
            headers=upstream.headers(),
            timeout=upstream.timeout(),
        )

    async def complete(self, name: str, body: dict[str, Any], on_usage: UsageFn) -> Response:
        """A non-streaming completion, passed through with its usage counted."""
        response = await self._send(name, body, stream=False)
        if response.status_code >= 400:
            return _passthrough_error(response, response.content)
        try:
            usage = orjson.loads(response.content).get("usage") or {}
        except (orjson.JSONDecodeError, AttributeError):
            raise ApiError(
                502, "upstream sent invalid JSON", type=UPSTREAM, code="bad_upstream"
            ) from None
        _report(usage, on_usage)
        return Response(response.content, media_type="application/json")

    async def stream(
        self,
        name: str,
        body: dict[str, Any],
        client_wants_usage: bool,
        on_usage: UsageFn,
        on_cancel: Callable[[], None],
    ) -> Response:
        """A streaming completion as an SSE response that follows the client's lifetime."""
        response = await self._send(name, body, stream=True)
        if response.status_code >= 400:
            content = await response.aread()
            await response.aclose()
            return _passthrough_error(response, content)
        events = _SseFilter(client_wants_usage, on_usage)
        return SSEProxyResponse(response, events, on_cancel)

    async def _send(self, name: str, body: dict[str, Any], *, stream: bool) -> httpx.Response:
        request = self._request(name, body)
        try:
            return await self._client.send(request, stream=stream)
        except httpx.TimeoutException:
            raise ApiError(
                504, f"upstream for {name!r} timed out", type=UPSTREAM, code="upstream_timeout"
            ) from None
        except httpx.HTTPError as exc:
            raise ApiError(
                502,
                f"upstream for {name!r} unreachable: {type(exc).__name__}",
                type=UPSTREAM,
                code="upstream_unavailable",
            ) from None


def _report(usage: Any, on_usage: UsageFn) -> None:
    if isinstance(usage, dict):
        prompt = usage.get("prompt_tokens")
        completion = usage.get("completion_tokens")
        on_usage(
            prompt if isinstance(prompt, int) else 0,
            completion if isinstance(completion, int) else 0,
        )


def _passthrough_error(response: httpx.Response, content: bytes) -> Response:
    """An upstream's 4xx keeps its status and body when it is OpenAI-shaped; else a 502."""
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError:
        parsed = None
    if response.status_code < 500 and isinstance(parsed, dict) and "error" in parsed:
        return Response(content, status_code=response.status_code, media_type="application/json")
    raise ApiError(
        502, f"upstream answered HTTP {response.status_code}", type=UPSTREAM, code="upstream_error"
    )


class _SseFilter:
    """Splits an SSE byte stream into events, counts usage, drops unrequested usage events."""

    def __init__(self, client_wants_usage: bool, on_usage: UsageFn) -> None:
        self._wants_usage = client_wants_usage
        self._on_usage = on_usage
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        """Complete events (with their blank-line terminator) ready to forward."""
        self._buffer += chunk.replace(b"\r\n", b"\n")
        *events, self._buffer = self._buffer.split(b"\n\n")
        return [event + b"\n\n" for event in events if self._keep(event)]

    def flush(self) -> list[bytes]:
        """Whatever is left when the upstream ends."""
        rest, self._buffer = self._buffer, b""
        return [rest + b"\n\n"] if rest.strip() and self._keep(rest) else []

    def _keep(self, event: bytes) -> bool:
        if b'"usage"' not in event:
            return True
        for line in event.split(b"\n"):
            if not line.startswith(b"data:"):
                continue
            try:
                payload = orjson.loads(line[5:].strip())
            except orjson.JSONDecodeError:
                return True
            if isinstance(payload, dict) and payload.get("usage"):
                _report(payload["usage"], self._on_usage)
                return self._wants_usage or bool(payload.get("choices"))
        return True


class SSEProxyResponse(Response):
    """Streams an upstream's events to the client; a client disconnect closes the upstream."""

    media_type = "text/event-stream"

    def __init__(
        self, upstream: httpx.Response, events: _SseFilter, on_cancel: Callable[[], None]
    ) -> None:
        # No body and so no Content-Length: the length is unknown until the upstream ends.
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})
        self._upstream = upstream
        self._events = events
        self._on_cancel = on_cancel
        self._finished = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._pump, send, group.cancel_scope)
                group.start_soon(self._watch, receive, group.cancel_scope)
        finally:
            with anyio.CancelScope(shield=True):
                await self._upstream.aclose()
            if not self._finished:
                self._on_cancel()

    async def _pump(self, send: Send, scope: anyio.CancelScope) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        async for chunk in _chunks(self._upstream):
            for event in self._events.feed(chunk):
                await send({"type": "http.response.body", "body": event, "more_body": True})
        for event in self._events.flush():
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self._finished = True
        scope.cancel()

    async def _watch(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        scope.cancel()


async def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes():
            yield chunk
    except httpx.HTTPError:  # the upstream broke mid-stream: end the client's stream too
        return
