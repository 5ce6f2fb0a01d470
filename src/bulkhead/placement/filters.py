"""The kube-scheduler's filter plugins, in the order the default profile runs them.

Each filter takes a pod, one node's state and the pod's :class:`Cycle` (what PreFilter
computed) and returns the :class:`~bulkhead.placement.result.NodeFailure` values that reject
the node — empty when it passes. ``reason`` is the plugin's exact ``ErrReason`` text (what
``kubectl describe pod`` shows); ``detail`` names the numbers behind it.

Order (kube-scheduler v1.31 default plugins): NodeUnschedulable, TaintToleration,
NodeAffinity, NodePorts, NodeResourcesFit, VolumeBinding, PodTopologySpread, InterPodAffinity.

bulkhead's additions ride on the plugin that enforces them in the rendered manifests:

- image architecture: ``platforms`` become a required node affinity on
  ``kubernetes.io/arch``, so a mismatch is a NodeAffinity failure (not the ``exec format
  error`` a bare manifest would crash with at run time);
- a database needs the fast storage tier: a required node affinity on
  ``bulkhead.dev/storage-tier=fast``;
- volume storage: a volume needs a node with storage of its class (VolumeBinding's "didn't find
  available persistent volumes to bind"), and bulkhead enforces the size against the node's
  storage ("did not have enough free storage") although local-path itself does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bulkhead.placement.model import Cluster, NodeSpec, NodeState, PodSpec, StaticCache
from bulkhead.placement.result import NodeFailure
from bulkhead.spec.quantity import human_cpu, human_memory
from bulkhead.spec.taints import Taint

UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
PORTS = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
NOT_ENOUGH_SPACE = "node(s) did not have enough free storage"
SPREAD = "node(s) didn't match pod topology spread constraints"
ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
GPU_RESOURCE = "nvidia.com/gpu"
_CORDON = Taint("node.kubernetes.io/unschedulable", "", "NoSchedule")
_MAX_SKEW = 1


@dataclass(frozen=True)
class Cycle:
    """What PreFilter computed for one pod: the fewest replicas of its workload on any node
    its node affinity admits (PodTopologySpread's global minimum)."""

    spread_min: int = 0


Filter = Callable[[PodSpec, NodeState, Cycle], tuple[NodeFailure, ...]]
Verdict = Callable[[PodSpec, NodeState, Cycle], bool]


@dataclass(frozen=True)
class Plugin:
    """One filter plugin: a quick verdict for scheduling, and the explanation for people.

    ``explain`` returns nothing exactly when ``fits`` holds (it starts from the same test).
    A ``static`` plugin depends only on the pod's workload and the node, never on other pods.
    """

    name: str
    explain: Filter
    fits: Verdict
    static: bool = False


def _fits_when_silent(explain: Filter) -> Verdict:
    def fits(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
        return not explain(pod, state, cycle)

    return fits


def _fail(predicate: str, reason: str, node: str, detail: str) -> tuple[NodeFailure, ...]:
    return (NodeFailure(node, predicate, reason, f"{node}: {detail}"),)


def node_unschedulable(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """A cordoned node takes no pod that does not tolerate its unschedulable taint."""
    if not state.node.unschedulable or any(t.tolerates(_CORDON) for t in pod.tolerations):
        return ()
    return _fail("NodeUnschedulable", UNSCHEDULABLE, state.name, "node is cordoned")


def untolerated(pod: PodSpec, node: NodeSpec) -> tuple[Taint, ...]:
    """The node's NoSchedule/NoExecute taints that the pod does not tolerate, in node order."""
    hard = (t for t in node.taints if t.effect in ("NoSchedule", "NoExecute"))
    return tuple(t for t in hard if not any(tol.tolerates(t) for tol in pod.tolerations))


def taint_toleration(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """Kubernetes reports the first untolerated taint; the detail lists all of them."""
    taints = untolerated(pod, state.node)
    if not taints:
        return ()
    reason = f"node(s) had untolerated taint {{{taints[0].key}: {taints[0].value}}}"
    listed = ", ".join(str(t) for t in taints)
    return _fail("TaintToleration", reason, state.name, f"taint {listed} not tolerated")


def node_affinity(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """nodeSelector, the image's architectures and a database's storage tier."""
    if affinity_fits(pod, state, cycle):
        return ()
    details = [*_selector_misses(pod, state.node), *_arch_miss(pod, state.node)]
    details.extend(_tier_miss(pod, state.node))
    return tuple(_fail("NodeAffinity", AFFINITY, state.name, d)[0] for d in details)


def matches_affinity(pod: PodSpec, node: NodeSpec) -> bool:
    """Whether the pod's required node affinity admits the node (PodTopologySpread's domains);
    the same test as :func:`node_affinity`, without building its messages."""
    if any(node.labels.get(key) != value for key, value in pod.node_selector):
        return False
    if pod.archs is not None and node.arch not in pod.archs:
        return False
    return not pod.needs_fast or (node.storage is not None and node.storage.tier == "fast")


def affinity_fits(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
    """NodeAffinity's verdict."""
    return matches_affinity(pod, state.node)


def _selector_misses(pod: PodSpec, node: NodeSpec) -> Iterable[str]:
    for key, wanted in pod.node_selector:
        have = node.labels.get(key)
        if have is None:
            yield f"nodeSelector {key}={wanted}, node has no label {key}"
        elif have != wanted:
            yield f"nodeSelector {key}={wanted}, node has {key}={have}"


def _arch_miss(pod: PodSpec, node: NodeSpec) -> Iterable[str]:
    archs = pod.archs
    if archs is not None and node.arch not in archs:
        assert pod.platforms is not None
        yield f"arch {node.arch} not in image platforms [{', '.join(pod.platforms)}]"


def _tier_miss(pod: PodSpec, node: NodeSpec) -> Iterable[str]:
    if not pod.needs_fast:
        return
    if node.storage is None:
        yield "no storage, a database needs the fast tier"
    elif node.storage.tier != "fast":
        yield f"storage tier {node.storage.tier}, a database needs fast"


def ports_free(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
    """NodePorts' verdict: none of the pod's host ports is held on the node."""
    return not any(port in state.ports for port in pod.host_ports)


def node_ports(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """Every host port the pod needs must be free on the node."""
    if ports_free(pod, state, cycle):
        return ()
    taken = [
        f"{port} (held by {state.ports[port]})" for port in pod.host_ports if port in state.ports
    ]
    detail = f"host port {', '.join(taken)} already in use"
    return _fail("NodePorts", PORTS, state.name, detail)


def fits_requests(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
    """NodeResourcesFit's verdict: pods, cpu, memory and GPUs all fit (a zero request always
    fits, even on an over-committed node)."""
    node = state.node
    if node.max_pods and len(state.pods) + 1 > node.max_pods:
        return False
    if pod.cpu and pod.cpu > node.cpu - state.cpu:
        return False
    if pod.memory and pod.memory > node.memory - state.memory:
        return False
    return not pod.gpus or pod.gpus <= len(node.gpus) - state.gpus


def resources_fit(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """Requests against allocatable (= capacity on K3s), in the plugin's order of reasons."""
    if fits_requests(pod, state, cycle):
        return ()
    node = state.node
    found: list[NodeFailure] = []
    if node.max_pods and len(state.pods) + 1 > node.max_pods:
        detail = f"{len(state.pods)} pods already, maxPods {node.max_pods}"
        found.extend(_fail("NodeResourcesFit", TOO_MANY_PODS, node.name, detail))
    found.extend(insufficient("cpu", pod.cpu, node.cpu - state.cpu, node.name, human_cpu))
    free_memory = node.memory - state.memory
    found.extend(insufficient("memory", pod.memory, free_memory, node.name, human_memory))
    free_gpus = len(node.gpus) - state.gpus
    found.extend(insufficient(GPU_RESOURCE, pod.gpus, free_gpus, node.name, str))
    return tuple(found)


def insufficient(
    resource: str, asked: int, free: int, node: str, show: Callable[[int], str]
) -> tuple[NodeFailure, ...]:
    """``Insufficient <resource>`` with the numbers, when a positive request exceeds ``free``."""
    if asked <= 0 or asked <= free:
        return ()
    detail = f"{resource} {show(free)} free < {show(asked)} requested"
    return _fail("NodeResourcesFit", f"Insufficient {resource}", node, detail)


def volumes_fit(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
    """VolumeBinding's verdict: storage of each volume's class, and room for all of them."""
    if not pod.volumes:
        return True
    storage = state.node.storage
    if storage is None or any(v.storage_class not in (None, storage.class_) for v in pod.volumes):
        return False
    return pod.storage_request <= storage.size - state.storage


def volume_binding(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """Each volume needs storage of its class on the node, and room for all of them."""
    if volumes_fit(pod, state, cycle):
        return ()
    found = [
        _fail("VolumeBinding", BIND_CONFLICT, state.name, d)[0]
        for d in _class_misses(pod, state.node)
    ]
    storage = state.node.storage
    asked = pod.storage_request
    if storage is not None and asked and asked > storage.size - state.storage:
        free = human_memory(storage.size - state.storage)
        detail = f"storage {free} free < {human_memory(asked)} requested ({storage.class_})"
        found.extend(_fail("VolumeBinding", NOT_ENOUGH_SPACE, state.name, detail))
    return tuple(found)


def _class_misses(pod: PodSpec, node: NodeSpec) -> Iterable[str]:
    for volume in pod.volumes:
        if node.storage is None:
            yield f"no storage for volume {volume.name} ({human_memory(volume.size)})"
        elif volume.storage_class not in (None, node.storage.class_):
            have = node.storage.class_
            yield f"storage class {have}, volume {volume.name} asks {volume.storage_class}"


def skew_ok(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
    """PodTopologySpread's verdict: replicas here + 1 − global minimum ≤ maxSkew."""
    return not pod.spread or state.replicas.get(pod.workload, 0) + 1 - cycle.spread_min <= _MAX_SKEW


def topology_spread(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """hostname, maxSkew 1, DoNotSchedule: replicas here + 1 - global minimum ≤ maxSkew."""
    if skew_ok(pod, state, cycle):
        return ()
    here = state.replicas.get(pod.workload, 0)
    detail = (
        f"topology spread: {here} replica(s) of {pod.workload} here, {cycle.spread_min} on the "
        f"emptiest eligible node (maxSkew {_MAX_SKEW})"
    )
    return _fail("PodTopologySpread", SPREAD, state.name, detail)


def apart(pod: PodSpec, state: NodeState, cycle: Cycle) -> bool:
    """InterPodAffinity's verdict: no replica of the same workload on the node."""
    return not pod.spread or not state.replicas.get(pod.workload)


def inter_pod_affinity(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """Required anti-affinity on the hostname between replicas of one workload."""
    if apart(pod, state, cycle):
        return ()
    peers = ", ".join(p.key for p in state.pods if p.workload == pod.workload)
    return _fail("InterPodAffinity", ANTI_AFFINITY, state.name, f"anti-affinity: {peers} runs here")


FILTERS: tuple[Plugin, ...] = (
    Plugin("NodeUnschedulable", node_unschedulable, _fits_when_silent(node_unschedulable), True),
    Plugin("TaintToleration", taint_toleration, _fits_when_silent(taint_toleration), True),
    Plugin("NodeAffinity", node_affinity, affinity_fits, True),
    Plugin("NodePorts", node_ports, ports_free),
    Plugin("NodeResourcesFit", resources_fit, fits_requests),
    Plugin("VolumeBinding", volume_binding, volumes_fit),
    Plugin("PodTopologySpread", topology_spread, skew_ok),
    Plugin("InterPodAffinity", inter_pod_affinity, apart),
)


def all_failures(pod: PodSpec, state: NodeState, cycle: Cycle) -> tuple[NodeFailure, ...]:
    """Every failing predicate of every filter, in filter order (for explanations)."""
    return tuple(f for plugin in FILTERS for f in plugin.explain(pod, state, cycle))


def prefilter(pod: PodSpec, cluster: Cluster, cache: StaticCache | None = None) -> Cycle:
    """PodTopologySpread's PreFilter: the minimum over nodes the pod's node affinity admits.

    Taints and cordons do not remove a node from the domains (nodeTaintsPolicy: Ignore), so a
    cordoned node with no replica keeps the minimum at zero, exactly as in Kubernetes.
    """
    if not pod.spread:
        return Cycle()
    memo = ({} if cache is None else cache).setdefault(("affinity", pod.static_key), {})
    counts = [
        s.replicas.get(pod.workload, 0) for s in cluster.values() if _eligible(pod, s.node, memo)
    ]
    return Cycle(spread_min=min(counts, default=0))


def _eligible(pod: PodSpec, node: NodeSpec, memo: dict[str, bool]) -> bool:
    verdict = memo.get(node.name)
    if verdict is None:
        verdict = memo[node.name] = matches_affinity(pod, node)
    return verdict
