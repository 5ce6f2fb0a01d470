"""The K3s profile: kube-scheduler filters and scores, add-ons bound first.

:data:`K3S` plugs :mod:`.filters` and :mod:`.scores` into :func:`.scheduler.schedule`;
:func:`cluster_of` builds the starting state of one k3s environment (its nodes, with what K3s
binds before any user pod, see :mod:`.addons`).
"""

from __future__ import annotations

from bulkhead.placement import addons
from bulkhead.placement.filters import FILTERS, prefilter
from bulkhead.placement.model import NodeState, PodSpec
from bulkhead.placement.nodes import k3s_nodes
from bulkhead.placement.result import EnvKind
from bulkhead.placement.scheduler import Profile
from bulkhead.placement.scores import best
from bulkhead.spec.models import K3sEnvironment


def _bind(pod: PodSpec, state: NodeState) -> NodeState:
    return state.bind(pod)


K3S = Profile(EnvKind.k3s, FILTERS, prefilter, best, _bind, sample=True)


def cluster_of(env_name: str, env: K3sEnvironment) -> dict[str, NodeState]:
    """Every node of the environment with the k3s add-ons already bound."""
    nodes = k3s_nodes(env_name, env)
    return addons.initial_states(env, nodes, addons.addon_home(nodes, servers(env)))


def servers(env: K3sEnvironment) -> tuple[str, ...]:
    """The server (control-plane) nodes, in declaration order."""
    return tuple(name for name, node in env.nodes.items() if node.role == "server")
