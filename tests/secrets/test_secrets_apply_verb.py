"""``bulkhead secrets apply``: only the secret material, as the Gitea deploy workflows write it
before their own apply — Secrets (and their Namespaces) on the fake API server, 0400 files on a
real podman — and the workflow steps that run it, with the sources mapped from Gitea secrets."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from bulkhead.commands import secrets as secrets_verb
from bulkhead.placement import plan
from bulkhead.render import render_tree
from bulkhead.render.gitea import source_variables
from bulkhead.render.view import View
from bulkhead.secrets import resolve_secret
from bulkhead.spec import Homelab, load_spec
from bulkhead.testing.fakekube import FakeKube, serve, write_kubeconfig
from tests.render.specs import variant
from tests.render.validators import (
    actionlint,
    actionlint_available,
    check_jsonschema,
    gitea_ignored_keys,
    unexplained,
)
from tests.secrets.test_apply_secrets import (
    MIXED,
    VALUES,
    gpu_spec,
    leaks,
    run_root,
    sources,
)
from tests.support.cli import run_cli

__all__ = ["run_root", "sources"]  # fixtures shared with test_apply_secrets
Obj = dict[str, Any]
WORKFLOWS = "ci/.gitea/workflows/"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "homelab.yaml"


def decoded(secret: Obj | None) -> dict[str, str]:
    assert secret is not None
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def run_verb(fake: FakeKube, spec_path: Path, *args: str) -> tuple[int, str]:
    """The verb through the real CLI against ``fake`` served over HTTP; (exit code, output)."""
    with serve(fake) as url:
        config = write_kubeconfig(spec_path.parent / "kubeconfig", url, context="lab")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KUBECONFIG", str(config))
            done = run_cli("secrets", "apply", str(spec_path), "--context", "lab", *args)
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "homelab.yaml"
    path.write_text(MIXED, encoding="utf-8")
    return path


# -- the cluster (fake API server) ----------------------------------------------------------------


def test_applies_the_secrets_and_their_namespaces_and_nothing_else(sources, spec_path):
    fake = FakeKube()

    code, output = run_verb(fake, spec_path, "--env", "cluster")

    assert code == 0, output
    applied = sorted((o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])
                     for o in fake.objects())  # fmt: skip
    assert applied == [
        ("Namespace", None, "apps"),
        ("Namespace", None, "data"),
        ("Secret", "apps", "db"),
        ("Secret", "data", "db"),
        ("Secret", "data", "restic"),
    ]
    assert decoded(fake.get("v1", "Secret", "db", "apps")) == {"password": VALUES["T_DB_PASSWORD"]}
    assert decoded(fake.get("v1", "Secret", "db", "data")) == {
        "password": VALUES["T_DB_PASSWORD"],
        "admin-password": VALUES["T_DB_ADMIN_PASSWORD"],
    }
    restic = fake.get("v1", "Secret", "restic", "data")
    assert restic is not None
    assert restic["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "bulkhead",
        "bulkhead.dev/homelab": "lab",
        "bulkhead.dev/secret": "restic",
    }
    assert "created        apps/secret/db" in output
    assert leaks(output) == []


def test_secrets_written_first_are_unchanged_by_bulkhead_apply_and_a_rerun(sources, spec_path):
    from bulkhead.apply import homelab
    from bulkhead.apply.cluster import Action, plan_cluster
    from bulkhead.apply.kube import Target, connect
    from bulkhead.spec import load_spec
    from bulkhead.testing.fakekube import SERVER, fake_config

    fake = FakeKube()
    run_verb(fake, spec_path, "--env", "cluster")
    code, again = run_verb(fake, spec_path, "--env", "cluster")
    cluster = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    full = homelab.with_secrets(homelab.render(load_spec(spec_path)), ["cluster"])
    planned = plan_cluster(cluster, full.objects, "lab", prune=False)

    assert (code, again.splitlines()[-1]) == (0, "  unchanged      5 objects")
    ours = {c.action for c in planned.changes if c.ref.kind in {"Secret", "Namespace"}}
    rest = {c.action for c in planned.changes if c.ref.kind not in {"Secret", "Namespace"}}
    assert (ours, rest) == ({Action.unchanged}, {Action.create})


def test_a_dry_run_changes_nothing(sources, spec_path):
    fake = FakeKube()

    code, output = run_verb(fake, spec_path, "--env", "cluster", "--dry-run")

    assert code == 0, output
    assert fake.objects() == []
    assert "would create   data/secret/restic" in output
    assert leaks(output) == []


def test_an_unresolvable_secret_stops_before_any_change_located(
    sources, spec_path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("T_DB_ADMIN_PASSWORD")
    fake = FakeKube()

    code, output = run_verb(fake, spec_path, "--env", "cluster")

    line = MIXED.splitlines().index(
        '  db: {keys: [password, admin-password], source: "env://T_DB_"}'
    )
    assert code == 3
    assert f"{spec_path}:{line + 1}:" in output
    assert "admin-password" in output
    assert fake.objects() == []
    assert leaks(output) == []


def test_an_unreachable_cluster_exits_4(sources, spec_path, monkeypatch: pytest.MonkeyPatch):
    config = write_kubeconfig(spec_path.parent / "kubeconfig", "http://127.0.0.1:9", context="lab")
    monkeypatch.setenv("KUBECONFIG", str(config))

    done = run_cli("secrets", "apply", str(spec_path), "--context", "lab", "--env", "cluster")

    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr


def test_a_homelab_whose_workloads_read_no_secret_writes_nothing(spec_path, capsys):
    plain = MIXED.replace("secretEnv:", "env:")
    plain = "\n".join(line for line in plain.splitlines() if "backup:" not in line)
    spec_path.write_text(plain + "\n", encoding="utf-8")

    with pytest.raises(typer.Exit) as done:
        secrets_verb.apply(spec_path, env=["cluster"])

    assert done.value.exit_code == 0
    assert "nothing to write" in capsys.readouterr().out


def test_an_unknown_environment_is_refused(spec_path):
    done = run_cli("secrets", "apply", str(spec_path), "--env", "nowhere")

    assert done.returncode == 3
    assert "no environment named nowhere" in done.stderr


# -- the GPU machine (real podman) ----------------------------------------------------------------


@pytest.mark.podman
@pytest.mark.xdist_group("podman")
def test_writes_the_0400_files_and_starts_no_container(
    podman: Any, sources: None, tmp_path: Path, run_root: Path
) -> None:
    spec_path = tmp_path / "homelab.yaml"
    spec_path.write_text(gpu_spec(podman, "gpu-secrets-only"), encoding="utf-8")

    done = run_cli("secrets", "apply", str(spec_path))

    assert done.returncode == 0, done.stderr
    token = run_root / "api" / "token"
    assert token.read_text() == VALUES["T_API_TOKEN"]
    assert stat.S_IMODE(token.stat().st_mode) == 0o400
    assert stat.S_IMODE((run_root / "web.env").stat().st_mode) == 0o400
    assert f"created        {token} (secret file, 0400)" in done.stdout
    containers = podman.client().containers.list(all=True)  # the session's engine is shared
    assert [c.name for c in containers if "gpu-secrets-only" in c.name] == []
    assert leaks(done.stdout + done.stderr) == []


# -- the workflows that run it ------------------------------------------------------------------


def _env_sources(data: Obj) -> None:
    data["secrets"]["postgres"]["source"] = "env://ATTIC_PG_"
    data["secrets"]["restic"]["source"] = "env://ATTIC_"
    data["secrets"]["gitea"]["source"] = "sops://secrets/attic.env"


def _no_gpu_backup(data: Obj) -> None:
    del data["workloads"]["gateway"]["volumes"]["state"]["backup"]


def workflows(spec: Homelab) -> dict[str, Obj]:
    tree = render_tree(spec, plan(spec), spec_path="homelab.yaml", out_dir="rendered")
    return {
        path.removeprefix(WORKFLOWS): yaml.safe_load(text)
        for path, text in tree.items()
        if path.startswith(WORKFLOWS)
    }


def step_names(document: Obj) -> list[str]:
    return [step.get("name", "") for step in document["jobs"]["deploy"]["steps"]]


def secrets_step(document: Obj) -> Obj:
    step: Obj = next(s for s in document["jobs"]["deploy"]["steps"] if s.get("name") == "secrets")
    return step


def test_deploy_workflows_write_the_secrets_before_applying() -> None:
    found = workflows(load_spec(EXAMPLE))
    cluster, gpu = found["deploy-cluster.yaml"], found["deploy-gpu.yaml"]

    names = step_names(cluster)
    assert names.index("install bulkhead") < names.index("secrets") < names.index("apply")
    assert secrets_step(cluster)["run"] == (
        'bulkhead secrets apply "$BULKHEAD_SPEC" --env cluster'
        ' --context "$(kubectl config current-context)"\n'
    )
    assert names.index("kubeconfig") < names.index("secrets")
    names = step_names(gpu)
    assert names.index("pull") < names.index("install bulkhead") < names.index("secrets")
    assert names.index("secrets") < names.index("up")
    assert secrets_step(gpu)["run"] == 'bulkhead secrets apply "$BULKHEAD_SPEC" --env gpu\n'
    assert cluster["env"] == gpu["env"] == {"BULKHEAD_SPEC": "homelab.yaml"}
    assert "env" not in secrets_step(gpu)  # file:// sources: nothing to map


def test_no_secrets_step_where_no_workload_reads_one() -> None:
    gpu = workflows(variant(_no_gpu_backup))["deploy-gpu.yaml"]

    assert "secrets" not in step_names(gpu)
    assert "install bulkhead" not in step_names(gpu)
    assert "env" not in gpu


def test_env_sources_are_mapped_from_gitea_secrets_of_the_same_name_only() -> None:
    spec = variant(_env_sources)
    found = workflows(spec)

    assert secrets_step(found["deploy-cluster.yaml"])["env"] == {
        "ATTIC_PG_POSTGRES_PASSWORD": "${{ secrets.ATTIC_PG_POSTGRES_PASSWORD }}",
        "ATTIC_RESTIC_PASSWORD": "${{ secrets.ATTIC_RESTIC_PASSWORD }}",
        "SOPS_AGE_KEY": "${{ secrets.SOPS_AGE_KEY }}",
    }
    assert secrets_step(found["deploy-gpu.yaml"])["env"] == {
        "ATTIC_RESTIC_PASSWORD": "${{ secrets.ATTIC_RESTIC_PASSWORD }}"
    }


def test_the_mapped_variables_are_the_ones_the_sources_read(monkeypatch) -> None:
    spec = variant(_env_sources)
    names = ["postgres", "restic"]
    for variable in source_variables(View(spec, plan(spec)), names):
        monkeypatch.setenv(variable, f"value-of-{variable}")

    resolved = {name: resolve_secret(spec, name) for name in names}

    assert {k: v.reveal() for k, v in resolved["restic"].items()} == {
        "RESTIC_PASSWORD": "value-of-ATTIC_RESTIC_PASSWORD"
    }
    assert sorted(resolved["postgres"]) == ["postgres-password"]


def test_workflows_with_mapped_secrets_stay_valid_for_gitea(tmp_path: Path) -> None:
    found = workflows(variant(_env_sources))
    paths = []
    for name in ("deploy-cluster.yaml", "deploy-gpu.yaml"):
        assert gitea_ignored_keys(found[name]) == []
        paths.append(tmp_path / name)
        paths[-1].write_text(yaml.safe_dump(found[name]), encoding="utf-8")

    schema = check_jsonschema("vendor.github-workflows", paths)

    assert schema.returncode == 0, schema.stdout + schema.stderr
    if actionlint_available():
        labels = {"arm64", "cluster", "gpu", "amd64"}
        assert unexplained(actionlint(paths), labels) == []


@pytest.fixture(autouse=True)
def _no_context_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BULKHEAD_CONTEXT", raising=False)
