"""The widest line of each command's text output at a terminal width (default 80), before and after fitting.

    python benchmarks/widest_lines.py [--width 80]

Each command of tests/render/widest.py (every command and mode with a text output; tests/render/test_width.py
asserts the same list fits 80 columns) runs in-process through the Typer app, once as a pipe gets it (no
``--width``: today's full width) and once with ``--width N`` (what an N-column terminal gets), and the table
prints, per command, the lines and the widest line in terminal cells of both; ``explain <every kind>`` is the
widest of ``convcalc explain KIND`` over every layer kind. Commands that run the executor (verify, rf --erf
measured) take a second or two each; nothing here is a timing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=80)
    args = parser.parse_args()
    from convcalc.layers import REGISTRY
    from tests.render.widest import COMMANDS, available, run, widest

    print(f"{'command':<62} {'piped':>16} {f'--width {args.width}':>16}")
    for command in COMMANDS:
        if not available(command):
            print(f"{command:<62} {'(skipped: needs an optional dependency)':>33}")
            continue
        (n0, w0), (n1, w1) = widest(run(command).stdout), widest(run(command, args.width).stdout)
        shown = command if len(command) <= 62 else command[:61] + "…"
        print(f"{shown:<62} {f'{n0} lines, {w0}':>16} {f'{n1} lines, {w1}':>16}")
    piped = [widest(run(f"explain {kind}").stdout)[1] for kind in sorted(REGISTRY)]
    fitted = [widest(run(f"explain {kind}", args.width).stdout)[1] for kind in sorted(REGISTRY)]
    print(f"{f'explain <every kind> ({len(REGISTRY)} kinds)':<62} {f'widest {max(piped)}':>16} "
          f"{f'widest {max(fitted)}':>16}")


if __name__ == "__main__":
    main()
