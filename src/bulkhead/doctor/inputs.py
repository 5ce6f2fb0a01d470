"""What the doctor reads, whatever it came from: a live layer or a snapshot directory.

Each input is either read (its value) or :class:`Unread`, which says why: ``unknown`` when
there was nothing to read (a snapshot without the file), ``unreachable`` when a live API did
not answer. Unread is never healthy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bulkhead.doctor.model import State

Json = dict[str, Any]


@dataclass(frozen=True)
class Unread:
    """An input that could not be had, and why."""

    state: State
    reason: str


class ContainerView(Protocol):
    """A container as the engine reports it (the apply layer's engine adapter provides these)."""

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def health(self) -> str | None: ...

    @property
    def exit_code(self) -> int: ...

    @property
    def oom_killed(self) -> bool: ...

    @property
    def health_output(self) -> str: ...

    @property
    def service(self) -> str | None: ...


@dataclass(frozen=True)
class Containers:
    """The GPU machine's engine: the services the render declares and bulkhead's containers."""

    host: str
    expected: tuple[str, ...]
    live: tuple[ContainerView, ...]


@dataclass(frozen=True)
class Readiness:
    """The gateway's ``/readyz``: HTTP status and JSON body."""

    status: int
    body: Any
    url: str = ""


@dataclass(frozen=True)
class Drift:
    """One object bulkhead owns whose live state differs from the render."""

    subject: str
    change: str  # "differs", "missing", "no longer rendered"
    detail: str = ""


@dataclass(frozen=True)
class Inputs:
    """Everything one doctor run reads. ``now`` dates the CI runs."""

    now: dt.datetime
    nodes: Sequence[Json] | Unread = Unread(State.unknown, "not read")
    pods: Sequence[Json] | Unread = Unread(State.unknown, "not read")
    events: Sequence[Json] | Unread = Unread(State.unknown, "not read")
    drift: Sequence[Drift] | Unread = Unread(State.unknown, "not read")
    containers: Containers | Unread = Unread(State.unknown, "not read")
    readiness: Readiness | Unread = Unread(State.unknown, "not read")
    metrics: Sequence[str] | Unread = Unread(State.unknown, "not read")
    runs: Sequence[Json] | Unread = Unread(State.unknown, "not read")
    sources: dict[str, str] = field(default_factory=dict)  # input → where it was read from
