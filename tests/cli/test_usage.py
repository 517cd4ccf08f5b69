"""Usage errors read like every other convcalc error: ``error: --batch 0: must be ≥ 1 — hint``, exit code 2, on
stderr, never Click's ``Usage: … Error: …`` block — for every command, and the same on the fast ``analyze`` path."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

from .test_entry import run_main

FIVE_THOUSAND_NINES = "9" * 5000


def run(*args):
    return CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})


@pytest.mark.parametrize("args, message", [
    (["analyze", "resnet18", "--batch", "0"], "--batch 0: must be ≥ 1 — write e.g. --batch 1"),
    (["analyze", "resnet18", "--depth", "x"], "--depth x: must be a whole number — write e.g. --depth 0"),
    (["analyze", "resnet18", "--format", "yaml"],
     "--format yaml: must be one of table, json, csv, markdown — write e.g. --format table"),
    (["analyze", "resnet18", "-f", "jsn"], "--format jsn: must be one of table, json, csv, markdown — did you mean "
                                           "`json`?"),
    (["verify", "resnet18", "--dtype", "float16"],
     "--dtype float16: must be one of float32, float64 — did you mean `float64` or `float32`?"),
    (["analyze", "resnet18", "--batch", FIVE_THOUSAND_NINES],
     "--batch 99999…(5,000 digits): beyond ±10^100 — convcalc works with numbers up to 10^100"),
    (["rf", "resnet18", "--samples", "0"], "--samples 0: must be ≥ 1 — write e.g. --samples 1"),
    (["check", "resnet18", "--format", "xml"],
     "--format xml: must be one of table, json, junit, github, markdown — write e.g. --format table"),
    (["analyze"], "missing SPEC — give it after the command; see `convcalc analyze --help`"),
    (["check"], "missing SPEC — give it after the command; see `convcalc check --help`"),
    (["analyze", "resnet18", "--colums", "a"], "--colums: no such option — did you mean `--columns`?"),
    (["--bogus"], "--bogus: no such option — see `convcalc --help`"),
    (["analyze", "resnet18", "--batch"], "--batch: needs a value — write `--batch VALUE`"),
    (["sweep", "resnet18", "--chart=3"], "--chart: takes no value (a flag) — write just `--chart`"),
    (["analyze", "a.yaml", "b.yaml"],
     "unexpected extra argument `b.yaml` — give one value per argument; see `convcalc analyze --help`"),
    (["anlyze", "x"], "no such command `anlyze` — did you mean `analyze`?"),
])
def test_bad_options_read_like_every_other_error(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["resnet18", "--batch", "0"], "--batch 0: must be ≥ 1 — write e.g. --batch 1"),
    (["resnet18", "--format", "yaml"],
     "--format yaml: must be one of table, json, csv, markdown — write e.g. --format table"),
    (["resnet18", "--depth", "-1"], "--depth -1: must be ≥ 0 — write e.g. --depth 0"),
    (["resnet18", "--batch", FIVE_THOUSAND_NINES],
     "--batch 99999…(5,000 digits): beyond ±10^100 — convcalc works with numbers up to 10^100"),
    ([], "missing SPEC — give it after the command; see `convcalc analyze --help`"),
])
def test_the_fast_path_gives_the_same_messages(args, message):
    for env in ({}, {"CONVCALC_NO_FAST_PATH": "1"}):
        done = run_main(["analyze", *args], env)
        assert done.stderr.splitlines()[0] == f"error: {message}"
        assert done.stderr.splitlines()[-1].endswith(" 2")  # the exit code


def test_no_args_still_shows_the_help():
    result = run()
    assert "Usage: convcalc [OPTIONS] COMMAND" in result.output


def test_help_still_lists_choices_and_ranges():
    result = run("analyze", "--help")
    assert result.exit_code == 0
    assert "<table|json|csv|markdown>" in result.output and "[x>=1]" in result.output
