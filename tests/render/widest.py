"""The command lines whose text output must fit the terminal, and how wide each one's output is: shared by
tests/render/test_width.py (every one within 80 columns at ``--width 80``) and benchmarks/widest_lines.py (the
widest line of each, piped and fitted).

Each runs in-process through the Typer app from the repository root, as a pipe gets it (``NO_COLOR``). The
machine formats (JSON, CSV, JSONL, JUnit XML, GitHub workflow commands, Markdown, and the YAML spec ``convcalc
import`` prints) are data for other programs and are never wrapped: only the text table format is here.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = "tests/fixtures/check"

#: every command and mode with a text output (a few seconds in all: the executor runs on small inputs)
COMMANDS = (
    "analyze resnet50",
    "analyze resnet50 --by stage",
    "analyze resnet50 --by type",
    "analyze resnet50 --top 10",
    "analyze variants/deformable",
    "zoo",
    "zoo --variants",
    "compare resnet18 resnet50",
    "compare resnet18 mobilenet_v2 --train",
    "compare resnet18 resnet50 --device a100",
    "compare resnet50 --as depthwise_separable",
    "compare mobilenet_v1 --as grouped:4",
    "compare --layer layer1.0.conv2 resnet50",
    "compare --layer 'conv 128->128 k3 @56x56'",
    "sweep mobilenet_v1 --set alpha=0.5,1.0",
    "sweep mobilenet_v1 --set alpha=0.5,1.0 --set resolution=128,224",
    "rf resnet50",
    "rf resnet18 --layer layer1.0.conv1 --at 3,5",
    "rf resnet18 --erf analytic",
    "rf resnet18 --input 3x64x64 --erf measured",
    "cost resnet50",
    "cost resnet18 --algorithm all",
    "cost resnet18 --algorithm best",
    "cost resnet18 --algorithm winograd",
    "cost resnet18 --algorithm fft",
    "cost resnet50 --device a100",
    "cost resnet18 --device a100 --fuse elementwise",
    "cost resnet18 --train",
    "cost resnet18 --train --optimizer adamw --precision mixed",
    "device list",
    "device show a100",
    "verify resnet18",
    "verify resnet18 --train",
    "verify resnet18 --rf",
    "verify tests/importers/models.py:resnet_stack --input 3x32x32 --against-original",
    f"check {CHECK}/over.yaml",
    f"check {CHECK}/tiny.yaml {CHECK}/over.yaml --budgets {CHECK}/budgets.yaml",
    f"check {CHECK}/tiny.yaml --baseline {CHECK}/baseline_tiny.json --max-increase macs=0%",
    "check resnet50 --max macs=1G --min-rf 1000 --convention fvcore",
    "explain conv",
    "explain depthwise_separable",
    "explain direct",
    "explain im2col",
    "explain winograd",
    "explain fft",
    "explain conventions",
    "explain --list",
    "explain --flops",
    "explain resnet18 --layer conv1",
    "explain resnet18 --layer layer1.0.conv1 --algorithm winograd",
)
#: exit codes other than 0 (a failed budget is exit 1)
EXIT_CODES = {f"check {CHECK}/over.yaml": 1,
              f"check {CHECK}/tiny.yaml {CHECK}/over.yaml --budgets {CHECK}/budgets.yaml": 1,
              f"check {CHECK}/tiny.yaml --baseline {CHECK}/baseline_tiny.json --max-increase macs=0%": 1,
              "check resnet50 --max macs=1G --min-rf 1000 --convention fvcore": 1}
#: the optional dependency a command needs (skipped without it)
NEEDS = {"verify tests/importers/models.py:resnet_stack --input 3x32x32 --against-original": "torch"}


def available(command: str) -> bool:
    import importlib.util

    need = NEEDS.get(command)
    return need is None or importlib.util.find_spec(need) is not None


def run(command: str, width: int | None = None):
    """The result of ``convcalc COMMAND [--width N]`` (Typer's CliRunner), run from the repository root."""
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    words = shlex.split(command) + ([] if width is None else ["--width", str(width)])
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        return CliRunner().invoke(app, words, env={"NO_COLOR": "1"})
    finally:
        os.chdir(here)


def widest(text: str) -> tuple[int, int]:
    """The number of lines of ``text`` and its widest line in terminal cells."""
    from convcalc.render.grid import cell_len

    lines = text.splitlines()
    return len(lines), max((cell_len(line) for line in lines), default=0)
