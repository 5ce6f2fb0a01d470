"""Render fixtures: the reference homelab, its real placement and render, and the golden switch.

``pytest tests/render --update-golden`` rewrites ``tests/render/golden/`` from the current
render instead of comparing against it (``make golden``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkhead.placement import PlacementResult, plan
from bulkhead.render import render_tree
from bulkhead.spec import Homelab, load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SPEC_PATH = "homelab.yaml"
OUT_DIR = "rendered"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/render/golden/ from the current render instead of comparing",
    )


@pytest.fixture(scope="session")
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether this run rewrites the golden files."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def example() -> Homelab:
    """The reference homelab."""
    return load_spec(EXAMPLES / "homelab.yaml")


@pytest.fixture(scope="session")
def example_placement(example: Homelab) -> PlacementResult:
    """Its real placement."""
    placement = plan(example)
    assert placement.ok, placement.unplaced
    return placement


@pytest.fixture(scope="session")
def example_tree(example: Homelab, example_placement: PlacementResult) -> dict[str, str]:
    """Its rendered files, as the CLI writes them from the repository root."""
    return render_tree(example, example_placement, spec_path=SPEC_PATH, out_dir=OUT_DIR)


@pytest.fixture(scope="session")
def written_tree(tmp_path_factory: pytest.TempPathFactory, example_tree: dict[str, str]) -> Path:
    """The rendered files on disk."""
    root = tmp_path_factory.mktemp("rendered")
    for name, text in example_tree.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
