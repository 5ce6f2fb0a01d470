"""Request and response shapes of the HTTP API (OpenAI's where one exists).

Requests are validated from the raw body with pydantic (``model_validate_json``), skipping
FastAPI's generic body handling; responses are written by :mod:`bulkhead.gateway.serialize`.
The response models here document the API in the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EmbeddingRequest(BaseModel):
    """POST /v1/embeddings."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, description="An embedding model this gateway serves.")
    input: str | list[str] = Field(description="One text or a list of texts.")
    encoding_format: Literal["float", "base64"] = Field(
        "float", description="float: JSON numbers; base64: little-endian float32 bytes."
    )
    dimensions: int | None = Field(
        None, ge=1, description="Must equal the model's dimensions when given."
    )
    user: str | None = Field(None, description="Accepted and ignored, as OpenAI's.")


class StreamOptions(BaseModel):
    """Streaming options of a chat request."""

    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatMessage(BaseModel):
    """One chat message; extra fields pass through to the upstream."""

    model_config = ConfigDict(extra="allow")

    role: str = Field(min_length=1)
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """POST /v1/chat/completions; unknown fields are passed to the upstream unchanged."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, description="A chat model this gateway proxies.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None


class JobRequest(BaseModel):
    """POST /v1/jobs: inputs inline, or a JSONL file inside the configured input directory."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="An embedding model this gateway serves.")
    input: list[str] | None = Field(None, min_length=1, description="The texts to embed.")
    input_file: str | None = Field(
        None,
        min_length=1,
        description="A JSONL file under jobs.input_dir: one JSON string, or an object with "
        "an 'input' string, per line.",
    )


class ErrorDetail(BaseModel):
    """OpenAI's error object."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every error the gateway returns."""

    error: ErrorDetail


class EmbeddingObject(BaseModel):
    """One embedding."""

    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    """Tokens counted for a request."""

    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    """The answer to POST /v1/embeddings."""

    object: Literal["list"] = "list"
    data: list[EmbeddingObject]
    model: str
    usage: Usage


class ModelObject(BaseModel):
    """One model."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """GET /v1/models."""

    object: Literal["list"] = "list"
    data: list[ModelObject]


class JobObject(BaseModel):
    """A batch job's status and progress."""

    id: str
    object: Literal["embedding.job"] = "embedding.job"
    model: str
    status: Literal["queued", "running", "succeeded", "failed"]
    total: int
    completed: int
    progress: float
    attempts: int
    max_attempts: int
    usage: Usage
    error: str | None
    created_at: float
    finished_at: float | None


class JobResultsPage(BaseModel):
    """One page of a job's results."""

    object: Literal["list"] = "list"
    data: list[EmbeddingObject]
    model: str
    has_more: bool
    next_offset: int | None


class ReadyCheck(BaseModel):
    """One readiness check."""

    ok: bool
    detail: str


class Readiness(BaseModel):
    """GET /readyz."""

    ready: bool
    checks: dict[str, ReadyCheck]
