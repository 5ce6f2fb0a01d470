"""The gateway's runtime: the parts one app holds, and the checks every route shares.

:class:`Gateway` owns the token store, rate limiter, batchers (one per local model), chat
proxy, job store, GPU monitor and metrics. Routes call :meth:`Gateway.authenticate`,
:meth:`Gateway.authorize` and :meth:`Gateway.admit`, which raise :class:`ApiError` in OpenAI's
shape: 401 without a valid token, 404 for an unknown model, 403 for a model the token may not
use, 429 (with ``Retry-After``) when a limit, a queue or the GPU says no.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from starlette.requests import Request

from bulkhead.gateway.apierrors import (
    AUTHENTICATION,
    NOT_FOUND,
    PERMISSION,
    RATE_LIMIT,
    ApiError,
)
from bulkhead.gateway.batching import Batcher, QueueFull
from bulkhead.gateway.gpu import GpuMonitor
from bulkhead.gateway.jobs.store import JobStore
from bulkhead.gateway.metrics import Metrics
from bulkhead.gateway.ratelimit import RateLimiter, TokenLimits, retry_after_header
from bulkhead.gateway.settings import GatewaySettings
from bulkhead.gateway.tokens import Token, TokenStore
from bulkhead.gateway.upstream import ChatProxy

SERVICE_KEY = "bulkhead.service"
ANONYMOUS = "anonymous"


@dataclass
class Gateway:
    """Everything one running gateway holds."""

    settings: GatewaySettings
    tokens: TokenStore
    jobs: JobStore
    metrics: Metrics
    gpu: GpuMonitor
    proxy: ChatProxy
    limiter: RateLimiter = field(default_factory=RateLimiter)
    batchers: dict[str, Batcher] = field(default_factory=dict)
    background: list[asyncio.Task[None]] = field(default_factory=list)

    def authenticate(self, request: Request) -> Token:
        """The token presented as ``Authorization: Bearer``; 401 when missing or not live."""
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(
                401,
                "missing API key: send 'Authorization: Bearer <token>'",
                type=AUTHENTICATION,
                code="missing_api_key",
            )
        token = self.tokens.lookup(secret.strip())
        if token is None:
            raise ApiError(
                401, "invalid or revoked API key", type=AUTHENTICATION, code="invalid_api_key"
            )
        request.scope[SERVICE_KEY] = token.service
        return token

    def authorize(self, token: Token, model: str, kind: str) -> None:
        """404 when ``model`` is not a ``kind`` model here; 403 when the token may not use it."""
        known = (
            self.settings.models.embeddings if kind == "embeddings" else self.settings.models.chat
        )
        if model not in known:
            raise ApiError(
                404,
                f"the model {model!r} does not exist here ({kind})",
                type=NOT_FOUND,
                code="model_not_found",
                param="model",
            )
        if not token.allows(model):
            raise ApiError(
                403,
                f"this token may not use the model {model!r}",
                type=PERMISSION,
                code="model_not_allowed",
                param="model",
            )

    def priority_of(self, token: Token) -> str:
        """The token's admission class; the last class if its own no longer exists."""
        if token.priority in self.settings.priorities:
            return token.priority
        return list(self.settings.priorities)[-1]

    def admit(self, token: Token, estimated_tokens: int) -> TokenLimits:
        """Rate limits, then GPU memory; returns the token's windows for settling."""
        limits = self.limiter.for_token(token.id, token.rpm, token.tpm)
        verdict = limits.check(time.monotonic(), estimated_tokens)
        priority = self.priority_of(token)
        if not verdict.allowed:
            reason = verdict.reason or "rate_limit"
            raise self.rejection(reason, priority, verdict.retry_after_s, verdict.headers)
        if priority != next(iter(self.settings.priorities)):
            self._check_gpu(priority, limits)
        return limits

    def _check_gpu(self, priority: str, limits: TokenLimits) -> None:
        free = self.gpu.min_free_bytes()
        if free is not None and free < self.settings.gpu.min_free_memory_mib << 20:
            headers = limits.headers(time.monotonic())
            raise self.rejection("gpu_memory", priority, self.settings.gpu.poll_interval_s, headers)

    def queue_full(self, full: QueueFull, limits: TokenLimits) -> ApiError:
        """The 429 for a full class queue."""
        headers = limits.headers(time.monotonic())
        return self.rejection("queue_full", full.priority, full.retry_after_s, headers)

    def rejection(
        self, reason: str, priority: str, retry_after_s: float, headers: dict[str, str]
    ) -> ApiError:
        """Count an admission rejection; the 429 to raise."""
        self.metrics.rejections.labels(reason, priority).inc()
        messages = {
            "rate_limit_requests": "request rate limit reached for this token",
            "rate_limit_tokens": "token rate limit reached for this token",
            "queue_full": f"the {priority} queue is full; retry later",
            "gpu_memory": "GPU memory is low; only production traffic is admitted",
        }
        return ApiError(
            429,
            messages.get(reason, reason),
            type=RATE_LIMIT,
            code="queue_full" if reason == "queue_full" else "rate_limit_exceeded",
            headers={
                **headers,
                "retry-after": retry_after_header(retry_after_s),
                "x-bulkhead-reject-reason": reason,
            },
        )

    def count_tokens(self, token: Token, model: str, kind: str, n: int) -> None:
        """Add to the token counter, labelled by service."""
        if n:
            self.metrics.tokens.labels(token.service, model, kind).inc(n)
