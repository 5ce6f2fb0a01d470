"""Right environment: selection by class, overrides honoured only where possible."""

from __future__ import annotations

from bulkhead.placement import EnvKind, plan
from tests.placement.specs import homelab, pi, workload

RTX = {
    "rtx": {
        "arch": "amd64",
        "cpu": 16,
        "memory": "64Gi",
        "gpus": [{"model": "3090", "memory": "24Gi"}],
    }
}
CPU_BOX = {"nas": {"arch": "amd64", "cpu": 4, "memory": "16Gi"}}
RUNNERS = {"r1": {"node": "pi-1", "labels": ["arm64", "cluster"]}}
GPU = {"gpu": 1, "gpuMemory": "4Gi", "cpu": "1", "memory": "1Gi"}


def test_classes_pick_their_environment() -> None:
    spec = homelab(
        {"pi-1": pi()},
        {
            "api": workload(),
            "pg": workload("database"),
            "runner": workload("ci-runner"),
            "infer": workload("gpu-service", resources=GPU),
            "job": workload("ci-job", ci={"runsOn": ["arm64"], "steps": [{"run": "make"}]}),
        },
        docker=RTX,
        runners=RUNNERS,
    )
    result = plan(spec)
    kinds = {a.workload: a.kind for a in result.assignments}
    assert kinds == {
        "api": EnvKind.k3s,
        "runner": EnvKind.k3s,
        "infer": EnvKind.docker,
        "job": EnvKind.gitea,
    }
    assert result.environments["pg"] == "cluster"  # no fast tier: unplaced but meant for k3s


def test_gpu_work_to_k3s_is_refused_with_the_reason() -> None:
    spec = homelab(
        {"pi-1": pi()}, {"infer": workload("gpu-service", environment="cluster", resources=GPU)}
    )
    (refused,) = plan(spec).unplaced
    assert refused.environment == "cluster"
    assert refused.unresolvable
    assert refused.reasons == (
        "'cluster' is a k3s cluster without GPUs; this gpu-service needs 1 GPU(s)",
    )


def test_service_override_to_docker_is_honoured() -> None:
    spec = homelab({"pi-1": pi()}, {"api": workload(environment="gpu")}, docker=RTX)
    (placed,) = plan(spec).assignments
    assert (placed.environment, placed.kind, placed.node) == ("gpu", EnvKind.docker, "rtx")


def test_gpu_work_needs_a_docker_machine_with_a_gpu() -> None:
    spec = homelab({"pi-1": pi()}, {"infer": workload("gpu-batch", resources=GPU)}, docker=CPU_BOX)
    (refused,) = plan(spec).unplaced
    assert refused.reasons == (
        "a gpu-batch runs on a docker machine with a GPU, and none is declared",
    )
    override = homelab(
        {"pi-1": pi()},
        {"infer": workload("gpu-batch", environment="gpu", resources=GPU)},
        docker=CPU_BOX,
    )
    assert plan(override).unplaced[0].reasons == (
        "'gpu' has no GPU; this gpu-batch needs 1 GPU(s)",
    )


def test_ci_jobs_and_only_ci_jobs_run_on_runners() -> None:
    job = workload("ci-job", environment="cluster", ci={"runsOn": ["x"], "steps": [{"run": "a"}]})
    spec = homelab({"pi-1": pi()}, {"job": job, "api": workload(environment="ci")}, runners=RUNNERS)
    reasons = {u.workload: u.reasons for u in plan(spec).unplaced}
    assert reasons == {
        "job": ("a ci-job runs on a Gitea runner; 'cluster' is a k3s environment",),
        "api": ("environment 'ci' is Gitea: only a ci-job runs on its runners",),
    }
