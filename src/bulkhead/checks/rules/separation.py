"""SEP: separation. Right workload, right environment: GPU work stays off the cluster, data sits
on fast storage, environments talk only through declared apis, CI jobs go to runners that fit,
and images run on the arch of the node they land on."""

from __future__ import annotations

from collections.abc import Iterator

from bulkhead.checks import facts
from bulkhead.checks.model import Hit, Rule
from bulkhead.placement.result import PlacementResult
from bulkhead.spec.models import Homelab, Runner, Severity, Tier, Workload, WorkloadClass

_GPU_CLASSES = ", ".join(sorted(c.value for c in facts.GPU_CLASSES))
_ASKS_GPU_FIX = (
    "Make it a gpu-service or gpu-batch (it then runs on the GPU machine), or drop resources.gpu."
)


def gpu_in_cluster(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """GPU classes, and anything asking for a GPU, never run in a k3s environment."""
    for name, workload in facts.workloads(spec):
        env = facts.environment_of(spec, placement, name)
        if env and facts.env_type(spec, env) == "k3s":
            yield from _gpu_work(spec, name, workload, env)


def _gpu_work(spec: Homelab, name: str, workload: Workload, env: str) -> Iterator[Hit]:
    if workload.class_ in facts.GPU_CLASSES:
        key = "environment" if workload.environment else "class"
        message = f"{name} is a {workload.class_.value} but runs in the k3s environment {env}"
        yield Hit(facts.at(spec, name, key), message, name)
    elif workload.resources.gpu:
        message = f"{name} asks for {workload.resources.gpu} GPU(s) in the k3s environment {env}"
        yield Hit(facts.at(spec, name, "resources", "gpu"), message, name, _ASKS_GPU_FIX)


def database_tier(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A database lands only on fast storage: its node, its volumes' classes, its environment."""
    for name, workload in facts.workloads(spec):
        if workload.class_ is WorkloadClass.database:
            yield from _database_nodes(spec, placement, name)
            yield from _database_classes(spec, name, workload)


def _database_nodes(spec: Homelab, placement: PlacementResult, name: str) -> Iterator[Hit]:
    env = facts.environment_of(spec, placement, name)
    nodes = facts.nodes_of(spec, env)
    if nodes and not any(_tier(n) is Tier.fast for n in nodes.values()):
        message = f"no node of environment {env} has fast storage (tier: fast) for {name}"
        yield Hit(facts.at(spec, name), message, name)
    for node_name in facts.placed_nodes(placement, name):
        found = facts.node(spec, node_name)
        if found and _tier(found[1]) is not Tier.fast:
            message = f"{name} landed on {node_name}, whose storage tier is not fast"
            yield Hit(facts.at(spec, name), message, name)


def _database_classes(spec: Homelab, name: str, workload: Workload) -> Iterator[Hit]:
    fast = {n.storage.class_ for _, n in _all_nodes(spec) if n.storage and _tier(n) is Tier.fast}
    for vol_name, volume in workload.volumes.items():
        wanted = volume.storage_class
        if wanted is not None and wanted not in fast:
            message = f"volume {vol_name} of {name} uses storage class {wanted!r}"
            message += ", which no fast-tier node provides"
            yield Hit(facts.at(spec, name, "volumes", vol_name, "storageClass"), message, name)


def _tier(node: facts.Node) -> Tier:
    return node.storage.tier if node.storage else Tier.standard


def _all_nodes(spec: Homelab) -> Iterator[tuple[str, facts.Node]]:
    for env in spec.environments:
        yield from facts.nodes_of(spec, env).items()


def cross_environment(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A workload reaches another environment only through an api its provider exposes."""
    for name, workload in facts.workloads(spec):
        here = facts.environment_of(spec, placement, name)
        for i, used in enumerate(workload.uses):
            crossing = _api_crossing if used in spec.apis else _direct_crossing
            problem = crossing(spec, placement, here, used) if here else None
            if problem:
                message, fix = problem
                yield Hit(facts.at(spec, name, "uses", i), f"{name} {message}", name, fix)


def _api_crossing(
    spec: Homelab, placement: PlacementResult, here: str, used: str
) -> tuple[str, str] | None:
    """An api used from another environment must be in its provider's exposes."""
    provider = spec.apis[used].provider
    there = facts.environment_of(spec, placement, provider)
    if there in (None, here) or used in spec.workloads[provider].exposes:
        return None
    message = f"uses api {used} in {there}, but its provider {provider} does not expose it"
    return message, f"Add {used} to workloads.{provider}.exposes."


def _direct_crossing(
    spec: Homelab, placement: PlacementResult, here: str, used: str
) -> tuple[str, str] | None:
    """A workload in another environment is never used directly."""
    there = facts.environment_of(spec, placement, used)
    if there in (None, here):
        return None
    apis = [a for a, api in spec.apis.items() if api.provider == used]
    fix = (
        f"Use the api {' or '.join(apis)} instead of the workload."
        if apis
        else f"Declare an api (apis: {{name: {{provider: {used}, port: ...}}}}) and use it."
    )
    return f"({here}) uses {used} ({there}) directly, across environments", fix


def ci_runner_labels(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """A ci-job goes only to a runner whose labels include every label of its runsOn."""
    runners = facts.runners(spec)
    for name, workload in facts.workloads(spec):
        if workload.ci is not None:
            where = facts.at(spec, name, "ci", "runsOn")
            for problem in _label_problems(placement, name, set(workload.ci.runs_on), runners):
                yield Hit(where, problem, name)


def _label_problems(
    placement: PlacementResult, name: str, wanted: set[str], runners: dict[str, Runner]
) -> Iterator[str]:
    if not any(wanted <= set(r.labels) for r in runners.values()):
        yield f"no runner has every label of {name}'s runsOn {sorted(wanted)}: " + _closest(
            wanted, runners
        )
    for a in placement.of(name):
        runner = runners.get(a.runner or "")
        if runner is not None and not wanted <= set(runner.labels):
            missing = sorted(wanted - set(runner.labels))
            yield f"{name} was given runner {a.runner}, which lacks {missing}"


def _closest(wanted: set[str], runners: dict[str, Runner]) -> str:
    if not runners:
        return "no runner is declared"
    lacks = [f"{n} lacks {sorted(wanted - set(r.labels))}" for n, r in sorted(runners.items())]
    return "; ".join(lacks)


def image_arch(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """The image's platforms include the arch of every node the workload lands on."""
    for name, workload in facts.workloads(spec):
        archs = facts.platform_archs(workload)
        if archs is not None:
            where = facts.at(spec, name, "platforms")
            for problem in _arch_problems(spec, placement, name, archs):
                yield Hit(where, f"{name}'s image is {_list(workload)}, but {problem}", name)


def _arch_problems(
    spec: Homelab, placement: PlacementResult, name: str, archs: frozenset[str]
) -> Iterator[str]:
    for node_name in facts.placed_nodes(placement, name):
        found = facts.node(spec, node_name)
        if found and found[1].arch.value not in archs:
            yield f"it landed on {node_name} ({found[1].arch.value})"
    env = facts.environment_of(spec, placement, name)
    node_archs = {n.arch.value for n in facts.nodes_of(spec, env).values()}
    if facts.is_unplaced(placement, name) and node_archs and not node_archs & archs:
        yield f"every node of {env} is {'/'.join(sorted(node_archs))}"


def _list(workload: Workload) -> str:
    return "only " + ", ".join(workload.platforms or [])


def platforms_undeclared(spec: Homelab, placement: PlacementResult) -> Iterator[Hit]:
    """An image without declared platforms: the arch cannot be verified."""
    for name, workload in facts.workloads(spec):
        if facts.runs_containers(workload) and workload.platforms is None:
            message = f"{name} declares no image platforms, so its arch cannot be checked"
            yield Hit(facts.at(spec, name, "image"), message, name)


RULES = (
    Rule(
        id="BH-SEP-001",
        title="GPU work never runs in the cluster",
        severity=Severity.error,
        summary=(
            f"Reports a workload of a GPU class ({_GPU_CLASSES}) whose environment is a k3s "
            "cluster, and any other workload that asks for a GPU there."
        ),
        rationale=(
            "GPU workloads are bursty and heavy; the GPU machine is kept outside the cluster so "
            "that inference and training cannot cause latency spikes or OOM kills in always-on "
            "services, and so that a cluster failure does not take the GPU work down with it."
        ),
        example=(
            "workloads:\n"
            "  embedder:\n"
            "    class: gpu-batch\n"
            "    environment: cluster      # a k3s environment"
        ),
        fix=(
            "Drop the environment override so the workload goes to the docker environment with "
            "GPUs, and reach it from the cluster through an api."
        ),
        check=gpu_in_cluster,
    ),
    Rule(
        id="BH-SEP-002",
        title="Databases live on the fast storage tier",
        severity=Severity.error,
        summary=(
            "Reports a database whose environment has no fast-tier node, that landed on a node "
            "whose storage is not fast, or whose volume names a storage class no fast node has."
        ),
        rationale=(
            "Databases fsync constantly; on an SD card they are slow, and they wear the card "
            "out. Pinning data to NVMe/SSD nodes is what keeps the cluster's state durable."
        ),
        example=(
            "workloads:\n"
            "  postgres:\n"
            "    class: database\n"
            "    volumes:\n"
            "      data: {mount: /var/lib/postgresql/data, size: 20Gi, storageClass: sd-card}"
        ),
        fix=(
            "Give a node fast storage (storage: {tier: fast}) and let the database's volumes use "
            "that node's storage class."
        ),
        check=database_tier,
    ),
    Rule(
        id="BH-SEP-003",
        title="Environments talk only through declared apis",
        severity=Severity.error,
        summary=(
            "Reports a workload that uses a workload in another environment directly, and one "
            "that uses an api in another environment that the api's provider does not expose."
        ),
        rationale=(
            "The GPU machine exposes only controlled APIs: bulkhead binds its ports only for "
            "declared, exposed apis and renders the cluster side of that channel. A direct "
            "dependency across environments has no such channel and couples their failures."
        ),
        example=(
            "workloads:\n"
            "  bible-api:\n"
            "    class: service\n"
            "    uses: [gateway]           # gateway runs on the GPU machine"
        ),
        fix=(
            "Declare an api (apis: {embeddings: {provider: gateway, port: http}}), list it in the "
            "provider's exposes, and use the api instead of the workload."
        ),
        check=cross_environment,
    ),
    Rule(
        id="BH-SEP-004",
        title="CI jobs go only to runners whose labels fit",
        severity=Severity.error,
        summary=(
            "Reports a ci-job whose runsOn labels no declared runner carries all of, and a job "
            "placed on a runner that lacks one of them."
        ),
        rationale=(
            "Gitea queues a job until a runner with every runs-on label picks it up: a label "
            "nobody has means a job that waits forever, and a loose match sends GPU work to a Pi."
        ),
        example=(
            "workloads:\n"
            "  embed:\n"
            "    class: ci-job\n"
            "    ci: {runsOn: [gpu, arm64], steps: [{run: make embeddings}]}"
        ),
        fix="Use the labels of the runner meant for the job, or add the label to that runner.",
        check=ci_runner_labels,
    ),
    Rule(
        id="BH-SEP-005",
        title="Images run on the arch of their node",
        severity=Severity.error,
        summary=(
            "Reports a workload placed on a node whose arch its image platforms do not include, "
            "and an unplaced one whose platforms match no node of its environment."
        ),
        rationale=(
            "An amd64-only image on a Raspberry Pi fails with 'exec format error' and crash-loops; "
            "nothing in Kubernetes stops the pod from being scheduled there."
        ),
        example=(
            "workloads:\n"
            "  api:\n"
            "    class: service\n"
            "    platforms: [linux/amd64]  # every cluster node is arm64"
        ),
        fix="Build and push a multi-arch image (docker buildx --platform linux/arm64,linux/amd64).",
        check=image_arch,
    ),
    Rule(
        id="BH-SEP-006",
        title="Image platforms are declared",
        severity=Severity.info,
        summary="Reports a workload whose image platforms are not declared.",
        rationale=(
            "Without platforms bulkhead cannot tell whether the image runs on the arch of the "
            "node it lands on, so the exec-format-error trap goes unchecked."
        ),
        example=(
            "workloads:\n"
            "  api:\n"
            "    class: service\n"
            "    image: git.lab.home/me/api:1.0   # no platforms"
        ),
        fix=(
            "Add platforms: [linux/arm64, linux/amd64] (see docker buildx imagetools inspect "
            "IMAGE for what the image really has)."
        ),
        check=platforms_undeclared,
    ),
)
