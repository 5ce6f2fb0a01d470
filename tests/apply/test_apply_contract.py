"""The fake API server's scenarios, run against a real cluster (K3s): skipped unless $KUBECONFIG
names one. Everything lives in a namespace of its own, under a homelab name of its own, so prune
can only ever see what these tests created; the namespace is deleted afterwards.

    KUBECONFIG=~/.kube/config BULKHEAD_TEST_CONTEXT=attic pytest -m kubeconfig tests/apply
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from bulkhead.apply.cluster import Action, apply_cluster, plan_cluster
from bulkhead.apply.kube import KubeCluster, Target, connect, load_kubeconfig
from bulkhead.apply.objects import ObjectRef
from bulkhead.apply.rollout import wait_for_rollouts
from tests.apply.kube_builders import config_map, deployment, namespace, service

pytestmark = [
    pytest.mark.kubeconfig,
    pytest.mark.skipif(not os.environ.get("KUBECONFIG"), reason="KUBECONFIG names no cluster"),
]


@pytest.fixture
def lab() -> Iterator[tuple[KubeCluster, str, str]]:
    """A real cluster, a fresh namespace and a homelab name no real homelab uses."""
    config = load_kubeconfig()
    name = os.environ.get("BULKHEAD_TEST_CONTEXT") or config.current_context or ""
    context = config.contexts[name]
    server = config.clusters[context.cluster].server
    cluster = connect(config, Target(name, context.cluster, server))
    suffix = uuid.uuid4().hex[:8]
    ns, homelab = f"bh-contract-{suffix}", f"contract-{suffix}"
    try:
        yield cluster, ns, homelab
    finally:
        cluster.delete(ObjectRef("v1", "Namespace", None, ns), dry_run=False)


def render(ns: str, homelab: str, image: str = "registry.k8s.io/pause:3.10", extra=()) -> list:
    labels = {"app.kubernetes.io/managed-by": "bulkhead", "bulkhead.dev/homelab": homelab}
    return [
        namespace(ns),
        config_map(ns, "settings", {"LOG_LEVEL": "info"}, labels=labels),
        service(ns, "web"),
        deployment(ns, "web", image=image, replicas=1),
        *extra,
    ]


def test_apply_is_idempotent_and_diff_after_apply_is_empty(lab):
    cluster, ns, homelab = lab
    apply_cluster(cluster, render(ns, homelab), homelab)
    first = {ObjectRef.of(o): o["metadata"]["resourceVersion"] for o in _owned(cluster, homelab)}

    plan = plan_cluster(cluster, render(ns, homelab), homelab)
    apply_cluster(cluster, render(ns, homelab), homelab, prune=True)

    assert not plan.changed, [c.diff for c in plan.changes if c.diff]
    again = {ObjectRef.of(o): o["metadata"]["resourceVersion"] for o in _owned(cluster, homelab)}
    assert again == first


def test_prune_deletes_only_what_carries_the_inventory(lab):
    cluster, ns, homelab = lab
    old = config_map(
        ns,
        "old",
        {"a": "1"},
        labels={"app.kubernetes.io/managed-by": "bulkhead", "bulkhead.dev/homelab": homelab},
    )
    apply_cluster(cluster, render(ns, homelab, extra=(old,)), homelab)
    theirs = config_map(ns, "theirs", {"a": "1"}, labels={})
    cluster.apply(theirs, dry_run=False, force=False)

    apply_cluster(cluster, render(ns, homelab), homelab, prune=True)

    assert cluster.get(ObjectRef.of(old)) is None
    assert cluster.get(ObjectRef.of(theirs)) is not None


def test_a_field_another_manager_owns_is_a_conflict(lab):
    cluster, ns, homelab = lab
    apply_cluster(cluster, render(ns, homelab), homelab)
    from lightkube.resources.apps_v1 import Deployment

    cluster._client.patch(
        Deployment, "web", {"spec": {"replicas": 2}}, namespace=ns, field_manager="contract-other"
    )

    plan = plan_cluster(cluster, render(ns, homelab), homelab)

    (conflict,) = plan.having(Action.conflict)
    assert conflict.conflicts[0].manager == "contract-other"
    assert conflict.conflicts[0].field == ".spec.replicas"


def test_a_rollout_completes(lab):
    cluster, ns, homelab = lab
    apply_cluster(cluster, render(ns, homelab), homelab)

    (state,) = wait_for_rollouts(
        cluster, [ObjectRef("apps/v1", "Deployment", ns, "web")], timeout=180
    )

    assert state.done


def _owned(cluster: KubeCluster, homelab: str) -> list[dict]:
    labels = {"app.kubernetes.io/managed-by": "bulkhead", "bulkhead.dev/homelab": homelab}
    return [
        o
        for kind in (("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"))
        for o in cluster.list(*kind, labels=labels)
    ]
