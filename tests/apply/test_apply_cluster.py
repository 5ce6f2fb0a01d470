"""Diff, apply and prune against the fake API server, through lightkube and the real adapter."""

from __future__ import annotations

import httpx2
import pytest

from bulkhead.apply.cluster import Action, ConflictReport, apply_cluster, plan_cluster
from bulkhead.apply.kube import KubeCluster, Target, connect
from bulkhead.apply.objects import ObjectRef
from bulkhead.errors import ApplyError, LayerUnreachable
from bulkhead.testing.fakekube import SERVER, FakeKube, fake_config
from tests.apply.kube_builders import HOMELAB, INVENTORY, config_map, deployment, namespace, service


def render(image: str = "nginx:1.27", extra: tuple[dict, ...] = ()) -> list[dict]:
    """A small render, deliberately out of kind order."""
    return [
        deployment("apps", "web", image=image, replicas=2),
        service("apps", "web"),
        config_map("apps", "web-config", {"LOG_LEVEL": "info"}),
        namespace("apps"),
        *extra,
    ]


def writes(fake: FakeKube) -> list[tuple[str, str]]:
    """Every request that changed state: (method, path)."""
    return [
        (c.method, c.path)
        for c in fake.calls
        if c.method in ("PATCH", "POST", "DELETE") and c.params.get("dryRun") != "All"
    ]


def test_first_plan_creates_everything_and_writes_nothing(fake, cluster):
    plan = plan_cluster(cluster, render(), HOMELAB)

    assert [(str(c.ref), c.action) for c in plan.changes] == [
        ("namespace/apps", Action.create),
        ("apps/configmap/web-config", Action.create),
        ("apps/service/web", Action.create),
        ("apps/deployment/web", Action.create),
    ]
    assert "namespace apps is created by this apply" in plan.changes[1].note
    assert "+  replicas: 2" in plan.changes[3].diff
    assert writes(fake) == []
    assert fake.objects() == []


def test_apply_creates_in_kind_order_with_field_manager_bulkhead(fake, cluster):
    apply_cluster(cluster, render(), HOMELAB)

    kinds = [path.split("/")[-2] for _, path in writes(fake)]
    assert kinds == ["namespaces", "configmaps", "services", "deployments"]
    assert all(c.params["fieldManager"] == "bulkhead" for c in fake.calls if c.method == "PATCH")
    live = fake.get("apps/v1", "Deployment", "web", "apps")
    assert live is not None
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == ["bulkhead"]
    assert live["metadata"]["labels"]["bulkhead.dev/homelab"] == HOMELAB


def test_inventory_labels_are_added_when_the_render_lacks_them(fake, cluster):
    bare = config_map("apps", "bare", {"a": "1"}, labels={})
    apply_cluster(cluster, [namespace("apps"), bare], HOMELAB)

    live = fake.get("v1", "ConfigMap", "bare", "apps")
    assert live is not None
    assert INVENTORY.items() <= live["metadata"]["labels"].items()


def test_diff_after_apply_is_empty_and_a_second_apply_writes_nothing(fake, cluster):
    apply_cluster(cluster, render(), HOMELAB)
    versions = {ObjectRef.of(o): o["metadata"]["resourceVersion"] for o in fake.objects()}
    fake.calls.clear()

    plan = plan_cluster(cluster, render(), HOMELAB)
    apply_cluster(cluster, render(), HOMELAB, prune=True)

    assert not plan.changed
    assert {c.action for c in plan.changes} == {Action.unchanged}
    assert writes(fake) == []
    assert {ObjectRef.of(o): o["metadata"]["resourceVersion"] for o in fake.objects()} == versions


