"""What every route shares: reaching the runtime, parsing raw bodies, waiting on the model, and
:class:`LeanRoute` for the hot routes."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from bulkhead.gateway.apierrors import ApiError
from bulkhead.gateway.core import Gateway
from bulkhead.gateway.schemas import ErrorResponse

M = TypeVar("M", bound=BaseModel)

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (401, "No token, or a revoked one."),
        (403, "The token may not use this model."),
        (404, "No such model or job."),
        (413, "Request body too large."),
        (422, "Invalid request (too many inputs, bad fields)."),
        (429, "Rate limit, full queue or low GPU memory; see Retry-After."),
    )
}


class LeanRoute(APIRoute):
    """A route documented like any FastAPI route but served without FastAPI's per-request
    dependency solving (query, header and cookie parsing, a scratch response): its endpoint
    takes the raw :class:`Request` and returns a :class:`Response`, parsing the body itself.
    Errors still go through the app's exception handlers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint itself, checked to take only the request."""
        parameters = list(inspect.signature(self.endpoint).parameters)
        if parameters != ["request"]:
            raise TypeError(f"{self.path}: a LeanRoute endpoint takes only (request)")
        if self.dependant.dependencies or self.dependencies:
            raise TypeError(f"{self.path}: a LeanRoute runs no dependencies; declare none")
        handler: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return handler


def runtime(request: Request) -> Gateway:
    """The app's :class:`Gateway`."""
    gateway: Gateway = request.app.state.gateway
    return gateway


def parse(model: type[M], body: bytes) -> M:
    """Validate a raw JSON body; the first problem becomes a 422 naming its field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = f"{where}: {first['msg']}" if where else first["msg"]
        raise ApiError(422, message, code="invalid_request", param=where or None) from None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


CLIENT_GONE = 499  # nginx's "client closed request": what metrics record for abandoned calls


async def wait_unless_gone(
    request: Request, futures: Sequence[asyncio.Future[Any]]
) -> list[Any] | None:
    """Wait for ``futures``; None if the client disconnected first, in which case they are
    cancelled and the batcher drops their inputs before inference."""
    gathered = futures[0] if len(futures) == 1 else asyncio.gather(*futures)
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait((gathered, watcher), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        gathered.cancel()
        raise
    finally:
        watcher.cancel()
    if not gathered.done():  # the client left first
        gathered.cancel()
        return None
    return [gathered.result()] if len(futures) == 1 else list(gathered.result())
