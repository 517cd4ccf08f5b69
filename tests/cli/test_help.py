"""The help texts: every command's --help has examples (the light ones run), and `convcalc --help` lists every
command with a whole sentence, never one cut mid-way."""

from __future__ import annotations

import re
import shlex

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import COMMANDS, app

NAMES = [function.__name__.rstrip("_") for function, _ in COMMANDS]
#: examples not run here: they need a file of the user's, a shell pipe, or seconds of work (tested elsewhere)
NOT_RUN = re.compile(r"\.yaml|\.onnx|\.json|torch:|[|>*]|--erf measured|measure|verify|--jobs")


def help_text(*args: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def examples(name: str) -> list[str]:
    """The command lines under `Examples:` in `convcalc NAME --help` (a description after two spaces dropped)."""
    text = help_text(name, columns=200)
    assert "Examples:" in text, f"`convcalc {name} --help` has no Examples section"
    block = text.split("Examples:", 1)[1].split("\n\n")[0]
    return [re.split(r"\s{2,}", line.strip())[0] for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize("name", NAMES)
def test_every_command_has_examples_of_itself(name):
    lines = examples(name)
    assert lines and all(line.startswith(f"convcalc {name}") for line in lines), lines


def test_the_root_help_lists_whole_sentences():
    text = help_text(columns=80)
    listed = text.split("Commands:\n", 1)[1].splitlines()
    rows = [line.split(None, 1) for line in listed if line.strip()]
    assert [row[0] for row in rows] == NAMES, "each command on one line, none wrapped"
    for name, sentence in rows:
        assert sentence.endswith(".") and not sentence.endswith("..."), f"{name}: {sentence!r} is cut"
        assert sentence[0].isupper()


def test_the_summary_is_the_first_paragraph_of_the_commands_help():
    assert "Per-layer shapes, params, MACs, FLOPs, memory and RF." in help_text()
    assert help_text("analyze").split("\n\n")[1].strip() == "Per-layer shapes, params, MACs, FLOPs, memory and RF."


LIGHT = [pytest.param(line, id=line) for name in NAMES for line in examples(name) if not NOT_RUN.search(line)]


def test_some_examples_run():
    assert len(LIGHT) >= 20


@pytest.mark.parametrize("line", LIGHT)
def test_the_light_examples_run(line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file (`-o net.html`, `--plot macs.svg`) writes it here
    result = CliRunner().invoke(app, shlex.split(line)[1:], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
