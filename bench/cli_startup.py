"""How long ``bulkhead --help`` takes next to ``python -c pass``, measured interleaved.

Run: ``.venv/bin/python -m bench.cli_startup [--runs 30]``. Prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    bulkhead = shutil.which("bulkhead", path=str(Path(sys.executable).parent)) or "bulkhead"
    floor_cmd, help_cmd = [sys.executable, "-c", "pass"], [bulkhead, "--help"]
    floor, helps = [], []
    for _ in range(runs):  # interleaved so both see the same machine load
        floor.append(_time(floor_cmd))
        helps.append(_time(help_cmd))
    f, h = statistics.median(floor), statistics.median(helps)
    print(f"python -c pass : {f * 1000:7.1f} ms (median of {runs})")
    print(f"bulkhead --help: {h * 1000:7.1f} ms (median of {runs})")
    print(f"ratio          : {h / f:7.2f}x   (added {1000 * (h - f):.1f} ms)")


if __name__ == "__main__":
    main()
