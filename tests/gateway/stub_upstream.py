"""A small OpenAI-compatible chat server standing in for Ollama (no model server installs here).

It is the one fake in the gateway's tests. What the message content asks for, it does:

- ``"slow"``: stream one chunk, then hold until the test releases it (or 20 s pass);
- ``"error"``: answer an OpenAI-shaped 400;  ``"boom"``: answer a plain-text 500;
- anything else: answer "Hello world" in three chunks (or one JSON body without streaming).

It records every request body, and sets ``cancelled`` when a stream is abandoned mid-way.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

WORDS = ("Hello", " world", "!")


@dataclass
class StubState:
    """What the stub saw, and the switches a test flips."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    cancelled: threading.Event = field(default_factory=threading.Event)
    completed_streams: int = 0


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _usage_chunk(model: str) -> bytes:
    body = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def build(state: StubState) -> Starlette:
    """The stub app around ``state``."""

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

    async def chat(request: Request) -> Response:
        body = await request.json()
        state.bodies.append(body)
        content = str(body["messages"][-1].get("content", ""))
        if content == "error":
            error = {"message": "bad request upstream", "type": "invalid_request_error"}
            return JSONResponse({"error": error}, status_code=400)
        if content == "boom":
            return PlainTextResponse("internal failure", status_code=500)
        model = body["model"]
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                _stream(state, model, slow=content == "slow", usage=usage),
                media_type="text/event-stream",
            )
        return JSONResponse(_completion(model))

    return Starlette(
        routes=[
            Route("/v1/models", models),
            Route("/v1/chat/completions", chat, methods=["POST"]),
        ]
    )


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(WORDS)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


async def _stream(state: StubState, model: str, *, slow: bool, usage: bool) -> AsyncIterator[bytes]:
    finished = False
    try:
        yield _chunk(model, {"role": "assistant", "content": ""})
        for i, word in enumerate(WORDS):
            yield _chunk(model, {"content": word})
            if slow and i == 0:
                await _wait(state.release, 20.0)
        yield _chunk(model, {}, finish="stop")
        if usage:
            yield _usage_chunk(model)
        yield b"data: [DONE]\n\n"
        finished = True
        state.completed_streams += 1
    finally:
        if not finished:
            state.cancelled.set()


async def _wait(event: threading.Event, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not event.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
