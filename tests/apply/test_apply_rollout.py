"""Waiting for rollouts: done when available, failing fast with the pod and its reason."""

from __future__ import annotations

import pytest

from bulkhead.apply.cluster import apply_cluster
from bulkhead.apply.kube import Target, connect
from bulkhead.apply.objects import ObjectRef
from bulkhead.apply.rollout import RolloutFailed, status_of, wait_for_rollouts
from bulkhead.testing.fakekube import SERVER, FakeKube, fake_config
from tests.apply.kube_builders import HOMELAB, deployment, namespace, pod

WEB = ObjectRef("apps/v1", "Deployment", "apps", "web")
POD_LABELS = {"app.kubernetes.io/name": "web"}


class Clock:
    """A clock the wait loop advances by sleeping, so timeouts take no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def deployed(rollouts: str) -> tuple[FakeKube, object]:
    fake = FakeKube(rollouts=rollouts)  # type: ignore[arg-type]
    cluster = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    apply_cluster(cluster, [namespace("apps"), deployment("apps", "web", replicas=2)], HOMELAB)
    return fake, cluster


def crashing(reason: str, last: dict | None = None, message: str = "") -> dict:
    waiting = {"reason": reason, **({"message": message} if message else {})}
    status = {
        "name": "app",
        "image": "nginx:1.27",
        "imageID": "",
        "ready": False,
        "restartCount": 4,
        "state": {"waiting": waiting},
    }
    if last:
        status["lastState"] = {"terminated": last}
    return {"phase": "Running", "containerStatuses": [status]}


def test_a_ready_rollout_reports_progress_and_finishes():
    _, cluster = deployed("ready")
    seen = []

    states = wait_for_rollouts(
        cluster, [WEB], timeout=5, on_progress=seen.append, sleep=lambda s: None
    )

    assert [s.message for s in states] == ["2/2 replicas available"]
    assert seen
    assert seen[-1].done


def test_oomkilled_crash_loop_fails_naming_the_pod_and_the_memory_limit():
    fake, cluster = deployed("stalled")
    last = {"reason": "OOMKilled", "exitCode": 137}  # as the kubelet reports it
    fake.put(pod("apps", "web-7d9f-abcde", POD_LABELS, crashing("CrashLoopBackOff", last)))

    with pytest.raises(RolloutFailed) as failed:
        wait_for_rollouts(cluster, [WEB], timeout=60, sleep=lambda s: None)

    message = str(failed.value)
    assert "pod apps/web-7d9f-abcde" in message
    assert "OOMKilled, the memory limit is too low" in message


def test_exec_format_error_is_named_as_an_architecture_mismatch():
    fake, cluster = deployed("stalled")
    last = {"reason": "Error", "exitCode": 1, "message": "exec /app: exec format error"}
    fake.put(pod("apps", "web-1", POD_LABELS, crashing("CrashLoopBackOff", last)))

    with pytest.raises(RolloutFailed, match="built for another CPU architecture"):
        wait_for_rollouts(cluster, [WEB], timeout=60, sleep=lambda s: None)


def test_an_unschedulable_pod_fails_with_the_scheduler_message():
    fake, cluster = deployed("stalled")
    scheduler = "0/4 nodes are available: 4 Insufficient memory."
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": scheduler,
    }
    fake.put(pod("apps", "web-2", POD_LABELS, {"phase": "Pending", "conditions": [condition]}))

    with pytest.raises(RolloutFailed, match="web-2 is unschedulable: 0/4 nodes are available"):
        wait_for_rollouts(cluster, [WEB], timeout=60, sleep=lambda s: None)


def test_a_slow_rollout_times_out_naming_the_pods_that_are_not_ready():
    fake, cluster = deployed("stalled")
    fake.put(pod("apps", "web-3", POD_LABELS, crashing("ContainerCreating")))
    clock = Clock()

    with pytest.raises(RolloutFailed) as failed:
        wait_for_rollouts(cluster, [WEB], timeout=30, poll=5, clock=clock, sleep=clock.sleep)

    assert clock.now >= 30
    assert "timed out (0/2 replicas available)" in str(failed.value)
    assert "pod apps/web-3: container app: ContainerCreating" in str(failed.value)


def test_a_pod_of_another_workload_is_not_blamed():
    fake, cluster = deployed("stalled")
    fake.put(pod("apps", "api-1", {"app.kubernetes.io/name": "api"}, crashing("CrashLoopBackOff")))
    clock = Clock()

    with pytest.raises(RolloutFailed) as failed:
        wait_for_rollouts(cluster, [WEB], timeout=10, poll=5, clock=clock, sleep=clock.sleep)

    assert "api-1" not in str(failed.value)
    assert "no pods were created" in str(failed.value)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"observedGeneration": 1}, (False, "waiting for the controller to observe the new spec")),
        ({"observedGeneration": 2, "updatedReplicas": 1}, (False, "1/3 replicas updated")),
        (
            {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 4},
            (False, "1 old replicas terminating"),
        ),
        (
            {"observedGeneration": 2, "updatedReplicas": 3, "replicas": 3, "availableReplicas": 3},
            (True, "3/3 replicas available"),
        ),
    ],
)
def test_deployment_status_reads_like_kubectl_rollout_status(status, expected):
    obj = {
        "kind": "Deployment",
        "metadata": {"generation": 2},
        "spec": {"replicas": 3},
        "status": status,
    }

    assert status_of(obj) == expected
