"""No secret value reaches the render, the checks, or apply's and diff's output and logs.

The reference homelab is pointed at sources holding known sentinel values — a dotenv file
(``file://``) for some secrets, the environment (``env://``) for others — and every place a value
could leak is searched for each sentinel, plain and base64. The sources are first shown to
really resolve to the sentinels, so that a clean render means something.
"""

from __future__ import annotations

import base64
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from bulkhead.checks import run_checks
from bulkhead.commands import apply as apply_verb
from bulkhead.commands import diff as diff_verb
from bulkhead.placement import plan
from bulkhead.render import render_cluster_objects, render_tree
from bulkhead.render.dump import dump_document
from bulkhead.secrets import resolve_secret
from bulkhead.spec import Homelab, load_spec, parse_spec
from bulkhead.testing.fakekube import FakeKube, serve, write_kubeconfig
from tests.render.specs import EXAMPLES, example_data
from tests.support.cli import run_cli

FILE_VALUES = {
    "postgres-password": "SENTINEL-pg-4d1f9a",
    "gitea-db-password": "SENTINEL-giteadb-88c2e0",
    "RESTIC_PASSWORD": "SENTINEL-restic-0b7e51",
}
ENV_VALUES = {  # env://LEAK_GITEA_: key gitea-secret-key is LEAK_GITEA_GITEA_SECRET_KEY
    "LEAK_GITEA_GITEA_SECRET_KEY": "SENTINEL-gitea-key-5a90c3",
    "LEAK_GITEA_GITEA_INTERNAL_TOKEN": "SENTINEL-gitea-token-e61d27",
}
SENTINELS = [*FILE_VALUES.values(), *ENV_VALUES.values()]


def forms(value: str) -> list[str]:
    """A value as it could leak: plain or base64 (a Secret's ``data``)."""
    return [value, base64.b64encode(value.encode()).decode()]


def leaks(text: str) -> list[str]:
    """The sentinels found in ``text``, in any form."""
    return [s for s in SENTINELS if any(form in text for form in forms(s))]


def leaky_data(tmp_path: Path) -> dict[str, Any]:
    """The reference homelab reading its secrets from the sentinel sources; the gateway on the
    GPU machine reads one too, so that the compose render has secrets to (not) leak."""
    source = tmp_path / "lab.env"
    source.write_text("".join(f"{k}={v}\n" for k, v in FILE_VALUES.items()), encoding="utf-8")
    data = example_data()
    for name in ("postgres", "gitea-db", "restic"):
        data["secrets"][name]["source"] = f"file://{source}"
    data["secrets"]["gitea"]["source"] = "env://LEAK_GITEA_"
    data["workloads"]["gateway"]["secretEnv"] = {"HF_TOKEN": "gitea.gitea-internal-token"}
    return data


