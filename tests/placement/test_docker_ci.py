"""Docker bin-packing (limits, host ports, GPUs shared by VRAM) and CI runner matching."""

from __future__ import annotations

from typing import Any

from bulkhead.placement import plan
from tests.placement.specs import homelab, pi, workload

GI = 2**30


def box(gpus: int = 2, memory: str = "64Gi", cpu: int = 16) -> dict[str, Any]:
    cards = [{"model": "RTX 3090", "memory": "24Gi"}] * gpus
    return {"arch": "amd64", "cpu": cpu, "memory": memory, "gpus": cards}


def gpu_job(vram: str, gpus: int = 1, **fields: Any) -> dict[str, Any]:
    resources = {"cpu": "1", "memory": "1Gi", "gpu": gpus, "gpuMemory": vram}
    return workload("gpu-batch", resources=resources, **fields)


def test_vram_is_bin_packed_best_fit_across_gpus() -> None:
    spec = homelab(
        {"pi-1": pi()},
        {
            "llm": gpu_job("16Gi"),
            "embed": gpu_job("6Gi"),
            "lora": gpu_job("20Gi"),
            "small": gpu_job("2Gi"),
        },
        docker={"rtx": box()},
    )
    result = plan(spec)
    gpus = {a.workload: a.gpus for a in result.assignments}
    # llm → gpu0 (both empty, lowest index); embed → gpu0 (best fit: 8Gi left beats 24Gi);
    # lora → gpu1; small → gpu0 (2Gi left on gpu0 beats 4Gi on gpu1)
    assert gpus == {"llm": (0,), "embed": (0,), "lora": (1,), "small": (0,)}
    rtx = result.node("rtx")
    assert rtx is not None
    assert [(g.requested // GI, g.free // GI) for g in rtx.gpus] == [(24, 0), (20, 4)]


def test_vram_shortage_is_explained_per_gpu() -> None:
    spec = homelab(
        {"pi-1": pi()},
        {"llm": gpu_job("20Gi"), "other": gpu_job("8Gi")},
        docker={"rtx": box(gpus=1)},
    )
    (unplaced,) = plan(spec).unplaced
    assert unplaced.kubernetes == "0/1 nodes are available: 1 Insufficient GPU memory."
    assert unplaced.reasons == ("rtx: GPU memory 4Gi free (gpu0) < 8Gi requested on 1 GPU(s)",)


def test_gpu_count_means_distinct_devices() -> None:
    spec = homelab({"pi-1": pi()}, {"train": gpu_job("4Gi", gpus=2)}, docker={"rtx": box(gpus=1)})
    (unplaced,) = plan(spec).unplaced
    assert unplaced.reasons == ("rtx: nvidia.com/gpu 1 free < 2 requested",)
    assert unplaced.unresolvable
    two = homelab({"pi-1": pi()}, {"train": gpu_job("4Gi", gpus=2)}, docker={"rtx": box()})
    assert plan(two).assignments[0].gpus == (0, 1)


def test_memory_limit_is_what_docker_packs() -> None:
    heavy = workload("gpu-batch", resources={"memory": "1Gi"}, limits={"memory": "40Gi"})
    spec = homelab({"pi-1": pi()}, {"a": heavy, "b": heavy}, docker={"rtx": box()})
    (unplaced,) = plan(spec).unplaced
    assert unplaced.reasons == ("rtx: memory 24Gi free < 40Gi requested",)


def test_exposed_api_ports_are_host_ports() -> None:
    def api(port: int, name: str) -> dict[str, Any]:
        return gpu_job("1Gi", ports={"http": port}, exposes=[name])

    spec = homelab(
        {"pi-1": pi()},
        {"one": api(8080, "one"), "two": api(8080, "two")},
        docker={"rtx": box()},
        apis={
            "one": {"provider": "one", "port": "http"},
            "two": {"provider": "two", "port": "http"},
        },
    )
    (unplaced,) = plan(spec).unplaced
    assert unplaced.reasons == ("rtx: host port 8080 (held by one/0) already in use",)


def test_docker_pools_machines_and_packs_the_fullest_first() -> None:
    spec = homelab(
        {"pi-1": pi()},
        {"a": gpu_job("1Gi"), "b": gpu_job("1Gi")},
        docker={"m1": box(), "m2": box()},
    )
    assert [a.node for a in plan(spec).assignments] == ["m1", "m1"]


RUNNERS = {
    "arm": {"node": "pi-1", "labels": ["arm64", "cluster"], "capacity": 1},
    "arm2": {"node": "pi-1", "labels": ["arm64:docker://node:20", "cluster"], "capacity": 2},
    "gpu": {"node": "pi-1", "labels": ["gpu"], "capacity": 1},
}


def job(*labels: str) -> dict[str, Any]:
    return workload("ci-job", ci={"runsOn": list(labels), "steps": [{"run": "make"}]})


def test_jobs_go_to_the_least_loaded_runner_whose_labels_include_runs_on() -> None:
    spec = homelab(
        {"pi-1": pi()},
        {f"j{i}": job("arm64", "cluster") for i in range(4)} | {"g": job("gpu")},
        runners=RUNNERS,
    )
    result = plan(spec)
    assert result.ok  # capacity queues jobs, it does not refuse them
    assert {a.workload: a.runner for a in result.assignments} == {
        "j0": "arm",
        "j1": "arm2",
        "j2": "arm2",
        "j3": "arm",
        "g": "gpu",
    }
    arm2 = next(r for r in result.runners if r.name == "arm2")
    assert arm2.labels == ("arm64", "cluster")
    assert arm2.jobs == ("j1/0", "j2/0")


def test_a_job_no_runner_fits_lists_what_each_runner_lacks() -> None:
    spec = homelab({"pi-1": pi()}, {"j": job("amd64", "gpu")}, runners=RUNNERS)
    (unplaced,) = plan(spec).unplaced
    assert unplaced.kubernetes == (
        "0/3 runners are available: 3 runner(s) didn't have every runs-on label."
    )
    assert unplaced.reasons == (
        "arm: labels [arm64, cluster] lack amd64, gpu",
        "arm2: labels [arm64, cluster] lack amd64, gpu",
        "gpu: labels [gpu] lack amd64",
    )
