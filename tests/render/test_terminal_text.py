"""No reStructuredText markup reaches the terminal: the docstrings that become help and `explain` text are
written for Sphinx (````x````, a paragraph ending ``::`` before a literal block), the terminal shows them plain."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.layers import REGISTRY
from convcalc.render.explain import terminal_text

runner = CliRunner()
RST = re.compile(r"``|::\s*$", re.MULTILINE)


def _commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)


def _outputs():
    yield "convcalc --help", runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    for name in _commands():
        yield f"convcalc {name} --help", runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"}).output
    for target in [*REGISTRY, "winograd", "direct", "im2col", "fft", "--list", "--flops"]:
        yield f"convcalc explain {target}", runner.invoke(app, ["explain", target]).output


OUTPUTS = list(_outputs())


@pytest.mark.parametrize("label,output", OUTPUTS, ids=[label for label, _ in OUTPUTS])
def test_no_restructuredtext_markup_in_terminal_text(label, output):
    found = [line for line in output.splitlines() if RST.search(line)]
    assert not found, f"{label}: {found[:3]}"


def test_terminal_text_by_hand():
    assert terminal_text("as ``torch.nn.ChannelShuffle``'s permutation") == "as `torch.nn.ChannelShuffle`'s permutation"
    assert terminal_text("no layer kind (``torch.cumsum``)::") == "no layer kind (`torch.cumsum`):"
    assert terminal_text("the layers below ::") == "the layers below"
    assert terminal_text("plain, with a `field`") == "plain, with a `field`"


def test_the_scan_finds_markup():
    assert RST.search("a ``literal`` here") and RST.search("ends with::") and not RST.search("a: b")
