"""The homelab spec, ``bulkhead/v1alpha1``, as pydantic models: the boundary type of bulkhead.

Every model is closed (unknown keys are errors) and frozen. Keys are camelCase in YAML and
snake_case in Python. Quantities are exact (:mod:`bulkhead.spec.quantity`). Cross-references
(namespaces, ``uses``, ``exposes``, providers, runner nodes, backup targets) are resolved
afterwards by :mod:`bulkhead.spec.references`, which knows the whole file.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bulkhead.errors import Location
from bulkhead.spec import quantity as q
from bulkhead.spec.source import SourceMap
from bulkhead.spec.taints import Taint, Toleration

API_VERSION = "bulkhead/v1alpha1"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PLATFORM = re.compile(r"^linux/(amd64|arm64|arm(/v[5-7])?|386|ppc64le|s390x|riscv64)$")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def _port_name(value: str) -> str:
    if len(value) > 15 or not _PORT_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid port name: lowercase, digits, '-', ≤ 15 chars")
    return value


Name = Annotated[str, AfterValidator(_dns_label)]
PortName = Annotated[str, AfterValidator(_port_name)]
PortNumber = Annotated[int, Field(ge=1, le=65535)]
Quantity = Annotated[
    q.Quantity,
    BeforeValidator(q.Quantity.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(q.json_schema()),
]
Platform = Annotated[str, Field(pattern=_PLATFORM.pattern)]
TaintSpec = Annotated[
    Taint,
    BeforeValidator(Taint.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": Taint.PATTERN, "examples": ["gpu=true:NoSchedule"]}
    ),
]
TolerationSpec = Annotated[
    Toleration,
    BeforeValidator(Toleration.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": Toleration.PATTERN, "examples": ["gpu:NoSchedule"]}
    ),
]


class Model(BaseModel):
    """Base of every spec object: closed, frozen, camelCase keys in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_enum_values=False,
        use_attribute_docstrings=True,
    )


class Arch(StrEnum):
    """CPU architecture of a node, as in ``kubernetes.io/arch``."""

    arm64 = "arm64"
    amd64 = "amd64"


class Tier(StrEnum):
    """Storage performance tier; databases need ``fast``."""

    standard = "standard"
    fast = "fast"


class Storage(Model):
    """A node's storage: the class volumes get, its size and tier."""

    class_: str = Field("local-path", alias="class", description="Storage class name.")
    size: Quantity = Field(description="Usable capacity for volumes.")
    tier: Tier = Field(Tier.standard, description="standard (SD card, HDD) or fast (NVMe, SSD).")
    path: str = Field(
        "/srv/bulkhead",
        description="Docker environments: host directory under which volumes are created.",
    )


class Resources(Model):
    """Requests: what the scheduler reserves. ``gpu`` counts devices; ``gpuMemory`` is VRAM."""

    cpu: Quantity | None = None
    """CPU request (cores or millicores): what the scheduler reserves."""
    memory: Quantity | None = None
    """Memory request: what the scheduler reserves; the memory limit defaults to it."""
    gpu: Annotated[int, Field(ge=0)] = 0
    """Distinct GPUs needed (Docker: shared devices; their VRAM is bin-packed)."""
    gpu_memory: Quantity | None = None
    """VRAM this workload uses on each of its GPUs; required for GPU work."""


class Limits(Model):
    """Limits; the memory limit defaults to the memory request, no CPU limit by default."""

    cpu: Quantity | None = None
    """CPU limit; none by default (throttling hurts latency more than it helps)."""
    memory: Quantity | None = None
    """Memory limit; defaults to the memory request (the OOM killer's line)."""


class Overhead(Model):
    """The k3s server process (apiserver, kine, containerd): invisible to the scheduler."""

    cpu: Quantity = Field(default_factory=lambda: q.Quantity.of("500m"))
    """CPU the k3s server process uses on each server node."""
    memory: Quantity = Field(default_factory=lambda: q.Quantity.of("800Mi"))
    """Memory the k3s server process uses on each server node."""


class Ingress(Model):
    """The cluster's ingress controller and the domain every ingress host must sit under."""

    class_: str = Field("traefik", alias="class")
    """IngressClass name of the cluster's controller (k3s ships traefik)."""
    domain: str | None = None
    """Every ingress host must sit under this domain."""


