"""The widest line of each command's text output at a terminal width (default 80), before and after fitting.

    python benchmarks/widest_lines.py [--width 80]

Each command runs in-process through the Typer app, once as a pipe gets it (no ``--width``: today's full width) and
once with ``--width N`` (what an N-column terminal gets), and the table prints, per command, the lines and the
widest line in terminal cells of both. Commands that run the executor (verify, rf --erf measured) take a second
or two each; nothing here is a timing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: the command lines measured (run from the repository root)
COMMANDS = (
    "analyze resnet50",
    "analyze resnet50 --by stage",
    "analyze resnet50 --top 10",
    "zoo",
    "zoo --variants",
    "verify resnet18",
    "compare resnet18 resnet50",
    "compare resnet50 --as depthwise_separable",
    "compare --layer layer1.0.conv2 resnet50",
    "check tests/fixtures/check/over.yaml",
    "rf resnet50",
    "rf resnet18 --erf analytic",
    "cost resnet50",
    "cost resnet50 --device a100",
    "cost resnet18 --train",
    "sweep mobilenet_v1 --set alpha=0.5,1.0",
    "device list",
    "device show a100",
)


def widest(text: str) -> tuple[int, int]:
    from convcalc.render.grid import cell_len

    lines = text.splitlines()
    return len(lines), max((cell_len(line) for line in lines), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=80)
    args = parser.parse_args()
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    os.chdir(ROOT)
    runner = CliRunner()
    print(f"{'command':<45} {'piped':>16} {f'--width {args.width}':>16}")
    for command in COMMANDS:
        words = command.split()
        piped = runner.invoke(app, words, env={"NO_COLOR": "1"})
        fitted = runner.invoke(app, words + ["--width", str(args.width)], env={"NO_COLOR": "1"})
        (n0, w0), (n1, w1) = widest(piped.stdout), widest(fitted.stdout)
        print(f"{command:<45} {f'{n0} lines, {w0}':>16} {f'{n1} lines, {w1}':>16}")


if __name__ == "__main__":
    main()
