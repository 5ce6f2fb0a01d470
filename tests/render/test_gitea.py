"""The Gitea Actions workflows: triggers, runners that fit, and the commands they run."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bulkhead import __version__
from bulkhead.placement import plan
from bulkhead.render import render_tree
from bulkhead.spec import GiteaEnvironment, Homelab
from tests.render.specs import variant

Obj = dict[str, Any]
WORKFLOWS = "ci/.gitea/workflows/"


def workflow(tree: dict[str, str], name: str) -> Obj:
    document: Obj = yaml.safe_load(tree[WORKFLOWS + name])
    return document


def runner_labels(spec: Homelab, runner: str) -> list[str]:
    env = spec.environments["ci"]
    assert isinstance(env, GiteaEnvironment)
    return env.runners[runner].labels


def run_text(document: Obj) -> str:
    return "\n".join(
        step.get("run", "") for job in document["jobs"].values() for step in job["steps"]
    )


def test_one_workflow_per_purpose(example_tree: dict[str, str]) -> None:
    names = sorted(p.removeprefix(WORKFLOWS) for p in example_tree if p.startswith(WORKFLOWS))
    assert names == [
        "backup-gateway-state.yaml",
        "check.yaml",
        "deploy-cluster.yaml",
        "deploy-gpu.yaml",
        "job-deploy-check.yaml",
        "job-refresh-embeddings.yaml",
    ]


def test_check_runs_on_pull_request_and_fails_on_a_stale_render(
    example: Homelab, example_tree: dict[str, str]
) -> None:
    check = workflow(example_tree, "check.yaml")
    assert check["on"] == {"pull_request": {}}
    assert check["env"] == {"BULKHEAD_SPEC": "homelab.yaml", "BULKHEAD_OUT": "rendered"}
    assert check["jobs"]["check"]["runs-on"] == runner_labels(example, "pi-runner")
    script = run_text(check)
    assert f"bulkhead-homelab=={__version__}" in script
    assert 'bulkhead check "$BULKHEAD_SPEC" --format sarif' in script
    assert 'bulkhead render "$BULKHEAD_SPEC" -o "$BULKHEAD_OUT"' in script
    assert 'git status --porcelain -- "$BULKHEAD_OUT"' in script


def test_cluster_deploy_applies_server_side_prunes_and_waits(
    example: Homelab, example_tree: dict[str, str]
) -> None:
    deploy = workflow(example_tree, "deploy-cluster.yaml")
    assert deploy["on"]["push"] == {"branches": ["main"], "paths": ["rendered/cluster/**"]}
    job = deploy["jobs"]["deploy"]
    assert job["runs-on"] == runner_labels(example, "pi-runner")  # lives on a cluster node
    script = run_text(deploy)
    apply = "kubectl apply --server-side --field-manager=bulkhead --force-conflicts"
    assert f'{apply} -k "rendered/cluster"' in script
    assert 'sh "rendered/cluster/prune.sh"' in script
    order = [script.index(s) for s in ("nodes.sh", "kubectl apply", "prune.sh", "rollout status")]
    assert order == sorted(order)
    assert "kubectl -n data rollout status statefulset/postgres" in script
    for name in ("bible-api", "gitea", "act-runner", "redis"):
        assert f"rollout status deployment/{name} " in script
    assert "${{ secrets.KUBECONFIG }}" in yaml.safe_dump(deploy)


def test_gpu_deploy_runs_on_the_gpu_machine_and_checks_the_apis(
    example: Homelab, example_tree: dict[str, str]
) -> None:
    deploy = workflow(example_tree, "deploy-gpu.yaml")
    job = deploy["jobs"]["deploy"]
    assert job["runs-on"] == runner_labels(example, "gpu-runner")
    assert "env" not in job  # the runner is on the machine: no remote DOCKER_HOST
    script = run_text(deploy)
    assert 'docker compose -f "rendered/gpu/compose.yaml" pull' in script
    assert "up -d --remove-orphans --wait" in script
    assert "http://192.168.1.20:8080/readyz" in script
    assert "http://192.168.1.20:11434/api/version" in script


def test_gpu_deploy_without_a_local_runner_goes_through_docker_host() -> None:
    def edit(data: Obj) -> None:
        del data["environments"]["ci"]["runners"]["gpu-runner"]
        del data["workloads"]["refresh-embeddings"]

    spec = variant(edit)
    tree = render_tree(spec, plan(spec))
    job = workflow(tree, "deploy-gpu.yaml")["jobs"]["deploy"]
    assert job["env"] == {"DOCKER_HOST": "ssh://ops@192.168.1.20"}
    assert job["runs-on"] == runner_labels(spec, "pi-runner")
    assert WORKFLOWS + "backup-gateway-state.yaml" not in tree  # it must run on the machine


def test_docker_backup_runs_on_its_schedule(example: Homelab, example_tree: dict[str, str]) -> None:
    backup = workflow(example_tree, "backup-gateway-state.yaml")
    declared = example.workloads["gateway"].volumes["state"].backup
    assert declared is not None
    assert backup["on"]["schedule"] == [{"cron": declared.schedule}]
    assert "--profile backup run --rm backup-gateway-state" in run_text(backup)


def test_ci_jobs_keep_their_triggers_labels_and_steps(
    example: Homelab, example_tree: dict[str, str]
) -> None:
    for name in ("refresh-embeddings", "deploy-check"):
        ci = example.workloads[name].ci
        assert ci is not None
        document = workflow(example_tree, f"job-{name}.yaml")
        assert list(document["on"]) == list(ci.on)
        (job,) = document["jobs"].values()
        labels = job["runs-on"]
        assert (labels if isinstance(labels, list) else [labels]) == ci.runs_on
        assert [s.get("run") or s.get("uses") for s in job["steps"]] == [
            s.run or s.uses for s in ci.steps
        ]
        assert "timeout-minutes" not in job


def test_ignored_timeout_is_explained_in_the_header(example_tree: dict[str, str]) -> None:
    text = example_tree[WORKFLOWS + "job-refresh-embeddings.yaml"]
    header = text.split("\nname:")[0]
    assert "timeoutMinutes: 60" in header
    assert "runner.timeout" in header


@pytest.mark.parametrize("cron", ["15 4 * * 1"])
def test_scheduled_ci_job(cron: str) -> None:
    def edit(data: Obj) -> None:
        data["workloads"]["deploy-check"]["ci"] |= {"on": ["schedule"], "schedule": cron}

    spec = variant(edit)
    document = workflow(render_tree(spec, plan(spec)), "job-deploy-check.yaml")
    assert document["on"] == {"schedule": [{"cron": cron}]}


def test_on_is_quoted_so_yaml_1_1_readers_keep_it_a_key(example_tree: dict[str, str]) -> None:
    for path, text in example_tree.items():
        if path.startswith(WORKFLOWS):
            assert "\n'on':\n" in text, path
