"""Apply writes secrets where the render points: Kubernetes Secrets per namespace (least
exposure) and 0400 files on the GPU machine, written through the Engine API of a real podman;
the containers get the values, and no value reaches any output, log or error message."""

from __future__ import annotations

import base64
import io
import logging
import os
import shutil
import stat
import tarfile
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import typer

from bulkhead.apply import homelab
from bulkhead.apply.cluster import Action, apply_cluster, plan_cluster
from bulkhead.apply.compose import ComposeError, container_specs
from bulkhead.apply.deploy import StepKind, deploy_docker
from bulkhead.apply.engine import connect_engine
from bulkhead.apply.kube import Target, connect
from bulkhead.apply.secrets import (
    ClusterSecret,
    FileAction,
    Scrubbed,
    SecretFile,
    Values,
    archive,
    dotenv_quote,
    file_changes,
    plan_secrets,
    read_archive,
    stored,
)
from bulkhead.commands import apply as apply_verb
from bulkhead.commands.apply import deploy_options, print_secret_files, sync_secret_files
from bulkhead.errors import ApplyError, LayerUnreachable, Problem, SecretError
from bulkhead.secrets import SecretValue
from bulkhead.secrets.dotenv import parse_dotenv
from bulkhead.spec import Homelab, load_spec, parse_spec
from bulkhead.testing.fakekube import SERVER, FakeKube, fake_config, serve, write_kubeconfig
from tests.support.cli import run_cli

VALUES = {
    "T_DB_PASSWORD": "db-S3NTINEL-1a2b",
    "T_DB_ADMIN_PASSWORD": "admin-S3NTINEL-3c4d",
    "T_API_TOKEN": 'tok\'en-S3NTINEL-$HOME-"5e6f"',  # quotes and a dollar: quoting is exercised
    "T_RESTIC_RESTIC_PASSWORD": "restic-S3NTINEL-7a8b",
}
ROOT = "/run/bulkhead/secrets"


def leaks(text: str) -> list[str]:
    forms = [f for v in VALUES.values() for f in (v, base64.b64encode(v.encode()).decode())]
    return [form for form in forms if form in text]


