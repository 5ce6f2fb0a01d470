"""Batch jobs: POST /v1/jobs, GET /v1/jobs/{id}, GET /v1/jobs/{id}/results.

A job belongs to the service of the token that created it; other services get a 404, as if
it did not exist. Results can be read while a job runs: committed chunks appear in order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from bulkhead.gateway.apierrors import NOT_FOUND, ApiError
from bulkhead.gateway.core import Gateway
from bulkhead.gateway.jobs.store import JobRecord
from bulkhead.gateway.routes._common import ERRORS, parse, runtime
from bulkhead.gateway.schemas import JobObject, JobRequest, JobResultsPage
from bulkhead.gateway.serialize import JSONBytes, dumps, embedding_items
from bulkhead.gateway.tokens import Token

router = APIRouter()


@router.post(
    "/v1/jobs",
    status_code=202,
    responses={202: {"model": JobObject}, **ERRORS},
    openapi_extra={"x-body-model": "JobRequest"},
    summary="Create a batch embedding job",
)
async def create_job(request: Request) -> Response:
    """Queue a durable embedding job over inline inputs or a JSONL file."""
    gw = runtime(request)
    token = gw.authenticate(request)
    job = parse(JobRequest, await request.body())
    gw.authorize(token, job.model, "embeddings")
    texts = await _inputs(gw, job)
    gw.admit(token, 0)
    record = await asyncio.to_thread(
        gw.jobs.create,
        service=token.service,
        model=job.model,
        priority=gw.priority_of(token),
        inputs=texts,
        max_attempts=gw.settings.jobs.max_attempts,
    )
    return JSONBytes(dumps(job_object(record)), status_code=202)


@router.get(
    "/v1/jobs/{job_id}", responses={200: {"model": JobObject}, **ERRORS}, summary="Get a job"
)
async def get_job(request: Request, job_id: str) -> Response:
    """A job's status and progress."""
    gw = runtime(request)
    record = await _owned(gw, gw.authenticate(request), job_id)
    return JSONBytes(dumps(job_object(record)))


@router.get(
    "/v1/jobs/{job_id}/results",
    responses={200: {"model": JobResultsPage}, **ERRORS},
    summary="Read a job's results",
)
async def get_job_results(
    request: Request,
    job_id: str,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=2**31)] = None,
    encoding_format: Literal["float", "base64"] = "float",
) -> Response:
    """Committed results from ``offset``, in input order."""
    gw = runtime(request)
    record = await _owned(gw, gw.authenticate(request), job_id)
    size = min(limit or gw.settings.jobs.results_page_max, gw.settings.jobs.results_page_max)
    rows = await asyncio.to_thread(gw.jobs.results, job_id, offset, size)
    data = []
    for index, vector in rows:
        data.extend(embedding_items(vector.reshape(1, -1), encoding_format, first_index=index))
    end = offset + len(data)
    page = {
        "object": "list",
        "data": data,
        "model": record.model,
        "has_more": end < record.total,
        "next_offset": end if end < record.total else None,
    }
    return JSONBytes(dumps(page))


def job_object(record: JobRecord) -> dict[str, object]:
    """The API's view of a stored job."""
    return {
        "id": record.id,
        "object": "embedding.job",
        "model": record.model,
        "status": record.state,
        "total": record.total,
        "completed": record.completed,
        "progress": record.completed / record.total if record.total else 1.0,
        "attempts": record.attempts,
        "max_attempts": record.max_attempts,
        "usage": {"prompt_tokens": record.tokens, "total_tokens": record.tokens},
        "error": record.error,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
    }


async def _owned(gw: Gateway, token: Token, job_id: str) -> JobRecord:
    record = await asyncio.to_thread(gw.jobs.get, job_id)
    if record is None or record.service != token.service:
        raise ApiError(404, f"no job {job_id!r}", type=NOT_FOUND, code="job_not_found")
    return record


async def _inputs(gw: Gateway, job: JobRequest) -> list[str]:
    if (job.input is None) == (job.input_file is None):
        raise ApiError(
            422, "give exactly one of input and input_file", code="invalid_request", param="input"
        )
    texts = job.input if job.input is not None else await _read_jsonl(gw, job.input_file or "")
    limits = gw.settings.limits
    if len(texts) > limits.max_job_inputs:
        raise ApiError(
            422,
            f"input: {len(texts)} inputs, at most {limits.max_job_inputs}",
            code="too_many_inputs",
            param="input",
        )
    if not texts:
        raise ApiError(
            422, "input: at least one text is needed", code="invalid_request", param="input"
        )
    if max(len(text) for text in texts) > limits.max_input_chars:
        raise ApiError(
            422,
            f"input: a text exceeds {limits.max_input_chars} characters",
            code="input_too_long",
            param="input",
        )
    return texts


async def _read_jsonl(gw: Gateway, name: str) -> list[str]:
    base = gw.settings.jobs.input_dir
    if base is None:
        raise ApiError(
            422,
            "input_file is disabled (jobs.input_dir is not set)",
            code="input_file_disabled",
            param="input_file",
        )
    path = (base / name).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise ApiError(
            422,
            f"input_file: no file {name!r} in the input directory",
            code="input_file_not_found",
            param="input_file",
        )
    return await asyncio.to_thread(_parse_jsonl, path, gw.settings.limits.max_job_body_bytes)


def _parse_jsonl(path: Path, max_bytes: int) -> list[str]:
    if path.stat().st_size > max_bytes:
        raise ApiError(
            413,
            f"input_file is larger than {max_bytes} bytes",
            code="request_too_large",
            param="input_file",
        )
    texts: list[str] = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        texts.append(_jsonl_text(line, number))
    return texts


def _jsonl_text(line: bytes, number: int) -> str:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        value = value.get("input")
    if not isinstance(value, str):
        raise ApiError(
            422,
            f'input_file line {number}: expected a JSON string or {{"input": string}}',
            code="invalid_input_file",
            param="input_file",
        )
    return value
