"""Secrets at apply time: where each value goes, read from its source, and never shown.

The render only names secrets; this module turns the names into the places that hold values:

- **the cluster**: one Secret (type Opaque, the inventory labels) per namespace and declared
  secret that the rendered pods of that namespace read, holding only the keys they read there
  (``secretKeyRef``, a ``secret`` volume's items) or, where a pod takes it whole (``envFrom``:
  a backup target's restic credentials), every declared key. Least exposure: a namespace never
  holds a key that none of its pods reads.
- **each docker environment**: the files its compose document names — ``<service>.env`` with
  ``NAME=value`` lines for a service's secret variables (a workload's ``secretEnv``, a backup
  service's target credentials), and one file per compose secret (``<secret>/<key>``) holding
  that value, mounted read-only at ``/run/secrets/<secret>.<key>``. Mode 0400, owned by the
  user the reading services run as (compose ``user``), root otherwise.

:func:`plan_secrets` is pure (spec and render in, references out). :func:`resolve_values` reads
every source before anything changes: one that fails stops apply with every located problem.
:class:`Values` keeps the values out of ``repr`` and scrubs them, and their base64 form, from any
error message (:meth:`Values.hiding`). :func:`sync_files` writes the docker files through the
Engine API only, comparing them first so that an unchanged file is not rewritten and a rewritten
one recreates the containers that mount it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import posixpath
import re
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from bulkhead.apply.objects import inventory_labels
from bulkhead.errors import (
    ApplyError,
    BulkheadError,
    InputError,
    Location,
    Problem,
    SecretError,
)
from bulkhead.render.compose import backup_service_name
from bulkhead.render.files import secret_references
from bulkhead.secrets import SecretValue, resolve_secret
from bulkhead.spec.models import Homelab

SECRET_LABEL = "bulkhead.dev/secret"
FILE_MODE = 0o400
DIR_MODE = 0o700
HIDDEN = "<hidden>"
_PLAIN = re.compile(r"^[A-Za-z0-9_./:@%+,=^~-]*$")
_MIN_SCRUB = 3  # shorter values would mangle every message and protect nothing


# -- what goes where (pure) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterSecret:
    """One Kubernetes Secret apply writes: a declared secret's keys read in one namespace."""

    namespace: str
    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class SecretFile:
    """One file apply writes on a docker host: an env file (``variables``: ``NAME`` →
    ``<secret>.<key>``) or one value (``ref``), and the uid that owns it."""

    path: str
    variables: tuple[tuple[str, str], ...] = ()
    ref: str | None = None
    owner: int = 0

    @property
    def refs(self) -> tuple[str, ...]:
        """The ``<secret>.<key>`` references whose values the file holds."""
        return (self.ref,) if self.ref else tuple(ref for _, ref in self.variables)


@dataclass(frozen=True)
class SecretPlan:
    """Every place a value goes: Secrets in the cluster, files per docker environment."""

    cluster: tuple[ClusterSecret, ...] = ()
    docker: Mapping[str, tuple[SecretFile, ...]] = field(default_factory=dict)

    def names(self) -> tuple[str, ...]:
        """The declared secrets to read, sorted."""
        refs = [ref for files in self.docker.values() for f in files for ref in f.refs]
        found = {s.name for s in self.cluster} | {ref.partition(".")[0] for ref in refs}
        return tuple(sorted(found))


def plan_secrets(
    spec: Homelab, objects: Iterable[Mapping[str, Any]], compose: Mapping[str, Mapping[str, Any]]
) -> SecretPlan:
    """Which values the rendered ``objects`` and ``compose`` documents need, and where."""
    docker = {env: docker_files(spec, document) for env, document in compose.items()}
    return SecretPlan(cluster_secrets(spec, objects), {k: v for k, v in docker.items() if v})


def cluster_secrets(
    spec: Homelab, objects: Iterable[Mapping[str, Any]]
) -> tuple[ClusterSecret, ...]:
    """One Secret per (namespace, declared secret) the pods read, with the keys they read."""
    wanted: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        namespace = obj.get("metadata", {}).get("namespace")
        for name, key in secret_references(obj):
            declared = spec.secrets.get(name)
            if namespace and declared is not None:
                keys = declared.keys if key is None else [key]
                wanted.setdefault((namespace, name), set()).update(keys)
    return tuple(
        ClusterSecret(ns, name, tuple(k for k in spec.secrets[name].keys if k in keys))
        for (ns, name), keys in sorted(wanted.items())
    )