@pytest.fixture
def sources(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VALUES.items():
        monkeypatch.setenv(name, value)


MIXED = """\
apiVersion: bulkhead/v1alpha1
kind: Homelab
metadata: {name: lab}
environments:
  cluster:
    type: k3s
    nodes:
      pi-1: {role: server, cpu: 4, memory: 8Gi, storage: {class: nvme, size: 100Gi, tier: fast}}
  gpu:
    type: docker
    host: unix:///nonexistent/docker.sock
    address: 127.0.0.1
    nodes:
      box: {cpu: 8, memory: 16Gi, storage: {size: 100Gi}, gpus: [{model: RTX 3090, memory: 24Gi}]}
namespaces: {apps: {}, data: {}}
secrets:
  db: {keys: [password, admin-password], source: "env://T_DB_"}
  api: {keys: [token], source: "env://T_API_"}
  restic: {keys: [RESTIC_PASSWORD], source: "env://T_RESTIC_"}
backups:
  targets:
    nas: {type: nfs, url: "nfs://nas.lan/backups", secret: restic}
workloads:
  web:
    class: service
    namespace: apps
    image: web:1.0
    platforms: [linux/arm64]
    resources: {cpu: 100m, memory: 64Mi}
    secretEnv: {DB_PASSWORD: db.password}
  postgres:
    class: database
    namespace: data
    image: postgres:16.4
    platforms: [linux/arm64]
    resources: {cpu: 100m, memory: 256Mi}
    secretEnv: {POSTGRES_PASSWORD: db.admin-password, APP_PASSWORD: db.password}
    volumes:
      data:
        mount: /var/lib/postgresql/data
        size: 1Gi
        backup: {schedule: "0 3 * * *", to: nas}
  gateway:
    class: gpu-service
    image: gateway:1.0
    platforms: [linux/amd64]
    resources: {cpu: "1", memory: 1Gi, gpu: 1, gpuMemory: 1Gi}
    security: {runAsUser: 1000}
    secretEnv: {API_TOKEN: api.token}
    volumes:
      state:
        mount: /state
        size: 1Gi
        backup: {schedule: "0 4 * * *", to: nas}
"""


def mixed(text: str = MIXED) -> Homelab:
    return parse_spec(text, "homelab.yaml")


# -- what goes where (pure) -----------------------------------------------------------------------


def test_each_namespace_gets_only_the_keys_its_pods_read_and_backups_get_the_whole_secret():
    rendered = homelab.render(mixed())

    found = plan_secrets(rendered.spec, rendered.objects, rendered.compose)

    assert found.cluster == (
        ClusterSecret("apps", "db", ("password",)),  # web never reads admin-password
        ClusterSecret("data", "db", ("password", "admin-password")),
        ClusterSecret("data", "restic", ("RESTIC_PASSWORD",)),  # envFrom of the backup CronJob
    )
    assert found.docker == {
        "gpu": (
            SecretFile(f"{ROOT}/lab/api/token", ref="api.token", owner=1000),
            SecretFile(
                f"{ROOT}/lab/backup-gateway-state.env",
                (("RESTIC_PASSWORD", "restic.RESTIC_PASSWORD"),),
            ),
            SecretFile(f"{ROOT}/lab/gateway.env", (("API_TOKEN", "api.token"),)),
        )
    }
    assert found.names() == ("api", "db", "restic")


def test_the_render_points_backups_at_the_targets_secret():
    rendered = homelab.render(mixed())

    cronjob = next(o for o in rendered.objects if o["kind"] == "CronJob")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    backup = rendered.compose["gpu"]["services"]["backup-gateway-state"]
    assert container["envFrom"] == [{"secretRef": {"name": "restic"}}]
    assert backup["env_file"] == [
        {"path": f"{ROOT}/lab/backup-gateway-state.env", "required": True}
    ]


def test_an_unknown_backup_secret_is_a_located_spec_error(tmp_path: Path):
    path = tmp_path / "homelab.yaml"
    path.write_text(MIXED.replace("secret: restic}", "secret: restik}"), encoding="utf-8")

    result = run_cli("validate", str(path))

    line = MIXED.splitlines().index(
        '    nas: {type: nfs, url: "nfs://nas.lan/backups", secret: restic}'
    )
    column = MIXED.splitlines()[line].index("restic}") + 1
    assert result.returncode == 3
    assert f"{path}:{line + 1}:{column}: unknown secret 'restik'; did you mean 'restic'?" in (
        result.stderr
    )


def test_readers_of_one_key_file_running_as_different_users_are_refused_located():
    text = MIXED + textwrap.indent(
        textwrap.dedent("""\
        worker:
          class: gpu-batch
          image: worker:1.0
          platforms: [linux/amd64]
          resources: {cpu: "1", memory: 1Gi, gpu: 1, gpuMemory: 1Gi}
          security: {runAsUser: 2000}
          secretEnv: {TOKEN: api.token}
        """),
        "  ",
    )
    spec = mixed(text)
    rendered = homelab.render(spec)

    with pytest.raises(SecretError) as refused:
        plan_secrets(spec, (), rendered.compose)

    (problem,) = refused.value.problems
    assert problem.location == spec.locate("workloads", "worker", "secretEnv", "TOKEN")
    assert "gateway as uid 1000, worker as uid 2000" in problem.message


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain-Value_1.2", "plain-Value_1.2"),
        ("with space $HOME #x", "'with space $HOME #x'"),
        ("it's $5", '"it\'s $$5"'),
        ('two\nlines "q" \\', '"two\\nlines \\"q\\" \\\\"'),
    ],
)
def test_env_file_values_are_quoted_as_compose_reads_them(value: str, written: str):
    assert dotenv_quote(value) == written
    if "$" not in written:  # bulkhead's parser does not interpolate; compose unescapes $$
        assert parse_dotenv(f"A={written}\n") == {"A": value}


def test_compose_secrets_become_read_only_binds_and_dollars_are_unescaped():
    document = {
        "secrets": {"api.token": {"file": "/run/bulkhead/secrets/lab/api/token"}},
        "services": {
            "gw": {
                "image": "gw:1",
                "environment": {"PRICE": "$$5"},
                "secrets": [{"source": "api.token", "target": "api.token"}, "api.token"],
            }
        },
    }
    (spec,) = container_specs(document, homelab="lab", environment="gpu")

    assert spec.options["volumes"] == {
        "/run/bulkhead/secrets/lab/api/token": {"bind": "/run/secrets/api.token", "mode": "ro"}
    }
    assert spec.options["environment"] == {"PRICE": "$5"}
    document["secrets"] = {"api.token": {"environment": "TOKEN"}}
    with pytest.raises(ComposeError, match=r"secret 'api\.token' needs a top-level 'file'"):
        container_specs(document, homelab="lab", environment="gpu")