class K3sNode(Model):
    """A Raspberry Pi (or other) node of a k3s cluster."""

    role: Literal["server", "agent"] = "agent"
    """server runs the control plane (and pods, unless tainted); agent runs pods."""
    arch: Arch = Arch.arm64
    """CPU architecture (kubernetes.io/arch); Pis are arm64."""
    cpu: Quantity
    """CPU capacity; on k3s allocatable = capacity."""
    memory: Quantity
    """Memory capacity; on k3s allocatable = capacity."""
    storage: Storage | None = None
    """The node's volume storage (class, size, tier)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra node labels that selectors and preferences can match."""
    taints: list[TaintSpec] = Field(default_factory=list)
    """Node taints, `key=value:Effect`."""
    unschedulable: bool = Field(False, description="Cordoned: no new pods land here.")
    max_pods: Annotated[int, Field(ge=1)] = Field(110, description="kubelet maxPods.")


class Gpu(Model):
    """One GPU device and its VRAM."""

    model: str
    """Marketing name, e.g. RTX 3090."""
    memory: Quantity
    """VRAM of this GPU."""


class DockerNode(Model):
    """A machine running Docker, such as the RTX 3090 box."""

    arch: Arch = Arch.amd64
    """CPU architecture."""
    cpu: Quantity
    """CPU cores available to containers."""
    memory: Quantity
    """Memory available to containers."""
    storage: Storage | None = None
    """Local storage for volumes (NVMe for fast compute)."""
    gpus: list[Gpu] = Field(default_factory=list)
    """The machine's GPUs."""


class K3sEnvironment(Model):
    """A K3s cluster."""

    type: Literal["k3s"]
    """Selects this kind of environment."""
    version: str = Field("1.31", pattern=r"^1\.[0-9]{2}$", description="Kubernetes minor.")
    network_policy: Literal["embedded", "none"] = "embedded"
    """embedded: k3s's kube-router enforces NetworkPolicy; none: nothing does (an error)."""
    ingress: Ingress = Field(default_factory=lambda: Ingress.model_validate({}))
    """The ingress controller and domain."""
    server_overhead: Overhead = Field(default_factory=lambda: Overhead.model_validate({}))
    """Resources of the k3s server process, invisible to the scheduler."""
    nodes: dict[Name, K3sNode] = Field(min_length=1)
    """The cluster's nodes by hostname."""


class DockerEnvironment(Model):
    """A machine (or several) running Docker outside the cluster."""

    type: Literal["docker"]
    """Selects this kind of environment."""
    host: str = Field(pattern=r"^(ssh|tcp|unix)://.+", description="Docker Engine endpoint.")
    address: str | None = Field(None, description="IP the cluster reaches this machine on.")
    nodes: dict[Name, DockerNode] = Field(min_length=1)
    """The machine(s) by name."""


class Runner(Model):
    """A Gitea Actions runner (act_runner) living on a node of any environment."""

    node: str
    """The node (of any environment) the runner lives on."""
    labels: list[str] = Field(default_factory=list)
    """Labels jobs select with `runsOn`."""
    capacity: Annotated[int, Field(ge=1)] = 1
    """Jobs it runs at once."""


class GiteaEnvironment(Model):
    """Gitea and its runners: the glue between code and deployment."""

    type: Literal["gitea"]
    """Selects this kind of environment."""
    url: str = Field(pattern=r"^https?://.+")
    """Gitea's base URL."""
    version: str = Field("1.22", description="Gitea minor; decides which workflow keys it honours.")
    runners: dict[Name, Runner] = Field(default_factory=dict)
    """Runners by name."""
    repository: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """OWNER/NAME of the repository holding this spec and its deploy workflows; the doctor
    reads its workflow runs (``--gitea-repo`` overrides it)."""


Environment = Annotated[
    K3sEnvironment | DockerEnvironment | GiteaEnvironment, Field(discriminator="type")
]


class Api(Model):
    """A controlled channel between environments: a provider workload's named port."""

    provider: str
    """The workload that serves this api."""
    port: str
    """The provider's port name the api is served on."""


class Namespace(Model):
    """A Kubernetes namespace; a sensitive one is reached only by declared users."""

    sensitive: bool = False
    """Default-deny in and out; reached only by workloads that declare `uses` on it."""