def docker_files(spec: Homelab, document: Mapping[str, Any]) -> tuple[SecretFile, ...]:
    """The env files and key files a compose document names, at the paths it names them."""
    services = document.get("services") or {}
    env_files = [f for name, body in services.items() for f in _env_file(spec, name, body)]
    return tuple(sorted([*env_files, *_key_files(spec, document)], key=lambda f: f.path))


def _env_file(spec: Homelab, service: str, body: Mapping[str, Any]) -> Iterator[SecretFile]:
    variables = service_variables(spec, service)
    entries = body.get("env_file") or []
    paths = [e if isinstance(e, str) else e["path"] for e in _as_list(entries)]
    path = next((p for p in paths if posixpath.basename(p) == f"{service}.env"), None)
    if variables and path is not None:
        yield SecretFile(path, variables)


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | Mapping) else list(value)


def service_variables(spec: Homelab, service: str) -> tuple[tuple[str, str], ...]:
    """A compose service's secret variables: a workload's ``secretEnv``, or a backup service's
    target credentials (every key of the target's secret, each under its own name)."""
    workload = spec.workloads.get(service)
    if workload is not None:
        return tuple(workload.secret_env.items())
    for name, other in spec.workloads.items():
        for volume, declared in other.volumes.items():
            if declared.backup and backup_service_name(name, volume) == service:
                secret = spec.backups.targets[declared.backup.to].secret
                keys = spec.secrets[secret].keys if secret in spec.secrets else []
                return tuple((key, f"{secret}.{key}") for key in keys)
    return ()


def _key_files(spec: Homelab, document: Mapping[str, Any]) -> Iterator[SecretFile]:
    services = document.get("services") or {}
    for ref, declared in (document.get("secrets") or {}).items():
        name, _, key = ref.partition(".")
        if name in spec.secrets and key in spec.secrets[name].keys and "file" in declared:
            readers = [s for s, body in services.items() if ref in _secret_sources(body)]
            yield SecretFile(declared["file"], ref=ref, owner=_owner(spec, ref, readers, services))


def _secret_sources(body: Mapping[str, Any]) -> list[str]:
    entries = body.get("secrets") or []
    return [e if isinstance(e, str) else e["source"] for e in entries]


def _owner(spec: Homelab, ref: str, readers: Sequence[str], services: Mapping[str, Any]) -> int:
    """The uid the readers of a key file run as: a 0400 file has one owner, so they must agree."""
    uids = {reader: _uid(services[reader].get("user")) for reader in readers}
    if len(set(uids.values())) > 1:
        shown = ", ".join(f"{r} as uid {u}" for r, u in sorted(uids.items()))
        where = _reference_location(spec, ref, sorted(uids)[-1])
        message = (
            f"{ref} is mounted into services that run as different users ({shown}); a mode 0400 "
            "file has one owner: give them the same security.runAsUser, or separate secrets"
        )
        raise SecretError([Problem(where, message)])
    return next(iter(uids.values()), 0)


def _uid(user: Any) -> int:
    text = str(user or "0").partition(":")[0]
    return int(text) if text.isdigit() else 0


def _reference_location(spec: Homelab, ref: str, workload: str) -> Location:
    variables = spec.workloads[workload].secret_env if workload in spec.workloads else {}
    var = next((v for v, r in variables.items() if r == ref), None)
    path = ("workloads", workload, "secretEnv", var) if var else ("secrets", ref.partition(".")[0])
    return spec.locate(*path)


