"""How fast is ``plan``, next to the floor of loading the same spec, and how does it grow?

    python -m bench.placement.speed [--repeat 3] [--skip-5000]

For each spec, in one run and side by side: the floor (``load_spec`` alone: YAML with
positions, pydantic validation, references) and ``load_spec`` + ``plan`` (placement of every
replica, explanations, remedies, the what-if for every node), each the median of ``--repeat``
runs; the ratio is what planning adds over reading. ``plan`` is then split into its phases
(simulation, what-if). Specs: ``examples/large.yaml`` (100 nodes, 1,000 workloads) and
generated ones of 100, 1,000 and 5,000 workloads, both with nodes growing alongside (one
node per ten workloads) and on a fixed 100 nodes with requests scaled down to fit.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from bench.gen_large import generate
from bulkhead.placement import plan, whatif
from bulkhead.placement.layout import layout_of
from bulkhead.placement.simulate import place
from bulkhead.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def _median(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def measure(path: Path, repeat: int) -> str:
    """One line: floor, plan, ratio, and the phases of plan."""
    floor = _median(lambda: load_spec(path), repeat)
    total = _median(lambda: plan(load_spec(path)), repeat)
    spec = load_spec(path)
    layout = layout_of(spec)
    simulate = _median(lambda: place(layout_of(spec)), repeat)
    placed = place(layout)
    what_if = _median(lambda: whatif.resilience(layout, placed), repeat)
    result = plan(spec)
    return (
        f"{path.name:<28} {len(spec.workloads):>5} workloads {len(result.nodes):>4} nodes "
        f"{len(result.assignments):>5} replicas | load {floor:6.2f}s | load+plan {total:6.2f}s "
        f"= {total / floor:5.2f}× load | simulate {simulate:5.2f}s, what-if {what_if:5.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-5000", action="store_true", help="leave out 5,000 workloads")
    args = parser.parse_args()
    print(measure(ROOT / "examples" / "large.yaml", args.repeat))
    sizes = (100, 1000) if args.skip_5000 else (100, 1000, 5000)
    with tempfile.TemporaryDirectory() as tmp:
        for workloads in sizes:
            grown = Path(tmp) / f"grown-{workloads}.yaml"
            grown.write_text(generate(max(10, workloads // 10), workloads))
            print(measure(grown, args.repeat if workloads < 5000 else 1))
        for workloads in sizes:
            fixed = Path(tmp) / f"fixed100-{workloads}.yaml"
            fixed.write_text(generate(100, workloads, scale=Fraction(1000, workloads)))
            print(measure(fixed, args.repeat if workloads < 5000 else 1))


if __name__ == "__main__":
    main()