class BackupTarget(Model):
    """Where backups go."""

    type: Literal["s3", "nfs", "restic"]
    """s3, nfs or a restic repository URL."""
    url: str
    """Where the target is, e.g. nfs://nas.lan/backups."""
    secret: str | None = Field(
        None,
        description=(
            "A declared secret holding restic's credentials as its keys: RESTIC_PASSWORD and, "
            "for s3, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. bulkhead apply writes it where "
            "the backup jobs read it; without it the backups cannot run."
        ),
    )


class Backups(Model):
    """Backup targets by name."""

    targets: dict[Name, BackupTarget] = Field(default_factory=dict)
    """Backup targets by name."""


class WorkloadClass(StrEnum):
    """What a workload is; decides its environment and its defaults."""

    service = "service"
    database = "database"
    cache = "cache"
    gpu_service = "gpu-service"
    gpu_batch = "gpu-batch"
    ci_job = "ci-job"
    ci_runner = "ci-runner"


class Health(Model):
    """Readiness and liveness: an HTTP GET on ``path``, or a TCP check when there is no path."""

    path: str | None = Field(None, pattern=r"^/")
    """HTTP path for readiness and liveness; without it the check is a TCP connect."""
    port: str | int
    """Port name (or number) to check."""


class WorkloadIngress(Model):
    """An HTTP route from outside the cluster through the ingress controller."""

    host: str
    """Public host name, under the environment's ingress domain."""
    port: str | int
    """Port name (or number) traffic goes to."""


class Backup(Model):
    """A volume's backup: cron schedule, target, and how many snapshots to keep."""

    schedule: str
    """Cron schedule (5 fields)."""
    to: str
    """A backup target name."""
    retain: Annotated[int, Field(ge=1)] = 7
    """Snapshots kept."""


class Volume(Model):
    """A persistent volume mounted into the workload."""

    mount: str = Field(pattern=r"^/")
    """Mount path in the container."""
    size: Quantity
    """Requested size."""
    storage_class: str | None = Field(None, description="Override of the node's storage class.")
    backup: Backup | None = None
    """How this volume is backed up."""


class Placement(Model):
    """Scheduling constraints: required selector, tolerations, preferred labels."""

    node_selector: dict[str, str] = Field(default_factory=dict)
    """Labels a node must carry (ANDed)."""
    tolerations: list[TolerationSpec] = Field(default_factory=list)
    """Taints this workload tolerates: `key=value:Effect`, `key:Effect`, `key`."""
    prefer: dict[str, str] = Field(default_factory=dict)
    """Labels preferred, not required (scored)."""


class Security(Model):
    """Privileges a workload asks for. Only ci-runners may hold the dangerous ones."""

    privileged: bool = False
    """Privileged container (only ci-runners may)."""
    host_network: bool = False
    """Share the node's network namespace (only ci-runners may)."""
    host_paths: list[str] = Field(default_factory=list)
    """Host directories mounted in (only ci-runners may)."""
    docker_socket: bool = False
    """Mount the container engine's socket (only ci-runners may)."""
    read_only_root_filesystem: bool = True
    """Root filesystem read-only; set false for images that write to it."""
    run_as_user: Annotated[int, Field(ge=0)] | None = None
    """UID to run as (non-root is enforced)."""


class CiStep(Model):
    """One workflow step: a shell command or an action."""

    name: str | None = None
    """Step name shown in Gitea."""
    run: str | None = None
    """Shell command."""
    uses: str | None = None
    """Action reference, e.g. actions/checkout@v4."""
    with_: dict[str, str] | None = Field(None, alias="with")
    """Action inputs."""


Trigger = Literal["push", "pull_request", "schedule", "workflow_dispatch"]


def _default_triggers() -> list[Trigger]:
    return ["push"]


class Ci(Model):
    """A CI job: triggers, runner labels it needs, steps, timeout."""

    on: list[Trigger] = Field(default_factory=_default_triggers)
    """Events that trigger the job."""
    runs_on: list[str] = Field(min_length=1)
    """Runner labels the job needs (all of them)."""
    steps: list[CiStep] = Field(min_length=1)
    """The steps, in order."""
    timeout_minutes: Annotated[int, Field(ge=1)] | None = None
    """Time limit of the job."""
    schedule: str | None = Field(None, description="Cron schedule when ``on`` has schedule.")


