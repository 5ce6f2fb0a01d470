"""Shared fixtures: paths to the repository's examples."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def homelab_path() -> Path:
    """The reference homelab of the user's description."""
    return EXAMPLES / "homelab.yaml"
