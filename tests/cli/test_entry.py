"""The entry point's fast path for `convcalc analyze` (convcalc/entry.py) agrees with the Typer command it
short-cuts: same options, same choices, same output, and it defers to Typer for everything else."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from convcalc.cli import entry
from convcalc.cli.app import app

SPEC = """\
name: tiny
input: [3, 32, 32]
vars: {width: 8}
layers:
  - {type: conv, name: c1, out: width, kernel: 3, padding: 1}
  - {type: relu}
  - {type: maxpool, kernel: 2}
  - {type: conv, name: c2, out: 2 * width, kernel: 3, stride: 2, padding: same}
  - {type: global_avgpool}
  - {type: flatten}
  - {type: linear, out: 10}
"""


@pytest.fixture()
def spec(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    return str(path)


def analyze_command():
    return typer.main.get_command(app).commands["analyze"]


def test_fast_parser_knows_exactly_the_typer_options():
    params = [p for p in analyze_command().params if p.param_type_name == "option" and p.name != "help"]
    names = {o for p in params for o in p.opts + p.secondary_opts}
    assert names == set(entry.OPTIONS)
    choices = {p.name: tuple(p.type.choices) for p in params if hasattr(p.type, "choices")}
    assert choices == {"format": entry.FORMATS, "units": entry.UNITS}


@pytest.mark.parametrize("args", [
    [],
    ["--format", "json"],
    ["-f", "csv", "--units", "raw"],
    ["--format=markdown", "--batch=4"],
    ["--set", "width=16", "--set", "width=4"],   # repeated --set: the last one wins in both
    ["--input", "3x64x64", "--units", "K"],
    ["--depth", "0", "--columns", "name,type,macs"],
])
def test_fast_path_output_equals_typer_output(spec, args, capsys):
    parsed = entry.parse_analyze([spec, *args])
    assert parsed is not None
    entry.run_analyze(**parsed)
    fast = capsys.readouterr().out
    result = CliRunner().invoke(app, ["analyze", spec, *args])
    assert result.exit_code == 0, result.output
    assert fast == result.stdout


@pytest.mark.parametrize("args", [
    [],                          # no SPEC
    ["--help"],
    ["a.yaml", "b.yaml"],        # two SPECs
    ["a.yaml", "--frmat", "json"],
    ["a.yaml", "--format", "xml"],
    ["a.yaml", "--format", "json", "-f", "csv"],   # a repeated single-valued option
    ["a.yaml", "--batch", "0"],
    ["a.yaml", "--batch", "two"],
    ["a.yaml", "--depth", "-1"],
    ["a.yaml", "--units"],       # no value
    ["a.yaml", "-f=json"],
    ["-", "--format", "json"],
])
def test_fast_parser_defers_to_typer(args):
    assert entry.parse_analyze(args) is None


def run_main(argv, env_extra=None):
    code = ("import os, sys\nsys.argv = ['convcalc', *sys.argv[1:]]\nfrom convcalc.cli.entry import main\n"
            "def _exit(code):\n    raise SystemExit(code)\nos._exit = _exit\n"  # the fast path ends in os._exit
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
            "print('typer' in sys.modules, 'numpy' in sys.modules, code, file=sys.stderr)\n")
    import os

    env = {**os.environ, "NO_COLOR": "1", **(env_extra or {})}
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env)


def test_fast_path_skips_typer_and_numpy():
    done = run_main(["analyze", "resnet50", "--format", "json"])
    assert done.stderr.strip().splitlines()[-1] == "False False 0"
    assert '"macs": 4089184256' in done.stdout


def test_fast_path_bad_spec_is_exit_2_with_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernal: 3}\n")
    done = run_main(["analyze", str(bad)])
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "False False 2"
    assert lines[0].startswith(f"error: {bad}:4:")
    assert "kernel" in lines[0] and "Traceback" not in done.stderr


def test_typer_path_is_kept_for_everything_else():
    done = run_main(["analyze", "resnet50", "--batch", "0"])
    assert done.stderr.strip().splitlines()[-1] == "True False 2"
    assert "0 is not in the range x>=1" in done.stderr
    done = run_main(["analyze", "resnet50", "--units", "raw"], {"CONVCALC_NO_FAST_PATH": "1"})
    assert done.stderr.strip().splitlines()[-1] == "True False 0"


@pytest.mark.parametrize("line, message", [
    ("{type: dropout, p: 2}", "4:24: `p` must be below 1, got 2 — use a value < 1"),
    ("{type: relu, name: [1]}", "4:24: a layer name must be a word, got a list"),
    ("{type: relu, name: }", "4:24: a layer name must be a word, got nothing"),
])
def test_field_range_and_name_errors(tmp_path, line, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: x\ninput: [3, 8, 8]\nlayers:\n  - {line}\n")
    result = CliRunner().invoke(app, ["analyze", str(bad)])
    assert result.exit_code == 2 and message in result.stderr
