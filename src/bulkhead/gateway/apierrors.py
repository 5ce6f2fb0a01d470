"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Every refusal the gateway makes is an :class:`ApiError` with an HTTP status, an OpenAI error
type and a stable ``code`` that clients and tests can match on. The app's exception handlers
turn these, FastAPI's validation errors and Starlette's HTTP errors into the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

INVALID_REQUEST = "invalid_request_error"
AUTHENTICATION = "authentication_error"
PERMISSION = "permission_error"
RATE_LIMIT = "rate_limit_error"
NOT_FOUND = "not_found_error"
SERVER = "server_error"
UPSTREAM = "upstream_error"


class ApiError(Exception):
    """A request the gateway refuses, or an upstream failure it reports."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})

    def response(self) -> Response:
        """This error as an HTTP response."""
        return error_response(
            self.status,
            self.message,
            type=self.type,
            code=self.code,
            param=self.param,
            headers=self.headers,
        )


def error_body(
    message: str, *, type: str, code: str | None = None, param: str | None = None
) -> bytes:
    """The JSON body of an OpenAI-style error."""
    return orjson.dumps({"error": {"message": message, "type": type, "param": param, "code": code}})


def error_response(
    status: int,
    message: str,
    *,
    type: str = INVALID_REQUEST,
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An OpenAI-style error response."""
    body = error_body(message, type=type, code=code, param=param)
    return Response(body, status_code=status, headers=headers, media_type="application/json")
