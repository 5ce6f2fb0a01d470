"""POST /v1/chat/completions: proxied to the configured upstream, streaming passed through."""

from __future__ import annotations

import time

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from bulkhead.gateway.core import Gateway
from bulkhead.gateway.ratelimit import TokenLimits
from bulkhead.gateway.routes._common import ERRORS, LeanRoute, parse, runtime
from bulkhead.gateway.schemas import ChatCompletionRequest
from bulkhead.gateway.tokens import Token
from bulkhead.gateway.upstream import UsageFn

router = APIRouter(route_class=LeanRoute)

_UPSTREAM_ERRORS: dict[int | str, dict[str, object]] = {
    502: {"description": "The upstream is unreachable or failed."},
    504: {"description": "The upstream timed out."},
}


@router.post(
    "/v1/chat/completions",
    responses={
        200: {"description": "OpenAI chat completion, or an SSE stream of chunks."},
        **ERRORS,
        **_UPSTREAM_ERRORS,
    },
    openapi_extra={"x-body-model": "ChatCompletionRequest"},
    summary="Create a chat completion",
)
async def create_chat_completion(request: Request) -> Response:
    """Proxy a chat completion to the model's upstream (Ollama, vLLM)."""
    gw = runtime(request)
    token = gw.authenticate(request)
    raw = await request.body()
    chat = parse(ChatCompletionRequest, raw)
    gw.authorize(token, chat.model, "chat")
    estimate = sum(len(str(m.content or "")) for m in chat.messages) // 4 + 1
    limits = gw.admit(token, estimate)
    body = orjson.loads(raw)
    on_usage = _usage_counter(gw, token, chat.model, limits, estimate)
    if not chat.stream:
        response = await gw.proxy.complete(chat.model, body, on_usage)
    else:
        wants_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        cancelled = gw.metrics.upstream_disconnects.labels(chat.model).inc
        response = await gw.proxy.stream(chat.model, body, wants_usage, on_usage, cancelled)
    response.headers.update(limits.headers(time.monotonic()))
    return response


def _usage_counter(
    gw: Gateway, token: Token, model: str, limits: TokenLimits, estimate: int
) -> UsageFn:
    def counted(prompt: int, completion: int) -> None:
        limits.settle(time.monotonic(), estimate, prompt + completion)
        gw.count_tokens(token, model, "prompt", prompt)
        gw.count_tokens(token, model, "completion", completion)

    return counted
