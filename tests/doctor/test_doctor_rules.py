"""Every doctor rule fires on a minimal input of its own, and only rules in the table exist."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bulkhead.doctor import RULES, Containers, Drift, Inputs, Readiness, diagnose
from bulkhead.spec import load_spec

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
SPEC = load_spec(Path(__file__).parents[2] / "examples" / "homelab.yaml")


def node(name: str = "pi-1", memory: str = "8Gi", **conditions: str) -> dict:
    conds = [{"type": "Ready", "status": conditions.pop("Ready", "True")}]
    conds += [{"type": t, "status": s, "reason": "Kubelet"} for t, s in conditions.items()]
    return {
        "metadata": {"name": name},
        "spec": {},
        "status": {
            "allocatable": {"cpu": "4", "memory": memory, "pods": "110"},
            "conditions": conds,
        },
    }


def pod(
    status: dict, memory: str = "64Mi", name: str = "api-1", workload: str = "bible-api"
) -> dict:
    container = {
        "name": "app",
        "image": "x:1",
        "resources": {"requests": {"memory": memory}, "limits": {"memory": "128Mi"}},
    }
    return {
        "metadata": {
            "name": name,
            "namespace": "apps",
            "labels": {"app.kubernetes.io/name": workload},
        },
        "spec": {"nodeName": "pi-1", "containers": [container]},
        "status": status,
    }


def waiting(reason: str, message: str = "", last: dict | None = None, restarts: int = 0) -> dict:
    state = {"waiting": {"reason": reason, "message": message}} if reason else {"running": {}}
    status = {
        "name": "app",
        "image": "x:1",
        "ready": not reason,
        "restartCount": restarts,
        "state": state,
        "lastState": {"terminated": last} if last else {},
    }
    return {"phase": "Running", "containerStatuses": [status]}


@dataclass(frozen=True)
class Live:
    """A container view, as the engine adapter provides them."""

    name: str
    status: str = "running"
    health: str | None = None
    exit_code: int = 0
    oom_killed: bool = False
    health_output: str = ""
    service: str | None = "gateway"


def metrics(*scrapes: str) -> tuple[str, ...]:
    return ("\n".join(scrapes),)


def run(workflow: str, conclusion: str, status: str = "completed", started: str = "") -> dict:
    return {
        "id": 1,
        "run_number": 3,
        "path": f"{workflow}@refs/heads/main",
        "status": status,
        "conclusion": conclusion,
        "started_at": started or "2025-03-14T09:00:00Z",
    }


CASES = {
    "DR-CLU-001": {"nodes": [node(Ready="False")], "pods": []},
    "DR-CLU-002": {"nodes": [node(MemoryPressure="True")], "pods": []},
    "DR-CLU-003": {"nodes": [node(DiskPressure="True")], "pods": []},
    "DR-CLU-004": {"nodes": [node(PIDPressure="True")], "pods": []},
    "DR-CLU-005": {"nodes": [node(memory="1Gi")], "pods": [pod(waiting(""), memory="950Mi")]},
    "DR-CLU-006": {"nodes": [{**node(), "spec": {"unschedulable": True}}], "pods": []},
    "DR-CLU-010": {
        "nodes": [],
        "pods": [
            pod(
                {
                    "phase": "Pending",
                    "conditions": [
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "reason": "Unschedulable",
                            "message": "0/4 nodes are available: 4 Insufficient memory.",
                        }
                    ],
                }
            )
        ],
    },
    "DR-CLU-011": {
        "nodes": [],
        "pods": [pod(waiting("CrashLoopBackOff", last={"reason": "OOMKilled", "exitCode": 137}))],
    },
    "DR-CLU-012": {
        "nodes": [],
        "pods": [
            pod(
                waiting(
                    "CrashLoopBackOff",
                    last={
                        "reason": "Error",
                        "exitCode": 1,
                        "message": "exec /app: exec format error",
                    },
                )
            )
        ],
    },
    "DR-CLU-013": {"nodes": [], "pods": [pod(waiting("ErrImagePull", "not found"))]},
    "DR-CLU-014": {
        "nodes": [],
        "pods": [pod(waiting("CrashLoopBackOff", last={"reason": "Error", "exitCode": 2}))],
    },
    "DR-CLU-015": {
        "nodes": [],
        "pods": [pod(waiting("", last={"reason": "Error", "exitCode": 1}, restarts=4))],
    },
    "DR-CLU-016": {
        "nodes": [],
        "pods": [pod(waiting("CreateContainerConfigError", 'secret "db" not found'))],
    },
    "DR-CLU-020": {"nodes": [], "pods": [], "drift": [Drift("apps/deployment/web", "differs")]},
    "DR-GPU-001": {
        "containers": Containers(
            "unix://x",
            ("gateway",),
            (Live("gpu-gateway", status="exited", exit_code=137, oom_killed=True),),
        )
    },
    "DR-GPU-002": {
        "containers": Containers(
            "unix://x",
            ("gateway",),
            (Live("gpu-gateway", health="unhealthy", health_output="connection refused"),),
        )
    },
    "DR-GPU-003": {
        "containers": Containers("unix://x", ("gateway", "ollama"), (Live("gpu-gateway"),))
    },
    "DR-GPU-010": {"readiness": Readiness(0, "ConnectError", "http://10.0.0.2:8080/readyz")},
    "DR-GPU-011": {
        "readiness": Readiness(
            503,
            {
                "ready": False,
                "checks": {"database": {"ok": False, "detail": "OperationalError: disk I/O error"}},
            },
        )
    },
    "DR-GPU-012": {
        "metrics": metrics(
            'bulkhead_gateway_queue_depth_inputs{priority="production"} 3',
            'bulkhead_gateway_queue_depth_inputs{priority="production"} 9',
        )
    },
    "DR-GPU-013": {
        "metrics": metrics(
            "bulkhead_gateway_admission_rejections_total"
            '{priority="experiment",reason="gpu_memory"} 4'
        )
    },
    "DR-GPU-014": {
        "metrics": metrics(
            'bulkhead_gateway_gpu_memory_used_bytes{gpu="0",name="RTX 3090"} 99',
            'bulkhead_gateway_gpu_memory_total_bytes{gpu="0",name="RTX 3090"} 100',
        )
    },
    "DR-GPU-015": {"metrics": metrics("bulkhead_gateway_gpu_up 0")},
    "DR-CI-001": {"runs": [run("deploy-gpu.yaml", "failure")]},
    "DR-CI-002": {
        "runs": [run("deploy-cluster.yaml", "", status="queued", started="2025-03-14T08:00:00Z")]
    },
    "DR-CI-003": {"runs": [run("check.yaml", "failure")]},
}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_each_rule_fires_on_its_case(rule_id):
    report = diagnose(SPEC, Inputs(now=NOW, **CASES[rule_id]))

    assert [d.rule.id for d in report.diagnoses] == [rule_id]


def test_every_rule_in_the_table_has_a_case_and_ids_are_unique():
    ids = [rule.id for rule in RULES]

    assert sorted(ids) == sorted(CASES)
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"DR-(CLU|GPU|CI)-\d{3}", i) for i in ids)


def test_causes_come_before_symptoms():
    inputs = Inputs(
        now=NOW,
        nodes=[node(Ready="False")],
        pods=[pod(waiting("", last={"reason": "Error", "exitCode": 1}, restarts=5))],
        drift=[Drift("apps/deployment/web", "differs")],
        runs=[run("deploy-cluster.yaml", "failure")],
    )

    report = diagnose(SPEC, inputs)

    assert [d.rule.id for d in report.problems] == [
        "DR-CLU-001",
        "DR-CI-001",
        "DR-CLU-015",
        "DR-CLU-020",
    ]


def test_a_cordoned_node_alone_is_not_a_problem():
    inputs = Inputs(now=NOW, nodes=[{**node(), "spec": {"unschedulable": True}}], pods=[])

    report = diagnose(SPEC, inputs)

    assert report.problems == ()
    assert report.diagnoses[0].rule.id == "DR-CLU-006"


def test_a_failure_fixed_by_a_later_run_is_history():
    fixed = [
        {**run("deploy-cluster.yaml", "failure"), "run_number": 7},
        {**run("deploy-cluster.yaml", "success"), "run_number": 8},
    ]

    assert diagnose(SPEC, Inputs(now=NOW, runs=fixed)).diagnoses == ()


def test_the_older_gitea_tasks_shape_is_read_too():
    tasks = [
        {
            "id": 9,
            "name": "deploy",
            "workflow_id": "deploy-cluster.yaml",
            "status": "failure",
            "run_number": 12,
            "display_title": "gitea: 1.22.6",
            "head_branch": "main",
            "run_started_at": "2025-03-14T09:00:00Z",
        }
    ]

    (found,) = diagnose(SPEC, Inputs(now=NOW, runs=tasks)).diagnoses

    assert found.rule.id == "DR-CI-001"
    assert found.message == "deploy deploy-cluster.yaml failed (run #12: gitea: 1.22.6)"