@pytest.fixture
def sources(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV_VALUES.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def leaky(tmp_path: Path, sources: None) -> Homelab:
    return parse_spec(dump_document(leaky_data(tmp_path)), "homelab.yaml", base_dir=EXAMPLES)


@pytest.fixture
def leaky_file(tmp_path: Path, sources: None) -> Path:
    """The same spec as a file beside copies of the config files it reads."""
    shutil.copytree(EXAMPLES / "config", tmp_path / "config")
    shutil.copy(EXAMPLES / "gateway.yaml", tmp_path / "gateway.yaml")
    path = tmp_path / "homelab.yaml"
    path.write_text(dump_document(leaky_data(tmp_path)), encoding="utf-8")
    return path


def test_the_sources_really_hold_the_sentinels(leaky: Homelab) -> None:
    values = {v.reveal() for name in leaky.secrets for v in resolve_secret(leaky, name).values()}
    assert values == set(SENTINELS)


def test_no_sentinel_in_any_rendered_file(leaky: Homelab) -> None:
    tree = render_tree(leaky, plan(leaky))

    assert {path: leaks(text) for path, text in tree.items() if leaks(text)} == {}
    compose = tree["gpu/compose.yaml"]
    assert "/run/bulkhead/secrets/attic/gateway.env" in compose  # the render does name them
    assert "/run/bulkhead/secrets/attic/gitea/gitea-internal-token" in compose


def test_no_secret_object_with_data_is_ever_rendered(leaky: Homelab) -> None:
    objects = render_cluster_objects(leaky, plan(leaky))

    with_data = [o for o in objects if o["kind"] == "Secret" and ({"data", "stringData"} & set(o))]
    assert with_data == []
    refs = {
        (o["metadata"]["namespace"], ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
        for o in objects
        for c in _containers(o)
        for ref in (e.get("valueFrom") or {} for e in c.get("env") or [])
        if "secretKeyRef" in ref
    }
    assert ("data", "postgres", "postgres-password") in refs  # referred to by name only
    assert leaks(repr(objects)) == []


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    template = (obj.get("spec") or {}).get("template") or {}
    return list((template.get("spec") or {}).get("containers") or [])


def test_a_sentinel_inlined_into_env_fires_bh_sec_006_at_its_line(tmp_path: Path) -> None:
    data = leaky_data(tmp_path)
    data["workloads"]["postgres"]["env"]["ADMIN_PASSWORD"] = FILE_VALUES["postgres-password"]
    text = dump_document(data)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "SENTINEL-pg" in t)
    spec = parse_spec(text, "homelab.yaml", base_dir=EXAMPLES)

    report = run_checks(spec, plan(spec))

    found = [(f.rule, f.workload, f.location.line) for f in report.findings]
    assert [f for f in found if f[0] == "BH-SEC-006"] == [("BH-SEC-006", "postgres", line)]
    assert leaks(repr(report.findings)) == []  # the finding names the variable, not the value


def test_render_check_and_plan_print_no_sentinel(leaky_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    runs = [
        run_cli("render", str(leaky_file), "-o", str(out)),
        run_cli("check", str(leaky_file)),
        run_cli("plan", str(leaky_file)),
        run_cli("secrets", "check", str(leaky_file)),
    ]

    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
    assert [leaks(r.stdout + r.stderr) for r in runs] == [[], [], [], []]
    written = {p: p.read_text() for p in out.rglob("*") if p.is_file()}
    assert len(written) > 10
    assert {str(p): leaks(text) for p, text in written.items() if leaks(text)} == {}


# -- apply and diff against the fake API server ---------------------------------------------------


@pytest.fixture
def kube(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKube]:
    fake = FakeKube()
    with serve(fake) as url:
        config = write_kubeconfig(tmp_path / "kubeconfig", url, context="lab")
        monkeypatch.setenv("KUBECONFIG", str(config))
        yield fake


def run_verb(verb: Any, capsys: pytest.CaptureFixture[str], *args: Any, **kwargs: Any) -> str:
    """Run a verb's body in-process (so that its logs are captured too); its output and code."""
    with pytest.raises(typer.Exit) as done:
        verb.command(*args, **kwargs)
    captured = capsys.readouterr()
    return f"exit {done.value.exit_code}\n{captured.out}{captured.err}"


def test_apply_and_diff_show_and_log_no_value_while_the_cluster_holds_the_secrets(
    leaky_file: Path,
    kube: FakeKube,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cluster = {"env": ["cluster"], "context": "lab"}
    dry = run_verb(apply_verb, capsys, leaky_file, dry_run=True, timeout=30, **cluster)
    applied = run_verb(apply_verb, capsys, leaky_file, timeout=30, **cluster)
    clean = run_verb(diff_verb, capsys, leaky_file, **cluster)
    rotated = FILE_VALUES["RESTIC_PASSWORD"]
    source = leaky_file.parent / "lab.env"
    source.write_text(source.read_text().replace(rotated, "rotated-" + rotated[::-1]))
    changed = run_verb(diff_verb, capsys, leaky_file, **cluster)

    assert [run.splitlines()[0] for run in (dry, applied, clean, changed)] == [
        "exit 0",
        "exit 0",
        "exit 0",
        "exit 1",
    ], applied
    assert "would create   data/secret/postgres" in dry
    assert "created        data/secret/postgres" in applied
    assert "+  RESTIC_PASSWORD: <changed>" in changed
    assert "-  RESTIC_PASSWORD: <hidden>" in changed
    assert leaks(dry + applied + clean + changed) == []
    assert leaks(caplog.text) == []
    secrets = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in kube.objects()
        if o["kind"] == "Secret"
    }
    assert {ref: sorted(o["data"]) for ref, o in secrets.items()} == {
        ("data", "gitea-db"): ["gitea-db-password"],
        ("data", "postgres"): ["postgres-password"],
        ("data", "restic"): ["RESTIC_PASSWORD"],
        ("platform", "gitea"): ["gitea-internal-token", "gitea-secret-key"],
        ("platform", "gitea-db"): ["gitea-db-password"],
        ("platform", "restic"): ["RESTIC_PASSWORD"],
    }
    postgres = secrets[("data", "postgres")]
    assert base64.b64decode(postgres["data"]["postgres-password"]).decode() == "SENTINEL-pg-4d1f9a"
    assert postgres["type"] == "Opaque"
    assert postgres["metadata"]["labels"]["bulkhead.dev/homelab"] == "attic"


def test_a_secret_that_does_not_resolve_stops_apply_before_any_change(
    leaky_file: Path, kube: FakeKube, capsys: pytest.CaptureFixture[str]
) -> None:
    source = leaky_file.parent / "lab.env"
    source.write_text(source.read_text().replace("RESTIC_PASSWORD=", "RESTIC_PASSWRD="))
    spec = load_spec(leaky_file)

    output = run_verb(apply_verb, capsys, leaky_file, env=["cluster"], context="lab")

    where = spec.locate("secrets", "restic", "source")
    assert output.splitlines()[0] == "exit 3"
    assert f"{where}: secret 'restic': " in output
    assert "has no value for key(s) RESTIC_PASSWORD" in output
    assert kube.objects() == []
    assert leaks(output) == []
