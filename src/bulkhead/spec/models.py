"""The homelab spec, ``bulkhead/v1alpha1``, as pydantic models: the boundary type of bulkhead.

Every model is closed (unknown keys are errors) and frozen. Keys are camelCase in YAML and
snake_case in Python. Quantities are exact (:mod:`bulkhead.spec.quantity`). Cross-references
(namespaces, ``uses``, ``exposes``, providers, runner nodes, backup targets) are resolved
afterwards by :mod:`bulkhead.spec.references`, which knows the whole file.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
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
    WithJsonSchema({"type": "string", "pattern": Taint.PATTERN, "examples": ["gpu=true:NoSchedule"]}),
]
TolerationSpec = Annotated[
    Toleration,
    BeforeValidator(Toleration.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": Toleration.PATTERN, "examples": ["gpu:NoSchedule"]}),
]


class Model(BaseModel):
    """Base of every spec object: closed, frozen, camelCase keys in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_enum_values=False,
    )


class Arch(str, Enum):
    """CPU architecture of a node, as in ``kubernetes.io/arch``."""

    arm64 = "arm64"
    amd64 = "amd64"


class Tier(str, Enum):
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
    memory: Quantity | None = None
    gpu: Annotated[int, Field(ge=0)] = 0
    gpu_memory: Quantity | None = None


class Limits(Model):
    """Limits; the memory limit defaults to the memory request, no CPU limit by default."""

    cpu: Quantity | None = None
    memory: Quantity | None = None


class Overhead(Model):
    """The k3s server process (apiserver, kine, containerd): invisible to the scheduler."""

    cpu: Quantity = Field(default_factory=lambda: q.Quantity.of("500m"))
    memory: Quantity = Field(default_factory=lambda: q.Quantity.of("800Mi"))


class Ingress(Model):
    """The cluster's ingress controller and the domain every ingress host must sit under."""

    class_: str = Field("traefik", alias="class")
    domain: str | None = None


class K3sNode(Model):
    """A Raspberry Pi (or other) node of a k3s cluster."""

    role: Literal["server", "agent"] = "agent"
    arch: Arch = Arch.arm64
    cpu: Quantity
    memory: Quantity
    storage: Storage | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[TaintSpec] = Field(default_factory=list)
    unschedulable: bool = Field(False, description="Cordoned: no new pods land here.")
    max_pods: Annotated[int, Field(ge=1)] = Field(110, description="kubelet maxPods.")


class Gpu(Model):
    """One GPU device and its VRAM."""

    model: str
    memory: Quantity


class DockerNode(Model):
    """A machine running Docker, such as the RTX 3090 box."""

    arch: Arch = Arch.amd64
    cpu: Quantity
    memory: Quantity
    storage: Storage | None = None
    gpus: list[Gpu] = Field(default_factory=list)


class K3sEnvironment(Model):
    """A K3s cluster."""

    type: Literal["k3s"]
    version: str = Field("1.31", pattern=r"^1\.[0-9]{2}$", description="Kubernetes minor.")
    network_policy: Literal["embedded", "none"] = "embedded"
    ingress: Ingress = Field(default_factory=lambda: Ingress.model_validate({}))
    server_overhead: Overhead = Field(default_factory=lambda: Overhead.model_validate({}))
    nodes: dict[Name, K3sNode] = Field(min_length=1)


class DockerEnvironment(Model):
    """A machine (or several) running Docker outside the cluster."""

    type: Literal["docker"]
    host: str = Field(pattern=r"^(ssh|tcp|unix)://.+", description="Docker Engine endpoint.")
    address: str | None = Field(None, description="IP the cluster reaches this machine on.")
    nodes: dict[Name, DockerNode] = Field(min_length=1)


class Runner(Model):
    """A Gitea Actions runner (act_runner) living on a node of any environment."""

    node: str
    labels: list[str] = Field(default_factory=list)
    capacity: Annotated[int, Field(ge=1)] = 1


class GiteaEnvironment(Model):
    """Gitea and its runners: the glue between code and deployment."""

    type: Literal["gitea"]
    url: str = Field(pattern=r"^https?://.+")
    version: str = Field("1.22", description="Gitea minor; decides which workflow keys it honours.")
    runners: dict[Name, Runner] = Field(default_factory=dict)


Environment = Annotated[
    K3sEnvironment | DockerEnvironment | GiteaEnvironment, Field(discriminator="type")
]


class Api(Model):
    """A controlled channel between environments: a provider workload's named port."""

    provider: str
    port: str


class Namespace(Model):
    """A Kubernetes namespace; a sensitive one is reached only by declared users."""

    sensitive: bool = False


class BackupTarget(Model):
    """Where backups go."""

    type: Literal["s3", "nfs", "restic"]
    url: str