def test_host_directories_read_back_from_docker_and_podman_archives_alike():
    values = Values({"api.token": SecretValue("tok"), "db.password": SecretValue("pw")})
    files = [
        SecretFile("/s/lab/api/token", ref="api.token", owner=1000),
        SecretFile("/s/lab/web.env", (("DB", "db.password"),)),
    ]
    written = archive(files, values, "/s/lab")
    docker_style = _renamed(written, lambda name: f"bulkhead-files/{name}", "bulkhead-files/")
    podman_style = _renamed(written, lambda name: f"/{name}", "")

    for data in (docker_style, podman_style):
        assert read_archive(data, "/s/lab") == {
            "/s/lab/api/token": stored(b"tok", 0o400),
            "/s/lab/web.env": stored(b"DB=pw\n", 0o400),
        }
    changes = file_changes(files, values, read_archive(podman_style, "/s/lab"))
    assert {c.action for c in changes} == {FileAction.unchanged}
    changes = file_changes(files, values, {})
    assert {c.action for c in changes} == {FileAction.create}


def _renamed(data: bytes, rename: Any, root: str) -> bytes:
    """A tar as an engine's GET archive answers: the directory first, then prefixed names."""
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data)) as source,
        tarfile.open(fileobj=out, mode="w") as tar,
    ):
        top = tarfile.TarInfo(root)
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
        for member in source.getmembers():
            handle = source.extractfile(member) if member.isfile() else None
            member.name = rename(member.name)
            tar.addfile(member, handle)
    return out.getvalue()


def test_values_are_hidden_from_repr_and_scrubbed_from_every_error():
    values = Values({"db.password": SecretValue("hunter2-hunter2")})
    encoded = base64.b64encode(b"hunter2-hunter2").decode()

    def fail(exc: Exception) -> None:
        with values.hiding():
            raise exc

    with pytest.raises(Scrubbed) as server:
        fail(ApplyError(f"data/secret/db: the server said hunter2-hunter2 ({encoded})"))
    with pytest.raises(SecretError) as located:
        fail(SecretError([Problem(None, "value hunter2-hunter2 is bad")]))
    with pytest.raises(LayerUnreachable) as untouched:
        fail(LayerUnreachable("cannot reach the engine"))

    assert str(server.value) == "data/secret/db: the server said <hidden> (<hidden>)"
    assert server.value.exit_code == 1
    assert str(located.value) == "value <hidden> is bad"
    assert untouched.value.exit_code == 4
    assert "hunter2" not in repr(values)


# -- the cluster (fake API server) ----------------------------------------------------------------


def test_secrets_are_applied_before_workloads_updated_in_place_and_pruned_when_unread(sources):
    fake = FakeKube()
    cluster = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    first = homelab.with_secrets(homelab.render(mixed()), ["cluster"])
    applied = apply_cluster(cluster, first.objects, "lab")
    order = [(c.ref.kind, c.ref.name) for c in applied.changes]
    live = fake.get("v1", "Secret", "db", "apps")
    without_web = mixed(MIXED.replace("    secretEnv: {DB_PASSWORD: db.password}\n", ""))
    second = homelab.with_secrets(homelab.render(without_web), ["cluster"])
    pruned = apply_cluster(cluster, second.objects, "lab", prune=True)

    assert order.index(("Secret", "db")) < order.index(("Deployment", "web"))
    assert live is not None
    assert {k: base64.b64decode(v).decode() for k, v in live["data"].items()} == {
        "password": VALUES["T_DB_PASSWORD"]
    }
    assert [str(c.ref) for c in pruned.having(Action.prune)] == ["apps/secret/db"]
    assert fake.get("v1", "Secret", "db", "apps") is None
    assert fake.get("v1", "Secret", "db", "data") is not None


