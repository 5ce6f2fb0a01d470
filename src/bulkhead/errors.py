"""The one error tree of bulkhead, and the locations every user-facing message points at.

::

    BulkheadError                 exit 1 unless a subclass says otherwise
    ├── InputError                exit 3: a file the user wrote is wrong; carries located Problems
    │   ├── SpecError             the homelab spec (homelab.yaml)
    │   ├── ConfigError           the gateway's config (gateway.yaml) and other settings files
    │   └── SecretError           a secret source cannot be read or lacks a key (never a value)
    ├── LayerUnreachable          exit 4: a cluster, engine or API could not be reached
    └── ApplyError                exit 1: a live change was refused or failed
        └── ConflictError         a field is owned by another field manager

Every problem in a user's file carries a :class:`Location` (``file:line:col``, 1-based), so the
CLI prints ``FILE:LINE:COL: message`` lines that editors and CI annotate. Nothing here imports
any other bulkhead module: every layer, the gateway included, may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based position in a user's file."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One located thing wrong with a user's input."""

    location: Location | None
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class BulkheadError(Exception):
    """Root of every error bulkhead raises on purpose."""

    exit_code = 1


class InputError(BulkheadError):
    """A file the user wrote is wrong; holds every problem found, not only the first."""

    exit_code = 3

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=_problem_order))
        super().__init__("\n".join(str(p) for p in self.problems))


class SpecError(InputError):
    """The homelab spec is invalid."""


class ConfigError(InputError):
    """A settings file (such as the gateway's config) is invalid."""


class SecretError(InputError):
    """A secret source cannot be read, or lacks a declared key. Never carries a value."""


class LayerUnreachable(BulkheadError):
    """A live layer (cluster API, Docker engine, gateway, Gitea) could not be reached."""

    exit_code = 4


class ApplyError(BulkheadError):
    """A change to a live layer was refused or failed."""


class ConflictError(ApplyError):
    """Server-side apply found fields owned by another field manager."""


def _problem_order(problem: Problem) -> tuple[str, int, int, str]:
    loc = problem.location
    return (loc.file, loc.line, loc.column, problem.message) if loc else ("", 0, 0, problem.message)