# -- the values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Values:
    """Resolved values by ``<secret>.<key>``. Hidden from ``repr``; scrubbed from messages."""

    _values: Mapping[str, SecretValue] = field(default_factory=dict, repr=False)

    def get(self, ref: str) -> str:
        """The plain value of ``<secret>.<key>``, for the one place that writes it."""
        return self._values[ref].reveal()

    def scrub(self, text: str) -> str:
        """``text`` with every value, plain or base64, replaced by ``<hidden>``."""
        forms = {form for v in self._values.values() for form in _forms(v.reveal())}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, HIDDEN)
        return text

    @contextmanager
    def hiding(self) -> Iterator[None]:
        """Re-raise any bulkhead error with every value scrubbed from its message."""
        try:
            yield
        except InputError as exc:
            problems = [Problem(p.location, self.scrub(p.message)) for p in exc.problems]
            raise type(exc)(problems) from None
        except BulkheadError as exc:
            text = str(exc)
            if self.scrub(text) == text:
                raise
            raise Scrubbed(self.scrub(text), exc.exit_code) from None


def _forms(value: str) -> list[str]:
    if len(value) < _MIN_SCRUB:
        return []
    return [value, base64.b64encode(value.encode()).decode()]


class Scrubbed(BulkheadError):
    """An error whose message quoted a secret value, re-raised with the value hidden."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def resolve_values(spec: Homelab, names: Iterable[str]) -> Values:
    """Read every named secret from its source; one SecretError with every problem if any fails."""
    values: dict[str, SecretValue] = {}
    problems: list[Problem] = []
    for name in names:
        try:
            found = resolve_secret(spec, name)
        except SecretError as exc:
            problems += exc.problems
            continue
        values.update({f"{name}.{key}": value for key, value in found.items()})
    if problems:
        raise SecretError(problems)
    return Values(values)


# -- Kubernetes Secrets (pure) ------------------------------------------------------------------


def secret_objects(
    homelab: str, secrets: Iterable[ClusterSecret], values: Values
) -> list[dict[str, Any]]:
    """The Secret objects for the cluster: base64 ``data``, type Opaque, inventory labels."""
    return [secret_object(homelab, secret, values) for secret in secrets]


def secret_object(homelab: str, secret: ClusterSecret, values: Values) -> dict[str, Any]:
    """One Secret holding exactly ``secret.keys``."""
    data = {key: _b64(values.get(f"{secret.name}.{key}")) for key in secret.keys}
    labels = {**inventory_labels(homelab), SECRET_LABEL: secret.name}
    metadata = {"name": secret.name, "namespace": secret.namespace, "labels": labels}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
        "data": data,
    }


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


# -- docker files (pure) -------------------------------------------------------------------------


def file_content(file: SecretFile, values: Values) -> bytes:
    """A key file's value as is; an env file's ``NAME=value`` lines, quoted where needed."""
    if file.ref is not None:
        return values.get(file.ref).encode()
    lines = [f"{name}={dotenv_quote(values.get(ref))}\n" for name, ref in file.variables]
    return "".join(lines).encode()


def dotenv_quote(value: str) -> str:
    """A value as ``docker compose`` reads it back from an env_file: bare when plain, single-
    quoted (literal) when it can be, else double-quoted with ``\\`` escapes and ``$$`` for a
    dollar (compose interpolates double-quoted values)."""
    if _PLAIN.match(value):
        return value
    if "'" not in value and "\n" not in value and "\r" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$")
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def env_variables(files: Iterable[SecretFile], values: Values) -> dict[str, dict[str, str]]:
    """Env file path → its variables: what the containers get (``DeployOptions.env_files``)."""
    return {
        f.path: {name: values.get(ref) for name, ref in f.variables} for f in files if f.variables
    }


def directory_of(files: Sequence[SecretFile]) -> str:
    """The one directory the files live under (the homelab's secrets directory)."""
    return posixpath.commonpath([posixpath.dirname(f.path) for f in files])


@dataclass(frozen=True)
class Stored:
    """A file as the host holds it: a digest of its content (never the content) and its mode.
    Not its owner: engines report archive owners differently (podman maps them)."""

    digest: str
    mode: int


def stored(content: bytes, mode: int) -> Stored:
    """What :func:`file_changes` compares."""
    return Stored(hashlib.sha256(content).hexdigest(), mode & 0o7777)


class FileAction(StrEnum):
    """What apply does to one secret file."""

    create = "create"
    update = "update"
    unchanged = "unchanged"


@dataclass(frozen=True)
class FileChange:
    """One secret file's fate."""

    path: str
    action: FileAction


def file_changes(
    files: Sequence[SecretFile], values: Values, live: Mapping[str, Stored] | None
) -> tuple[FileChange, ...]:
    """Compare desired files with what the host holds (``live`` None: unknown, write all)."""
    changes = []
    for file in files:
        want = stored(file_content(file, values), FILE_MODE)
        have = None if live is None else live.get(file.path)
        if have is None:
            action = FileAction.create if live is not None else FileAction.update
        else:
            action = FileAction.unchanged if have == want else FileAction.update
        changes.append(FileChange(file.path, action))
    return tuple(changes)


def archive(files: Sequence[SecretFile], values: Values, directory: str) -> bytes:
    """A tar of the files relative to ``directory``: 0400 files in 0700 folders."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in _folders(files, directory):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, DIR_MODE
            tar.addfile(info)
        for file in files:
            data = file_content(file, values)
            info = tarfile.TarInfo(posixpath.relpath(file.path, directory))
            info.size, info.mode, info.uid, info.gid = len(data), FILE_MODE, file.owner, file.owner
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _folders(files: Sequence[SecretFile], directory: str) -> list[str]:
    found: set[str] = set()
    for file in files:
        parent = posixpath.dirname(posixpath.relpath(file.path, directory))
        while parent:
            found.add(parent)
            parent = posixpath.dirname(parent)
    return sorted(found)


def read_archive(data: bytes, directory: str) -> dict[str, Stored]:
    """Host path → :class:`Stored` of every regular file in a tar of ``directory`` (its first
    member is the directory itself: ``name/`` from Docker, ``/`` from podman)."""
    found: dict[str, Stored] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        members = tar.getmembers()
        root = members[0].name.strip("/") + "/" if members else ""
        for member in members:
            handle = tar.extractfile(member) if member.isfile() else None
            if handle is not None:
                inner = member.name.strip("/").removeprefix(root.lstrip("/"))
                found[posixpath.join(directory, inner)] = stored(handle.read(), member.mode)
    return found


# -- writing them through the engine ------------------------------------------------------------


class FileEngine(Protocol):
    """What :func:`sync_files` needs from the engine adapter (:class:`~.engine.DockerEngine`)."""

    def image_id(self, reference: str) -> str | None: ...

    def pull(self, reference: str, platform: str | None = None) -> str: ...

    def read_directory(self, image: str, directory: str, labels: Mapping[str, str]) -> bytes: ...

    def write_directory(
        self, image: str, directory: str, data: bytes, labels: Mapping[str, str]
    ) -> None: ...


def helper_image(engine: FileEngine, document: Mapping[str, Any], *, pull: bool) -> str | None:
    """An image already on the host to create the (never started) file helper from: one of the
    document's own, so nothing new is fetched; the first is pulled only when none is there."""
    services = (document.get("services") or {}).values()
    images = sorted({(str(b["image"]), b.get("platform")) for b in services}, key=str)
    present = next((image for image, _ in images if engine.image_id(image) is not None), None)
    if present is None and pull and images:
        engine.pull(*images[0])
        return images[0][0]
    return present


def sync_files(
    engine: FileEngine,
    document: Mapping[str, Any],
    files: Sequence[SecretFile],
    values: Values,
    *,
    labels: Mapping[str, str],
    dry_run: bool,
) -> tuple[FileChange, ...]:
    """Write the files that differ from the host's and return every file's change. A dry run
    that would have to fetch an image to look reports every file as one it would write."""
    if not files:
        return ()
    directory = directory_of(files)
    image = helper_image(engine, document, pull=not dry_run)
    if image is None and not dry_run:
        raise ApplyError(f"no image to write the secret files under {directory} with")
    live = None if image is None else engine.read_directory(image, directory, labels)
    changes = file_changes(files, values, None if live is None else read_archive(live, directory))
    todo = {c.path for c in changes if c.action is not FileAction.unchanged}
    if todo and image is not None and not dry_run:
        data = archive([f for f in files if f.path in todo], values, directory)
        engine.write_directory(image, directory, data, labels)
    return changes


def written(changes: Iterable[FileChange]) -> frozenset[str]:
    """Paths of files that are (or would be) written: containers mounting them are recreated."""
    return frozenset(c.path for c in changes if c.action is not FileAction.unchanged)
