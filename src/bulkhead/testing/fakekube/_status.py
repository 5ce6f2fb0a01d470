"""``Status`` bodies, as the API server answers errors (and successful deletes)."""

from __future__ import annotations

from typing import Any

import httpx2

JSON = {"Content-Type": "application/json"}


def ok(body: dict[str, Any], code: int = 200) -> httpx2.Response:
    """A JSON response with the exact content type lightkube expects."""
    return httpx2.Response(code, json=body, headers=JSON)


def failure(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> httpx2.Response:
    """A ``kind: Status`` failure body with its HTTP code."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return ok(body, code)


def success(details: dict[str, Any]) -> httpx2.Response:
    """The ``Status`` a delete answers with."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    return ok({**body, "details": details})


class Reject(Exception):
    """Raised inside a handler to answer with a Status failure."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.response = failure(code, reason, message, details)
