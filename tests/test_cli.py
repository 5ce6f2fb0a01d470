"""The CLI's foundation verbs: --version, --help, validate, schema (kept in sync), init."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from bulkhead import __version__
from bulkhead.commands.schema import render_schema
from bulkhead.spec import load_spec
from bulkhead.spec.source import load_yaml
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "schema" / "bulkhead.schema.json"


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"bulkhead {__version__}"


def test_help_lists_the_verbs() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for verb in ("validate", "schema", "init"):
        assert verb in result.stdout


def test_validate_reference_homelab(homelab_path: Path) -> None:
    result = run_cli("validate", str(homelab_path))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_committed_schema_is_in_sync() -> None:
    assert SCHEMA_FILE.read_text() == render_schema(), (
        "schema/bulkhead.schema.json is stale: run `bulkhead schema > schema/bulkhead.schema.json`"
    )


def test_schema_command_prints_the_committed_schema() -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads(SCHEMA_FILE.read_text())


def test_examples_validate_against_the_json_schema_and_point_at_it() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for example in sorted((ROOT / "examples").glob("*.yaml")):
        if example.name == "gateway.yaml":
            continue
        first = example.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema/bulkhead.schema.json", example
        data, _, problems = load_yaml(example)  # keeps `on:` a string key, as editors do
        assert not problems
        jsonschema.validate(data, schema)


def test_schema_rejects_what_the_loader_rejects() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    bad = {
        "apiVersion": "bulkhead/v1alpha1",
        "kind": "Homelab",
        "metadata": {"name": "x"},
        "environments": {
            "c": {"type": "k3s", "nodes": {"p": {"cpu": 1, "memory": "1Gi", "rol": "server"}}}
        },
    }
    validator = jsonschema.Draft202012Validator(schema)
    assert any("rol" in e.message for e in validator.iter_errors(bad))


def test_init_writes_a_valid_starter(tmp_path: Path) -> None:
    target = tmp_path / "homelab.yaml"
    result = run_cli("init", str(target))
    assert result.returncode == 0, result.stderr
    spec = load_spec(target)
    assert spec.metadata.name == "my-lab"
    again = run_cli("init", str(target))
    assert again.returncode == 1
    assert "--force" in again.stderr
    assert run_cli("init", str(target), "--force").returncode == 0


def test_spec_docs_are_generated_and_fresh() -> None:
    from bulkhead.spec.docs import render

    committed = (ROOT / "docs" / "spec.md").read_text()
    assert committed == render(), "docs/spec.md is stale: run `make docs`"
    assert "| `serverOverhead` |" in committed


def test_help_imports_no_heavy_module() -> None:
    """`bulkhead --help` stays fast by importing no layer and no heavy library (timing lives in
    bench/cli_startup.py; this asserts the cause, not the clock)."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from bulkhead.cli import main\n"
        "sys.argv = ['bulkhead', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('pydantic', 'yaml', 'bulkhead.spec', 'bulkhead.placement', 'bulkhead.render',\n"
        "         'bulkhead.apply', 'fastapi', 'torch', 'lightkube', 'docker', 'numpy')\n"
        "print(sorted({m for m in sys.modules if m.split('.')[0] in heavy or "
        "any(m.startswith(h + '.') or m == h for h in heavy)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_bare_command_prints_help_and_succeeds() -> None:
    result = run_cli()
    assert result.returncode == 0
    assert "Commands" in result.stdout