class Backups(Model):
    """Backup targets by name."""

    targets: dict[Name, BackupTarget] = Field(default_factory=dict)


class WorkloadClass(str, Enum):
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
    port: str | int


class WorkloadIngress(Model):
    """An HTTP route from outside the cluster through the ingress controller."""

    host: str
    port: str | int


class Backup(Model):
    """A volume's backup: cron schedule, target, and how many snapshots to keep."""

    schedule: str
    to: str
    retain: Annotated[int, Field(ge=1)] = 7


class Volume(Model):
    """A persistent volume mounted into the workload."""

    mount: str = Field(pattern=r"^/")
    size: Quantity
    storage_class: str | None = Field(None, description="Override of the node's storage class.")
    backup: Backup | None = None


class Placement(Model):
    """Scheduling constraints: required selector, tolerations, preferred labels."""

    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[TolerationSpec] = Field(default_factory=list)
    prefer: dict[str, str] = Field(default_factory=dict)


class Security(Model):
    """Privileges a workload asks for. Only ci-runners may hold the dangerous ones."""

    privileged: bool = False
    host_network: bool = False
    host_paths: list[str] = Field(default_factory=list)
    docker_socket: bool = False
    read_only_root_filesystem: bool = True
    run_as_user: Annotated[int, Field(ge=0)] | None = None


class CiStep(Model):
    """One workflow step: a shell command or an action."""

    name: str | None = None
    run: str | None = None
    uses: str | None = None
    with_: dict[str, str] | None = Field(None, alias="with")


class Ci(Model):
    """A CI job: triggers, runner labels it needs, steps, timeout."""

    on: list[Literal["push", "pull_request", "schedule", "workflow_dispatch"]] = Field(
        default_factory=lambda: ["push"]
    )
    runs_on: list[str] = Field(min_length=1)
    steps: list[CiStep] = Field(min_length=1)
    timeout_minutes: Annotated[int, Field(ge=1)] | None = None
    schedule: str | None = Field(None, description="Cron schedule when ``on`` has schedule.")


class Workload(Model):
    """One thing to run, placed by class: service, database, cache, GPU work, CI."""

    class_: WorkloadClass = Field(alias="class")
    namespace: str | None = None
    environment: str | None = Field(None, description="Override of the class's environment.")
    image: str | None = None
    platforms: list[Platform] | None = None
    replicas: Annotated[int, Field(ge=0)] = 1
    priority: int = Field(0, description="Higher is placed first.")
    resources: Resources = Field(default_factory=lambda: Resources.model_validate({}))
    limits: Limits = Field(default_factory=lambda: Limits.model_validate({}))
    ports: dict[PortName, PortNumber] = Field(default_factory=dict)
    host_ports: dict[PortName, PortNumber] = Field(
        default_factory=dict, description="Container port name → host port on the node."
    )
    health: Health | None = None
    ingress: WorkloadIngress | None = None
    uses: list[str] = Field(default_factory=list)
    exposes: list[str] = Field(default_factory=list)
    volumes: dict[Name, Volume] = Field(default_factory=dict)
    placement: Placement = Field(default_factory=lambda: Placement.model_validate({}))
    security: Security = Field(default_factory=lambda: Security.model_validate({}))
    ci: Ci | None = None


class Severity(str, Enum):
    """How much a finding matters; ``off`` silences a rule."""

    error = "error"
    warning = "warning"
    info = "info"
    off = "off"


class Waiver(Model):
    """A deliberate exception to a rule, with its reason and optional expiry."""

    rule: str = Field(pattern=r"^BH-[A-Z]{2,4}-[0-9]{3}$")
    workload: str | None = None
    reason: str = Field(min_length=3)
    expires: dt.date | None = None


class Policy(Model):
    """Severity overrides and waivers."""

    severity: dict[str, Severity] = Field(default_factory=dict)
    waivers: list[Waiver] = Field(default_factory=list)


class Metadata(Model):
    """The homelab's name, used in labels and rendered names."""

    name: Name


class Homelab(Model):
    """The whole spec: one file, ``apiVersion: bulkhead/v1alpha1``, ``kind: Homelab``."""

    api_version: Literal["bulkhead/v1alpha1"]
    kind: Literal["Homelab"]
    metadata: Metadata
    environments: dict[Name, Environment] = Field(min_length=1)
    apis: dict[Name, Api] = Field(default_factory=dict)
    namespaces: dict[Name, Namespace] = Field(default_factory=dict)
    backups: Backups = Field(default_factory=lambda: Backups.model_validate({}))
    workloads: dict[Name, Workload] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=lambda: Policy.model_validate({}))

    _source: SourceMap = PrivateAttr(default_factory=lambda: SourceMap("<memory>"))

    def with_source(self, source: SourceMap) -> Homelab:
        """Attach the positions of the file this spec was read from."""
        self._source = source
        return self

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
