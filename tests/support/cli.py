"""Run the real ``bulkhead`` command in a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m bulkhead ARGS`` with captured text output; never raises on exit codes."""
    command = [sys.executable, "-m", "bulkhead", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, check=False)