def test_a_changed_image_is_one_update_whose_diff_shows_only_the_image(fake, cluster):
    apply_cluster(cluster, render(), HOMELAB)

    plan = plan_cluster(cluster, render(image="nginx:1.28"), HOMELAB)

    (update,) = plan.having(Action.update)
    assert str(update.ref) == "apps/deployment/web"
    changed = [
        line
        for line in update.diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == ["-      - image: nginx:1.27", "+      - image: nginx:1.28"]


def test_server_defaults_never_show_as_changes(fake, cluster):
    apply_cluster(cluster, render(), HOMELAB)
    live = fake.get("v1", "Service", "web", "apps")
    assert live is not None
    assert live["spec"]["clusterIP"].startswith("10.43.")

    plan = plan_cluster(cluster, render(), HOMELAB)

    assert plan.having(Action.update) == ()


def test_conflicts_are_all_refused_before_anything_changes(fake, cluster):
    apply_cluster(cluster, render(), HOMELAB)
    other = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    other._client.patch(  # another manager scales the deployment by hand
        _deployment_type(),
        "web",
        {"spec": {"replicas": 5}},
        namespace="apps",
        field_manager="kubectl-scale",
    )
    changed_config = config_map("apps", "web-config", {"LOG_LEVEL": "debug"})
    new_render = [*render()[:2], changed_config, namespace("apps")]
    fake.calls.clear()

    with pytest.raises(ConflictReport) as refused:
        apply_cluster(cluster, new_render, HOMELAB)

    assert "apps/deployment/web: .spec.replicas is owned by 'kubectl-scale'" in str(refused.value)
    assert writes(fake) == []
    live_config = fake.get("v1", "ConfigMap", "web-config", "apps")
    assert live_config is not None
    assert live_config["data"] == {"LOG_LEVEL": "info"}


def test_force_conflicts_takes_the_fields_over(fake, cluster):
    apply_cluster(cluster, render(), HOMELAB)
    other = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    other._client.patch(
        _deployment_type(),
        "web",
        {"spec": {"replicas": 5}},
        namespace="apps",
        field_manager="kubectl-scale",
    )

    plan = plan_cluster(cluster, render(), HOMELAB)
    apply_cluster(cluster, render(), HOMELAB, force=True)

    assert [c.conflicts[0].manager for c in plan.having(Action.conflict)] == ["kubectl-scale"]
    live = fake.get("apps/v1", "Deployment", "web", "apps")
    assert live is not None
    assert live["spec"]["replicas"] == 2
    assert {m["manager"] for m in live["metadata"]["managedFields"]} == {"bulkhead"}


def test_prune_deletes_only_what_carries_both_inventory_labels(fake, cluster):
    old = config_map("apps", "old", {"a": "1"})
    apply_cluster(cluster, render(extra=(old,)), HOMELAB)
    strangers = [
        config_map("apps", "theirs", {"a": "1"}, labels={}),
        config_map("apps", "half", {"a": "1"}, labels={"app.kubernetes.io/managed-by": "bulkhead"}),
        config_map(
            "apps", "other-lab", {"a": "1"}, labels={**INVENTORY, "bulkhead.dev/homelab": "x"}
        ),
    ]
    for obj in strangers:
        fake.put(obj)

    plan = plan_cluster(cluster, render(), HOMELAB)
    apply_cluster(cluster, render(), HOMELAB, prune=True)

    assert [str(c.ref) for c in plan.having(Action.prune)] == ["apps/configmap/old"]
    assert plan.changes[-1].diff.startswith("--- live/apps/configmap/old")
    assert fake.get("v1", "ConfigMap", "old", "apps") is None
    assert all(fake.get("v1", "ConfigMap", o["metadata"]["name"], "apps") for o in strangers)


def test_without_prune_nothing_is_deleted(fake, cluster):
    apply_cluster(cluster, render(extra=(config_map("apps", "old", {"a": "1"}),)), HOMELAB)

    apply_cluster(cluster, render(), HOMELAB)

    assert fake.get("v1", "ConfigMap", "old", "apps") is not None


def test_a_namespace_no_longer_rendered_is_reported_never_deleted(fake, cluster):
    apply_cluster(cluster, [*render(), namespace("old-team")], HOMELAB)
    fake.put(config_map("old-team", "precious", {"k": "v"}, labels={}))

    plan = apply_cluster(cluster, render(), HOMELAB, prune=True)

    (orphan,) = plan.having(Action.orphan)
    assert str(orphan.ref) == "namespace/old-team"
    assert "never deletes a Namespace" in orphan.note
    assert not plan.changed
    assert fake.get("v1", "ConfigMap", "precious", "old-team") is not None


def test_dry_run_reports_the_plan_and_writes_nothing(fake, cluster):
    plan = apply_cluster(cluster, render(), HOMELAB, dry_run=True, prune=True)

    assert len(plan.having(Action.create)) == 4
    assert writes(fake) == []


def test_secret_values_never_reach_a_diff(fake, cluster):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "stringData": {"password": "hunter2-SENTINEL"},
    }
    apply_cluster(cluster, [namespace("apps"), secret], HOMELAB)
    changed = {**secret, "stringData": {"password": "swordfish-SENTINEL"}}

    plan = plan_cluster(cluster, [namespace("apps"), changed], HOMELAB)

    text = "".join(c.diff for c in plan.changes)
    assert "SENTINEL" not in text
    assert "+  password: <changed>" in text


def test_a_missing_namespace_names_it(cluster):
    with pytest.raises(ApplyError, match='namespaces "nowhere" not found'):
        plan_cluster(cluster, [config_map("nowhere", "x", {})], HOMELAB)


def test_custom_resources_need_their_crd_then_apply_as_generic_resources(fake, cluster):
    route = {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "IngressRoute",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"entryPoints": ["websecure"], "routes": []},
    }
    with pytest.raises(ApplyError, match=r"does not serve traefik\.io/v1alpha1 IngressRoute"):
        apply_cluster(cluster, [namespace("apps"), route], HOMELAB)

    fake.put(_ingressroute_crd())
    fresh = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    apply_cluster(fresh, [namespace("apps"), route], HOMELAB)

    assert fake.get("traefik.io/v1alpha1", "IngressRoute", "web", "apps") is not None
    assert not plan_cluster(fresh, [namespace("apps"), route], HOMELAB).changed


def test_an_unreachable_server_is_a_layer_unreachable_naming_the_context():
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    down = connect(
        fake_config("attic"),
        Target("attic", "attic", SERVER),
        transport=httpx2.MockTransport(refuse),
    )
    with pytest.raises(LayerUnreachable, match="context attic"):
        plan_cluster(down, render(), HOMELAB)


def _deployment_type():
    from lightkube.resources.apps_v1 import Deployment

    return Deployment


def _ingressroute_crd() -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "ingressroutes.traefik.io"},
        "spec": {
            "group": "traefik.io",
            "scope": "Namespaced",
            "names": {
                "kind": "IngressRoute",
                "plural": "ingressroutes",
                "singular": "ingressroute",
            },
            "versions": [{"name": "v1alpha1", "served": True, "storage": True}],
        },
    }


def _unused(_: KubeCluster) -> None:  # keeps the fixture type imported for readers
    return None
