"""Render of examples/large.yaml next to a floor: dumping the same objects with the same library.

Run: ``.venv/bin/python -m bench.render [--runs 7] [--spec examples/large.yaml]``.

- render: :func:`bulkhead.render.render_tree` on an already loaded and placed spec (building
  every object, policy, compose document and workflow, and dumping each file);
- floor: ``yaml.dump_all`` (PyYAML, the C emitter render uses too) of the very documents that
  render builds (cluster objects, compose documents, workflows), already built.

Both are timed interleaved in one process, so they see the same machine; the report gives the
medians and their ratio (render / floor). Load and plan times are shown for scale.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bulkhead.placement import plan
from bulkhead.render import render_cluster_objects, render_compose, render_tree
from bulkhead.render.gitea import workflows
from bulkhead.render.view import View
from bulkhead.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--spec", type=Path, default=ROOT / "examples" / "large.yaml")
    args = parser.parse_args()
    start = time.perf_counter()
    spec = load_spec(args.spec)
    loaded = time.perf_counter()
    placement = plan(spec)
    placed = time.perf_counter()
    view = View(spec, placement)
    documents: list[Any] = [
        *render_cluster_objects(spec, placement),
        *render_compose(spec, placement).values(),
        *(w.document for env in view.gitea() for w in workflows(view, env, ("a", "b")).values()),
    ]
    renders, floors = [], []
    for _ in range(args.runs):  # interleaved: both see the same load
        renders.append(_timed(lambda: render_tree(spec, placement)))
        floors.append(_timed(lambda: yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False)))
    render, floor = statistics.median(renders), statistics.median(floors)
    files = render_tree(spec, placement)
    print(f"spec   : {args.spec.name}: {len(spec.workloads)} workloads, {len(documents)} documents")
    print(f"         load {loaded - start:.2f} s, plan {placed - loaded:.2f} s (for scale)")
    print(f"render : {render * 1000:8.1f} ms  ({len(files)} files, median of {args.runs})")
    print(f"floor  : {floor * 1000:8.1f} ms  (yaml.dump_all of the same documents)")
    print(f"ratio  : {render / floor:8.2f}x")


if __name__ == "__main__":
    main()