def _env_value(raw: object) -> str:
    if isinstance(raw, bool) or raw is None:
        raise ValueError(
            "an env value must be a string; quote it (YAML reads yes/no/on/off/true/false as "
            "booleans and an empty value as null)"
        )
    if isinstance(raw, int | str):
        return str(raw)
    raise ValueError(f"an env value must be a string, not a {type(raw).__name__}")


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
EnvValue = Annotated[str, BeforeValidator(_env_value)]
_SECRET_REF = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[A-Za-z0-9_.-]+$"
SecretRef = Annotated[str, Field(pattern=_SECRET_REF, examples=["pg.password"])]
MountPath = Annotated[str, Field(pattern=r"^/.*[^/]$")]


class ConfigFile(Model):
    """A config file: inline ``content`` or ``from`` a file beside the spec (exactly one)."""

    content: str | None = None
    """The file's text, inline."""
    from_: str | None = Field(None, alias="from")
    """A path relative to the spec's folder; read when the spec is loaded."""

    @model_validator(mode="after")
    def _exactly_one(self) -> ConfigFile:
        if (self.content is None) == (self.from_ is None):
            raise ValueError("a file needs exactly one of 'content' or 'from'")
        return self


def env_source_variable(prefix: str, key: str) -> str:
    """The variable an ``env://PREFIX`` source reads a key from: ``PREFIX`` + the key
    upper-cased, ``.`` and ``-`` as ``_`` (``env://ATTIC_PG_`` + ``password`` →
    ``ATTIC_PG_PASSWORD``)."""
    return prefix + key.upper().replace(".", "_").replace("-", "_")


class Secret(Model):
    """A secret: the keys it holds and where their values come from at apply time."""

    keys: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]] = Field(min_length=1)
    """The key names; only these are read and applied."""
    source: str = Field(pattern=r"^(file|env|sops)://.+")
    """file://<dotenv path>, env://<PREFIX> or sops://<encrypted file>; paths are relative to
    the spec's folder. Values never enter the repository or the rendered output."""


class Workload(Model):
    """One thing to run, placed by class: service, database, cache, GPU work, CI."""

    class_: WorkloadClass = Field(alias="class")
    """What the workload is; decides its environment and defaults."""
    namespace: str | None = None
    """Kubernetes namespace (cluster classes)."""
    environment: str | None = Field(None, description="Override of the class's environment.")
    image: str | None = None
    """Image reference; untagged means latest."""
    platforms: list[Platform] | None = None
    """Platforms the image is built for, e.g. [linux/arm64]."""
    replicas: Annotated[int, Field(ge=0)] = 1
    """Copies to run."""
    priority: int = Field(0, description="Higher is placed first.")
    resources: Resources = Field(default_factory=lambda: Resources.model_validate({}))
    """Requests (and GPU needs)."""
    limits: Limits = Field(default_factory=lambda: Limits.model_validate({}))
    """Limits."""
    ports: dict[PortName, PortNumber] = Field(default_factory=dict)
    """Container ports by name."""
    host_ports: dict[PortName, PortNumber] = Field(
        default_factory=dict, description="Container port name → host port on the node."
    )
    health: Health | None = None
    """Readiness/liveness check."""
    ingress: WorkloadIngress | None = None
    """Route from outside through the ingress controller."""
    uses: list[str] = Field(default_factory=list)
    """Workloads and apis this workload connects to (the allowed edges)."""
    exposes: list[str] = Field(default_factory=list)
    """Apis this workload provides."""
    volumes: dict[Name, Volume] = Field(default_factory=dict)
    """Persistent volumes by name."""
    placement: Placement = Field(default_factory=lambda: Placement.model_validate({}))
    """Scheduling constraints."""
    security: Security = Field(default_factory=lambda: Security.model_validate({}))
    """Privileges requested."""
    ci: Ci | None = None
    """The job definition (ci-job only)."""
    command: list[str] | None = None
    """Replaces the image's entrypoint (Kubernetes ``command``, compose ``entrypoint``)."""
    args: list[str] | None = None
    """Arguments to the entrypoint (Kubernetes ``args``, compose ``command``)."""
    env: dict[EnvName, EnvValue] = Field(default_factory=dict)
    """Plain environment values. Credentials belong in ``secretEnv``, never here."""
    secret_env: dict[EnvName, SecretRef] = Field(default_factory=dict)
    """Environment values taken from a declared secret: ``NAME: <secret>.<key>``."""
    files: dict[MountPath, ConfigFile] = Field(default_factory=dict)
    """Config files mounted read-only at these paths."""


