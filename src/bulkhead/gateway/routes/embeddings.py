"""POST /v1/embeddings: local models behind the dynamic batcher."""

from __future__ import annotations

import time

import numpy as np
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from bulkhead.gateway.apierrors import SERVER, ApiError
from bulkhead.gateway.batching import QueueFull
from bulkhead.gateway.routes._common import (
    CLIENT_GONE,
    ERRORS,
    LeanRoute,
    parse,
    runtime,
    wait_unless_gone,
)
from bulkhead.gateway.schemas import EmbeddingRequest, EmbeddingResponse
from bulkhead.gateway.serialize import JSONBytes, embeddings_body
from bulkhead.gateway.settings import LimitSettings

router = APIRouter(route_class=LeanRoute)


@router.post(
    "/v1/embeddings",
    responses={200: {"model": EmbeddingResponse}, **ERRORS},
    openapi_extra={"x-body-model": "EmbeddingRequest"},
    summary="Create embeddings",
)
async def create_embeddings(request: Request) -> Response:
    """Embed one text or a list of texts with a local model."""
    gw = runtime(request)
    token = gw.authenticate(request)
    body = parse(EmbeddingRequest, await request.body())
    texts = _texts(body, gw.settings.limits)
    gw.authorize(token, body.model, "embeddings")
    batcher = gw.batchers.get(body.model)
    if batcher is None:
        raise ApiError(
            503,
            f"the model {body.model!r} is still loading",
            type=SERVER,
            code="model_loading",
            headers={"retry-after": "5"},
        )
    if body.dimensions is not None and body.dimensions != batcher.embedder.dimensions:
        raise ApiError(
            422,
            f"dimensions: this model has {batcher.embedder.dimensions}",
            code="invalid_request",
            param="dimensions",
        )
    estimate = sum(batcher.embedder.estimate_tokens(text) for text in texts)
    limits = gw.admit(token, estimate)
    try:
        futures = batcher.submit(texts, gw.priority_of(token))
    except QueueFull as full:
        raise gw.queue_full(full, limits) from None
    results = await wait_unless_gone(request, futures)
    if results is None:
        return Response(status_code=CLIENT_GONE)
    vectors = (
        results[0].vectors if len(results) == 1 else np.concatenate([r.vectors for r in results])
    )
    used = int(sum(int(r.token_counts.sum()) for r in results))
    limits.settle(time.monotonic(), estimate, used)
    gw.count_tokens(token, body.model, "prompt", used)
    content = embeddings_body(body.model, vectors, used, body.encoding_format)
    return JSONBytes(content, headers=limits.headers(time.monotonic()))


def _texts(body: EmbeddingRequest, limits: LimitSettings) -> list[str]:
    texts = [body.input] if isinstance(body.input, str) else body.input
    if not texts:
        raise ApiError(
            422, "input: at least one text is needed", code="invalid_request", param="input"
        )
    if len(texts) > limits.max_inputs:
        raise ApiError(
            422,
            f"input: {len(texts)} inputs, at most {limits.max_inputs} allowed",
            code="too_many_inputs",
            param="input",
        )
    longest = max(len(text) for text in texts)
    if longest > limits.max_input_chars:
        raise ApiError(
            422,
            f"input: a text of {longest} characters exceeds {limits.max_input_chars}",
            code="input_too_long",
            param="input",
        )
    return texts
