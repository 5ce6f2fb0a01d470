"""Choosing the kubeconfig context: only one the user named, and never a credential in a message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bulkhead.apply.kube import ContextRefused, choose_context, load_kubeconfig
from bulkhead.errors import LayerUnreachable

TOKEN = "SENTINEL-TOKEN-d41d8cd98f00"


def kubeconfig(path: Path, current: str = "work") -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [
            {"name": "prod-eu", "cluster": {"server": "https://10.0.0.1:6443"}},
            {"name": "cluster", "cluster": {"server": "https://192.168.1.10:6443"}},
        ],
        "users": [{"name": "me", "user": {"token": TOKEN}}],
        "contexts": [
            {"name": "work", "context": {"cluster": "prod-eu", "user": "me"}},
            {"name": "attic", "context": {"cluster": "cluster", "user": "me"}},
        ],
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_a_named_context_is_used(tmp_path):
    config = load_kubeconfig({"KUBECONFIG": str(kubeconfig(tmp_path / "kc"))})

    target = choose_context(config, "work", "cluster")

    assert (target.context, target.cluster, target.server) == (
        "work",
        "prod-eu",
        "https://10.0.0.1:6443",
    )


def test_the_current_context_is_refused_unless_it_names_the_spec_cluster(tmp_path):
    config = load_kubeconfig({"KUBECONFIG": str(kubeconfig(tmp_path / "kc", current="work"))})

    with pytest.raises(ContextRefused) as refused:
        choose_context(config, None, "cluster")

    message = str(refused.value)
    assert "refusing the current kubeconfig context 'work' (cluster 'prod-eu')" in message
    assert "--context work" in message
    assert TOKEN not in message


def test_the_current_context_is_accepted_when_its_cluster_is_the_spec_environment(tmp_path):
    config = load_kubeconfig({"KUBECONFIG": str(kubeconfig(tmp_path / "kc", current="attic"))})

    assert choose_context(config, None, "cluster").context == "attic"


def test_an_unknown_context_lists_the_known_ones_without_credentials(tmp_path):
    config = load_kubeconfig({"KUBECONFIG": str(kubeconfig(tmp_path / "kc"))})

    with pytest.raises(ContextRefused) as refused:
        choose_context(config, "hom", "cluster")

    assert "contexts: attic (cluster cluster), work (cluster prod-eu)" in str(refused.value)
    assert TOKEN not in str(refused.value)


def test_kubeconfig_lists_are_merged_first_file_first(tmp_path):
    first = kubeconfig(tmp_path / "a", current="attic")
    second = tmp_path / "b"
    second.write_text(
        yaml.safe_dump(
            {
                "current-context": "other",
                "clusters": [{"name": "lab2", "cluster": {"server": "https://lab2:6443"}}],
                "contexts": [{"name": "lab2", "context": {"cluster": "lab2"}}],
                "users": [],
            }
        ),
        encoding="utf-8",
    )

    config = load_kubeconfig({"KUBECONFIG": f"{first}:{second}"})

    assert config.current_context == "attic"
    assert set(config.contexts) == {"work", "attic", "lab2"}


def test_no_kubeconfig_at_all_is_unreachable(tmp_path):
    with pytest.raises(LayerUnreachable, match="no kubeconfig found"):
        load_kubeconfig({"KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)})
