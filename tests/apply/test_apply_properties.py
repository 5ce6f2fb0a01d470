"""Properties of apply and prune over generated renders and generated strangers.

Each example runs against a fresh fake API server through the real adapter:
- prune never deletes an object without both inventory labels of this homelab;
- prune deletes every owned object that is no longer rendered (kinds it may delete);
- apply is idempotent: a second apply writes nothing;
- diff after apply is empty.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkhead.apply.cluster import Action, apply_cluster, plan_cluster
from bulkhead.apply.kube import Target, connect
from bulkhead.apply.objects import ObjectRef
from bulkhead.testing.fakekube import SERVER, FakeKube, fake_config
from tests.apply.kube_builders import HOMELAB, INVENTORY, config_map, deployment, namespace, service

NAMESPACES = ("apps", "data")
NAMES = ("a", "b", "c", "d")
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LABEL_SETS = st.sampled_from(
    [
        {},
        {"app.kubernetes.io/managed-by": "bulkhead"},
        {"bulkhead.dev/homelab": HOMELAB},
        {**INVENTORY, "bulkhead.dev/homelab": "another-lab"},
        {"app.kubernetes.io/managed-by": "helm", "bulkhead.dev/homelab": HOMELAB},
    ]
)


@st.composite
def owned_objects(draw: st.DrawFn) -> dict[str, Any]:
    ns, name = draw(st.sampled_from(NAMESPACES)), draw(st.sampled_from(NAMES))
    kind = draw(st.sampled_from(["ConfigMap", "Service", "Deployment"]))
    if kind == "ConfigMap":
        data = draw(st.dictionaries(st.sampled_from(["x", "y"]), st.text("ab", max_size=3)))
        return config_map(ns, name, data)
    if kind == "Service":
        return service(ns, name, port=draw(st.sampled_from([80, 8000])))
    image = draw(st.sampled_from(["nginx:1.27", "nginx:1.28"]))
    return deployment(ns, name, image=image, replicas=draw(st.integers(1, 3)))


def renders() -> st.SearchStrategy[list[dict[str, Any]]]:
    objects = st.lists(owned_objects(), max_size=6, unique_by=lambda o: ObjectRef.of(o))
    return objects.map(lambda objs: [namespace(ns) for ns in NAMESPACES] + objs)


@st.composite
def strangers(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 4))
    found = []
    for i in range(count):
        ns = draw(st.sampled_from(NAMESPACES))
        found.append(config_map(ns, f"stranger-{i}", {"k": "v"}, labels=draw(LABEL_SETS)))
    return found


def fresh() -> tuple[FakeKube, Any]:
    fake = FakeKube()
    cluster = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    return fake, cluster


@PROPERTY
@given(first=renders(), second=renders(), others=strangers())
def test_prune_never_deletes_an_object_without_the_inventory_labels(first, second, others):
    fake, cluster = fresh()
    apply_cluster(cluster, first, HOMELAB)
    for obj in others:
        fake.put(obj)
    before = {ObjectRef.of(o): o for o in fake.objects()}

    apply_cluster(cluster, second, HOMELAB, prune=True)

    after = {ObjectRef.of(o) for o in fake.objects()}
    rendered = {ObjectRef.of(o) for o in second}
    for ref, obj in before.items():
        labels = obj["metadata"].get("labels") or {}
        owned = INVENTORY.items() <= labels.items()
        if not owned:
            assert ref in after, f"prune deleted {ref}, which bulkhead does not own"
        elif ref not in rendered and ref.kind not in ("Namespace",):
            assert ref not in after, f"prune kept {ref}, owned and no longer rendered"


@PROPERTY
@given(render=renders())
def test_apply_is_idempotent(render):
    fake, cluster = fresh()
    apply_cluster(cluster, render, HOMELAB, prune=True)
    snapshot = fake.objects()
    fake.calls.clear()

    apply_cluster(cluster, render, HOMELAB, prune=True)

    assert fake.objects() == snapshot
    assert [c for c in fake.calls if c.method != "GET" and c.params.get("dryRun") != "All"] == []


@PROPERTY
@given(first=renders(), second=renders())
def test_diff_after_apply_is_empty(first, second):
    _, cluster = fresh()
    apply_cluster(cluster, first, HOMELAB, prune=True)
    apply_cluster(cluster, second, HOMELAB, prune=True)

    plan = plan_cluster(cluster, second, HOMELAB)

    assert not plan.changed, [c.diff for c in plan.changes if c.action is not Action.unchanged]