def test_a_conflict_on_a_secret_names_the_field_never_the_value(sources, tmp_path, capsys):
    spec_path = tmp_path / "homelab.yaml"
    spec_path.write_text(MIXED, encoding="utf-8")
    fake = FakeKube()
    other = connect(fake_config(), Target("fake", "fake", SERVER), transport=fake.transport)
    made_by_hand = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "data": {"password": base64.b64encode(b"typed-by-hand").decode()},
    }
    other.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}},
                dry_run=False, force=False)  # fmt: skip
    other._client.patch(  # kubectl apply --server-side by someone else
        _secret_type(), "db", made_by_hand, namespace="apps", patch_type=_apply_patch(),
        field_manager="kubectl", force=True,
    )  # fmt: skip
    plan = plan_cluster(other, homelab.with_secrets(homelab.render(mixed())).objects, "lab")

    with serve(fake) as url:
        config = write_kubeconfig(tmp_path / "kubeconfig", url, context="lab")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KUBECONFIG", str(config))
            with pytest.raises(typer.Exit) as done:
                apply_verb.command(spec_path, env=["cluster"], context="lab", timeout=5)
    output = capsys.readouterr()

    assert [str(c.ref) for c in plan.having(Action.conflict)] == ["apps/secret/db"]
    assert done.value.exit_code == 1
    assert "apps/secret/db: .data.password is owned by 'kubectl'" in output.err
    assert leaks(output.out + output.err) == []
    assert "typed-by-hand" not in output.out + output.err


def _secret_type() -> Any:
    from lightkube.resources.core_v1 import Secret

    return Secret


def _apply_patch() -> Any:
    from lightkube.types import PatchType

    return PatchType.APPLY


# -- the GPU machine (real podman) ----------------------------------------------------------------


