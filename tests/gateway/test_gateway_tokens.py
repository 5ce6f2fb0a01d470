"""Tokens: shown once, stored as SHA-256 only; create / list / revoke from the CLI."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from bulkhead.gateway.tokens import TokenStore
from tests.support.cli import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway.yaml"


def test_only_the_hash_is_stored(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "db.sqlite3")
    secret, token = store.create("bible-api", priority="production", models=("m",), rpm=5)
    store.close()
    dump = "\n".join(sqlite3.connect(tmp_path / "db.sqlite3").iterdump())
    assert secret not in dump
    assert hashlib.sha256(secret.encode()).hexdigest() in dump
    assert token.allows("m")
    assert not token.allows("other")


def test_lookup_and_revocation(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "db.sqlite3")
    secret, token = store.create("svc", priority="experiment")
    found = store.lookup(secret)
    assert found is not None
    assert found.id == token.id
    assert found.priority == "experiment"
    assert store.lookup(secret + "x") is None
    assert store.revoke(token.id)
    assert store.lookup(secret) is None
    assert not store.revoke(token.id)
    [listed] = store.list()
    assert listed.revoked_at is not None


def test_cached_lookups_see_a_revocation_made_through_another_connection(tmp_path: Path) -> None:
    server, cli = TokenStore(tmp_path / "db.sqlite3"), TokenStore(tmp_path / "db.sqlite3")
    secret, token = cli.create("svc", priority="production")
    assert server.lookup(secret) is not None
    assert server.lookup(secret) is not None  # served from the cache now
    assert server.lookup("bhk_unknown") is None
    assert cli.revoke(token.id)
    assert server.lookup(secret) is None  # the other connection's commit cleared the cache
    again, _ = cli.create("svc2", priority="production")
    assert server.lookup(again) is not None
    server.close()
    cli.close()


def _cli(*args: str, state: Path) -> tuple[int, str, str]:
    result = run_cli("gateway", "token", *args, "--config", str(EXAMPLE), "--state-dir", str(state))
    return result.returncode, result.stdout, result.stderr


def test_cli_create_list_revoke(tmp_path: Path) -> None:
    code, out, err = _cli(
        "create", "--service", "bible-api", "--models", "all-minilm-l6-v2", "--rpm", "60",
        "--tpm", "10000", "--priority", "experiment", state=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("bhg_")
    assert "shown only once" in err
    code, out, _ = _cli("list", "--json", state=tmp_path)
    [row] = json.loads(out)
    assert row["service"] == "bible-api"
    assert row["models"] == ["all-minilm-l6-v2"]
    assert (row["rpm"], row["tpm"], row["priority"]) == (60, 10000, "experiment")
    assert secret not in out
    code, out, _ = _cli("revoke", row["id"], state=tmp_path)
    assert code == 0
    assert row["id"] in out
    code, out, _ = _cli("list", state=tmp_path)
    assert "revoked" in out
    code, _, err = _cli("revoke", row["id"], state=tmp_path)
    assert code == 1
    assert "no live token" in err


def test_cli_refuses_unknown_models_and_classes(tmp_path: Path) -> None:
    code, _, err = _cli("create", "--service", "x", "--models", "gpt-9", state=tmp_path)
    assert code == 3
    assert "unknown model(s) gpt-9" in err
    code, _, err = _cli("create", "--service", "x", "--priority", "vip", state=tmp_path)
    assert code == 3
    assert "unknown priority 'vip'" in err
