"""Pages generated from code (``docs/rules.md``, ``docs/doctor.md``): write them, or check that
the committed copy is fresh. A small utility every layer may use; it imports no layer."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def generate_main(
    prog: str, default: Path, render: Callable[[], str], what: str, argv: list[str] | None
) -> int:
    """``python -m <prog> [PATH] [--check]``: write the page, or exit 1 when it is stale."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}")
    parser.add_argument("path", nargs="?", type=Path, default=default)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    args = parser.parse_args(argv)
    text = render()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is stale: run python -m {prog}", file=sys.stderr)
        return int(current != text)
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path} ({what})")
    return 0