def gpu_spec(podman: Any, env: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: bulkhead/v1alpha1
        kind: Homelab
        metadata: {{name: {podman.homelab}}}
        environments:
          {env}:
            type: docker
            host: {podman.host}
            address: 127.0.0.1
            nodes:
              box: {{arch: amd64, cpu: 4, memory: 4Gi, gpus: [{{model: RTX 3090, memory: 24Gi}}]}}
        secrets:
          db: {{keys: [password], source: "env://T_DB_"}}
          api: {{keys: [token], source: "env://T_API_"}}
        workloads:
          web:
            class: gpu-service
            image: {podman.image}
            platforms: [linux/amd64]
            resources: {{cpu: 500m, memory: 64Mi, gpu: 1, gpuMemory: 1Gi}}
            ports: {{http: 8080}}
            health: {{path: /healthz, port: http}}
            security: {{runAsUser: 1000}}
            env: {{MODE: plain}}
            secretEnv: {{DB_PASSWORD: db.password, API_TOKEN: api.token}}
        """)


def relocated(rendered: homelab.Rendered, root: Path) -> homelab.Rendered:
    """The render with its secrets directory moved under ``root`` (the test's own folder)."""

    def move(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(ROOT, str(root))
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list):
            return [move(v) for v in value]
        return value

    return replace(rendered, compose=move(dict(rendered.compose)))


def in_container(podman: Any, name: str, *command: str) -> str:
    result = podman.client().containers.get(name).exec_run(list(command), user="1000")
    assert result.exit_code == 0, result.output
    return bytes(result.output).decode()


def deploy_once(podman: Any, rendered: homelab.Rendered, env: str, capsys: Any) -> tuple[Any, str]:
    with connect_engine(podman.host) as engine:
        files = sync_secret_files(engine, rendered, env, dry_run=False)
        options = deploy_options(rendered, env, files, dry_run=False, timeout=60)
        plan = deploy_docker(
            engine, rendered.compose[env], homelab=rendered.homelab, environment=env,
            options=options,
        )  # fmt: skip
    print_secret_files(files, dry_run=False)
    return plan, capsys.readouterr().out


@pytest.mark.podman
@pytest.mark.xdist_group("podman")
def test_gpu_secret_files_are_0400_and_the_container_reads_them(
    podman: Any, sources: None, tmp_path: Path, capsys: Any, caplog: Any, monkeypatch: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    env = "gpu-files"
    spec = parse_spec(gpu_spec(podman, env), "homelab.yaml")
    root = tmp_path / "secrets"
    rendered = homelab.with_secrets(relocated(homelab.render(spec), root))
    directory = root / podman.homelab
    name = f"{podman.homelab}-{env}-web"

    first, printed = deploy_once(podman, rendered, env, capsys)

    token = directory / "api" / "token"
    env_file = directory / "web.env"
    assert [s.kind for s in first.steps] == [StepKind.create]
    assert token.read_text() == VALUES["T_API_TOKEN"]
    assert stat.S_IMODE(token.stat().st_mode) == 0o400
    assert (token.stat().st_uid, token.stat().st_gid) == (1000, 1000)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o400
    assert env_file.stat().st_uid == 0
    assert env_file.read_text() == (
        f"DB_PASSWORD={VALUES['T_DB_PASSWORD']}\nAPI_TOKEN={dotenv_quote(VALUES['T_API_TOKEN'])}\n"
    )
    assert in_container(podman, name, "cat", "/run/secrets/api.token") == VALUES["T_API_TOKEN"]
    environment = in_container(podman, name, "env")
    assert f"DB_PASSWORD={VALUES['T_DB_PASSWORD']}\n" in environment
    assert f"API_TOKEN={VALUES['T_API_TOKEN']}\n" in environment
    assert f"created        {token} (secret file, 0400)" in printed

    again, printed_again = deploy_once(podman, rendered, env, capsys)
    assert [s.kind for s in again.steps] == [StepKind.unchanged]
    assert printed_again == "  unchanged      3 secret files\n"

    monkeypatch.setenv("T_API_TOKEN", "rotated-" + VALUES["T_API_TOKEN"][::-1])
    rotated = homelab.with_secrets(relocated(homelab.render(spec), root))
    third, _ = deploy_once(podman, rotated, env, capsys)
    assert [(s.kind, s.reason) for s in third.steps] == [
        (StepKind.recreate, "configuration changed")
    ]
    assert in_container(podman, name, "cat", "/run/secrets/api.token") == os.environ["T_API_TOKEN"]
    assert leaks(printed + printed_again + caplog.text) == []
    assert "rotated-" not in caplog.text


@pytest.mark.podman
@pytest.mark.xdist_group("podman")
def test_a_key_file_lost_on_reboot_is_rewritten_and_its_readers_recreated(
    podman: Any, sources: None, tmp_path: Path, capsys: Any
) -> None:
    env = "gpu-reboot"
    spec = parse_spec(gpu_spec(podman, env), "homelab.yaml")
    root = tmp_path / "secrets"
    rendered = homelab.with_secrets(relocated(homelab.render(spec), root))
    deploy_once(podman, rendered, env, capsys)
    shutil.rmtree(root)  # /run is a tmpfs: a reboot empties it

    with connect_engine(podman.host) as engine:
        dry = sync_secret_files(engine, rendered, env, dry_run=True)
    wrote_nothing = list((root / podman.homelab).iterdir()) == []
    plan, printed = deploy_once(podman, rendered, env, capsys)

    assert {c.action for c in dry} == {FileAction.create}
    assert wrote_nothing
    assert [(s.kind, s.reason) for s in plan.steps] == [
        (StepKind.recreate, "secret files rewritten")
    ]
    name = f"{podman.homelab}-{env}-web"
    assert in_container(podman, name, "cat", "/run/secrets/api.token") == VALUES["T_API_TOKEN"]
    assert leaks(printed) == []


@pytest.fixture
def run_root(podman: Any) -> Iterator[Path]:
    """The real secrets directory of the test homelab; only root can write under /run."""
    if os.geteuid() != 0:
        pytest.skip("bulkhead apply writes /run/bulkhead/secrets: run as root to test the CLI")
    directory = Path(ROOT) / podman.homelab
    yield directory
    shutil.rmtree(directory, ignore_errors=True)
    for parent in (directory.parent, directory.parent.parent):  # what the engine created
        if parent.exists() and not any(parent.iterdir()):
            parent.rmdir()


@pytest.mark.podman
@pytest.mark.xdist_group("podman")
def test_the_apply_and_diff_verbs_write_the_files_and_print_no_value(
    podman: Any, sources: None, tmp_path: Path, run_root: Path
) -> None:
    spec_path = tmp_path / "homelab.yaml"
    spec_path.write_text(gpu_spec(podman, "gpu-cli"), encoding="utf-8")

    applied = run_cli("apply", str(spec_path), "--timeout", "60")
    diff = run_cli("diff", str(spec_path))

    assert applied.returncode == 0, applied.stderr
    assert f"created        {run_root}/api/token (secret file, 0400)" in applied.stdout
    assert stat.S_IMODE((run_root / "web.env").stat().st_mode) == 0o400
    assert (diff.returncode, diff.stdout.splitlines()[-2:]) == (
        0,
        ["  unchanged      3 secret files", f"  unchanged      {podman.homelab}-gpu-cli-web"],
    )
    assert leaks(applied.stdout + applied.stderr + diff.stdout + diff.stderr) == []
    spec = load_spec(spec_path)
    assert spec.secrets["api"].keys == ["token"]