class Severity(StrEnum):
    """How much a finding matters; ``off`` silences a rule."""

    error = "error"
    warning = "warning"
    info = "info"
    off = "off"


class Waiver(Model):
    """A deliberate exception to a rule, with its reason and optional expiry."""

    rule: str = Field(pattern=r"^BH-[A-Z]{2,4}-[0-9]{3}$")
    """Rule id, e.g. BH-SEC-001."""
    workload: str | None = None
    """Workload the waiver applies to; all when omitted."""
    reason: str = Field(min_length=3)
    """Why the exception is acceptable (required)."""
    expires: dt.date | None = None
    """Date after which the waiver stops applying and is reported."""


def _severity(raw: object) -> object:
    """YAML 1.1 reads an unquoted ``off`` as false; in this field it can only mean off."""
    return Severity.off if raw is False else raw


SeverityLevel = Annotated[Severity, BeforeValidator(_severity)]


class Policy(Model):
    """Severity overrides and waivers."""

    severity: dict[str, SeverityLevel] = Field(default_factory=dict)
    """Rule id → error, warning, info or off."""
    waivers: list[Waiver] = Field(default_factory=list)
    """Deliberate exceptions."""


class Metadata(Model):
    """The homelab's name, used in labels and rendered names."""

    name: Name
    """The homelab's name, used in labels and rendered names."""


class Homelab(Model):
    """The whole spec: one file, ``apiVersion: bulkhead/v1alpha1``, ``kind: Homelab``."""

    api_version: Literal["bulkhead/v1alpha1"]
    """Always bulkhead/v1alpha1."""
    kind: Literal["Homelab"]
    """Always Homelab."""
    metadata: Metadata
    """Name of the homelab."""
    environments: dict[Name, Environment] = Field(min_length=1)
    """Where workloads run: k3s clusters, docker machines, gitea."""
    apis: dict[Name, Api] = Field(default_factory=dict)
    """The only channels between environments."""
    namespaces: dict[Name, Namespace] = Field(default_factory=dict)
    """Kubernetes namespaces."""
    backups: Backups = Field(default_factory=lambda: Backups.model_validate({}))
    """Backup targets."""
    workloads: dict[Name, Workload] = Field(default_factory=dict)
    """Everything to run, by name."""
    policy: Policy = Field(default_factory=lambda: Policy.model_validate({}))
    """Severity overrides and waivers for the checks."""
    secrets: dict[Name, Secret] = Field(default_factory=dict)
    """Secrets by name: keys and source. Rendered output only refers to them by name."""

    _source: SourceMap = PrivateAttr(default_factory=lambda: SourceMap("<memory>"))
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _file_texts: dict[tuple[str, str], str] = PrivateAttr(default_factory=dict)

    def with_source(self, source: SourceMap, base_dir: Path | None = None) -> Homelab:
        """Attach the positions of the file this spec was read from, and its folder."""
        self._source = source
        if base_dir is not None:
            self._base_dir = base_dir
        return self

    def with_file_texts(self, texts: dict[tuple[str, str], str]) -> Homelab:
        """Attach the text of every ``files.<path>.from`` (read by the loader)."""
        self._file_texts = dict(texts)
        return self

    @property
    def base_dir(self) -> Path:
        """The folder of the spec file: relative paths in it resolve from here."""
        return self._base_dir

    def file_text(self, workload: str, mount: str) -> str:
        """The text of a workload's config file, inline or read from ``from``."""
        entry = self.workloads[workload].files[mount]
        if entry.content is not None:
            return entry.content
        return self._file_texts[(workload, mount)]

    @property
    def source(self) -> SourceMap:
        """Positions of every value in the user's file."""
        return self._source

    def locate(self, *path: str | int) -> Location:
        """``file:line:col`` of a YAML path such as ``("workloads", "pg", "image")``."""
        return self._source.locate(*path)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the spec, generated from the models (by alias, as users write it)."""
    schema = Homelab.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://bulkhead.dev/schema/v1alpha1/homelab.json"
    schema["title"] = "bulkhead homelab spec (bulkhead/v1alpha1)"
    return schema
