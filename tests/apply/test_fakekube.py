"""The fake API server itself: the server-side apply semantics the apply tests rely on."""

from __future__ import annotations

import httpx2
import pytest

from bulkhead.testing.fakekube import FakeKube
from bulkhead.testing.fakekube._selectors import matches, parse

BASE = "https://fake/apis/apps/v1/namespaces/apps/deployments"
APPLY = {"Content-Type": "application/apply-patch+yaml"}


@pytest.fixture
def http() -> httpx2.Client:
    fake = FakeKube()
    client = httpx2.Client(transport=fake.transport)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    client.patch(
        "https://fake/api/v1/namespaces/apps", params={"fieldManager": "t"}, json=ns, headers=APPLY
    )
    return client


def deployment(replicas: int, image: str = "nginx:1", **labels: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "labels": labels},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def apply(http, body: dict, manager: str, **params: str) -> httpx2.Response:
    return http.patch(
        f"{BASE}/web", params={"fieldManager": manager, **params}, json=body, headers=APPLY
    )


def test_a_conflict_is_a_409_status_naming_every_field_and_manager(http):
    apply(http, deployment(2), "bulkhead")
    apply(http, deployment(3, image="nginx:2"), "other", force="true")

    answer = apply(http, deployment(2), "bulkhead")

    body = answer.json()
    assert answer.status_code == 409
    assert (body["kind"], body["status"], body["reason"], body["code"]) == (
        "Status",
        "Failure",
        "Conflict",
        409,
    )
    assert body["message"].startswith('Apply failed with 2 conflicts: conflict with "other":')
    assert {c["field"] for c in body["details"]["causes"]} == {
        ".spec.replicas",
        '.spec.template.spec.containers[name="web"].image',
    }


def test_equal_values_are_shared_and_a_manager_that_stops_applying_a_field_drops_it(http):
    apply(http, deployment(2, tier="web"), "bulkhead")
    shared = apply(http, deployment(2), "other").json()  # same replicas: no conflict

    dropped = apply(http, deployment(2), "bulkhead").json()  # bulkhead stops applying the label

    managers = {m["manager"] for m in shared["metadata"]["managedFields"]}
    assert managers == {"bulkhead", "other"}
    assert not dropped["metadata"].get("labels")
    assert dropped["spec"]["replicas"] == 2


def test_dry_run_answers_without_storing_and_a_no_op_keeps_the_version(http):
    created = apply(http, deployment(2), "bulkhead").json()
    dry = apply(http, deployment(5), "bulkhead", dryRun="All").json()
    same = apply(http, deployment(2), "bulkhead").json()

    assert dry["spec"]["replicas"] == 5
    assert http.get(f"{BASE}/web").json()["spec"]["replicas"] == 2
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert created["metadata"]["generation"] == 1


def test_not_found_and_missing_namespace_are_status_bodies(http):
    missing = http.get(f"{BASE}/nope")
    elsewhere = http.patch(
        "https://fake/api/v1/namespaces/nowhere/configmaps/x",
        params={"fieldManager": "t"},
        json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
        headers=APPLY,
    )

    assert (missing.status_code, missing.json()["message"]) == (
        404,
        'deployments.apps "nope" not found',
    )
    assert (elsewhere.status_code, elsewhere.json()["message"]) == (
        404,
        'namespaces "nowhere" not found',
    )


def test_deleting_a_namespace_takes_its_contents(http):
    apply(http, deployment(1), "bulkhead")

    http.delete("https://fake/api/v1/namespaces/apps")

    assert http.get(f"{BASE}/web").status_code == 404


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("a=1,b", {"a": "1", "b": ""}, True),
        ("a==1,!b", {"a": "1", "b": "x"}, False),
        ("a in (1, 2),c notin (3)", {"a": "2"}, True),
        ("a!=1", {}, True),
    ],
)
def test_label_selectors(selector, labels, expected):
    assert matches(parse(selector), labels) is expected
