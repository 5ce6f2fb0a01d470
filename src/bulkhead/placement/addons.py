"""What K3s binds before any user pod: its packaged add-ons, and the server process.

Modelled from the manifests K3s ships (``manifests/`` in k3s-io/k3s):

- CoreDNS (requests 100m / 70Mi), metrics-server (100m / 70Mi), local-path-provisioner and
  Traefik (no requests; they still count as pods, and as 100m / 200Mi when scoring) land on the
  first server: at bootstrap it is the only node there is.
- ServiceLB (klipper-lb) runs ``svclb-traefik`` as a DaemonSet on every node whose taints it
  tolerates, holding host ports 80 and 443. Traefik and svclb exist only when the cluster's
  ingress class is ``traefik``.
- An add-on that does not fit its node (a tiny ``maxPods``) is left out, as it would stay
  pending.
- The k3s server process (apiserver, kine, containerd; ``serverOverhead``) is not a pod: the
  scheduler never sees it. It is *not* subtracted from allocatable here, exactly as on a real
  cluster; :class:`~bulkhead.placement.result.NodeUsage` reports it beside the requests so that
  headroom and the checks can count it.
"""

from __future__ import annotations

from dataclasses import replace

from bulkhead.placement.filters import Cycle, resources_fit
from bulkhead.placement.model import SYSTEM_PRIORITY, NodeSpec, NodeState, PodSpec
from bulkhead.placement.pods import DEFAULT_CPU, DEFAULT_MEMORY
from bulkhead.spec.models import K3sEnvironment
from bulkhead.spec.taints import Toleration

_MI = 2**20
SVCLB = "svclb-traefik"
# svclb's own tolerations plus those the DaemonSet controller adds to every daemon pod.
_SVCLB_TOLERATIONS = tuple(
    Toleration.parse(t)
    for t in (
        "CriticalAddonsOnly",
        "node-role.kubernetes.io/master:NoSchedule",
        "node-role.kubernetes.io/control-plane:NoSchedule",
        "node.kubernetes.io/unschedulable:NoSchedule",
        "node.kubernetes.io/not-ready:NoExecute",
        "node.kubernetes.io/unreachable:NoExecute",
        "node.kubernetes.io/disk-pressure:NoSchedule",
        "node.kubernetes.io/memory-pressure:NoSchedule",
        "node.kubernetes.io/pid-pressure:NoSchedule",
    )
)


def _addon(name: str, cpu: int = 0, memory: int = 0) -> PodSpec:
    return PodSpec(
        workload=name,
        replica=0,
        order=-1,
        priority=SYSTEM_PRIORITY,
        cpu=cpu,
        memory=memory,
        cpu_nonzero=cpu or DEFAULT_CPU,
        memory_nonzero=memory or DEFAULT_MEMORY,
        system=True,
    )


def addon_pods(env: K3sEnvironment) -> tuple[PodSpec, ...]:
    """The single-replica add-ons, all bound to the first server."""
    pods = [
        _addon("coredns", 100, 70 * _MI),
        _addon("local-path-provisioner"),
        _addon("metrics-server", 100, 70 * _MI),
    ]
    if has_traefik(env):
        pods.append(_addon("traefik"))
    return tuple(pods)


def has_traefik(env: K3sEnvironment) -> bool:
    """Whether K3s runs its packaged Traefik (and so svclb on 80/443 on every node)."""
    return env.ingress.class_ == "traefik"


def svclb_pod() -> PodSpec:
    """The ServiceLB pod for Traefik's LoadBalancer service: host ports 80 and 443."""
    pod = _addon(SVCLB)
    return replace(pod, host_ports=(80, 443), tolerations=_SVCLB_TOLERATIONS, daemon=True)


def runs_svclb(node: NodeSpec) -> bool:
    """Whether the svclb DaemonSet tolerates every NoSchedule/NoExecute taint of ``node``."""
    hard = (t for t in node.taints if t.effect != "PreferNoSchedule")
    return all(any(tol.tolerates(t) for tol in _SVCLB_TOLERATIONS) for t in hard)


def addon_home(nodes: tuple[NodeSpec, ...], servers_first: tuple[str, ...]) -> str:
    """The node the add-ons land on: the first declared server, else the first node."""
    return servers_first[0] if servers_first else nodes[0].name


def initial_states(
    env: K3sEnvironment, nodes: tuple[NodeSpec, ...], home: str
) -> dict[str, NodeState]:
    """Every node of the cluster with the add-ons already bound."""
    states = {node.name: NodeState(node) for node in nodes}
    for name, state in states.items():
        if has_traefik(env) and runs_svclb(state.node):
            states[name] = _bind_if_fits(svclb_pod(), state)
    for pod in addon_pods(env):
        states[home] = _bind_if_fits(pod, states[home])
    return states


def _bind_if_fits(pod: PodSpec, state: NodeState) -> NodeState:
    """An add-on that does not fit stays pending on a real cluster too: it is left out."""
    return state if resources_fit(pod, state, Cycle()) else state.bind(pod)


def system_names(state: NodeState) -> tuple[str, ...]:
    """What K3s runs on this node before user pods: the server process, then add-ons."""
    server = ("k3s-server",) if state.node.role == "server" else ()
    return server + tuple(p.workload for p in state.pods if p.system)
