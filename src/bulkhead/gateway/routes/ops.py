"""Operations: GET /v1/models, /healthz (process up), /readyz (able to serve), /metrics."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from bulkhead.gateway.core import Gateway
from bulkhead.gateway.routes._common import ERRORS, runtime
from bulkhead.gateway.schemas import ModelList, Readiness
from bulkhead.gateway.serialize import JSONBytes, dumps

router = APIRouter()
_STARTED = int(time.time())


@router.get("/v1/models", responses={200: {"model": ModelList}, **ERRORS}, summary="List models")
async def list_models(request: Request) -> Response:
    """The models this token may use."""
    gw = runtime(request)
    token = gw.authenticate(request)
    data = [
        {"id": name, "object": "model", "created": _STARTED, "owned_by": owner}
        for name, owner in _models(gw)
        if token.allows(name)
    ]
    return JSONBytes(dumps({"object": "list", "data": data}))


def _models(gw: Gateway) -> list[tuple[str, str]]:
    local = [(name, "bulkhead-gateway") for name in gw.settings.models.embeddings]
    chat = [(name, "upstream") for name in gw.settings.models.chat]
    return local + chat


@router.get("/healthz", summary="Liveness")
async def healthz() -> Response:
    """The process is up and its event loop answers."""
    return JSONBytes(b'{"status":"ok"}')


@router.get(
    "/readyz",
    responses={200: {"model": Readiness}, 503: {"model": Readiness}},
    summary="Readiness",
)
async def readyz(request: Request) -> Response:
    """Models loaded, state database writable, required upstreams reachable."""
    gw = runtime(request)
    checks: dict[str, dict[str, object]] = {}
    for name in gw.settings.models.embeddings:
        batcher = gw.batchers.get(name)
        detail = "not loaded"
        if batcher is not None:
            forward = getattr(batcher.embedder, "forward", None)
            detail = f"loaded, {forward} forward" if forward else "loaded"
        checks[f"model:{name}"] = {"ok": batcher is not None, "detail": detail}
    checks["database"] = await _database(gw)
    required = True
    for name, config in gw.settings.models.chat.items():
        ok, detail = await gw.proxy.reachable(name)
        checks[f"upstream:{name}"] = {
            "ok": ok,
            "detail": detail + ("" if config.required else " (optional)"),
        }
        required = required and (ok or not config.required)
    ready = required and all(
        c["ok"] for key, c in checks.items() if not key.startswith("upstream:")
    )
    body = dumps({"ready": ready, "checks": checks})
    return JSONBytes(body, status_code=200 if ready else 503)


async def _database(gw: Gateway) -> dict[str, object]:
    try:
        await asyncio.to_thread(gw.jobs.probe_write)
    except Exception as exc:  # any failure means "not writable"; say which
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "detail": "writable"}


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    """Prometheus exposition format."""
    gw = runtime(request)
    for name in gw.settings.priorities:
        depth = sum(b.depth(name) for b in gw.batchers.values())
        gw.metrics.queue_depth.labels(name).set(depth)
    body = await asyncio.to_thread(gw.metrics.render)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
