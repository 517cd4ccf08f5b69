"""The entry point's fast path for `convcalc analyze` (convcalc/cli/entry.py) agrees with the Typer command it
short-cuts: both are built from the definitions in convcalc/cli/options.py, accept the same command lines, pass
the same values and print the same output, and the fast path defers to Typer for everything else."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

from convcalc.cli import entry
from convcalc.cli.app import app
from convcalc.cli.options import ANALYZE, FORMATS, Argument
from convcalc.cli.params import typer_command
from convcalc.numbers import UNITS

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


def click_params():
    """name → the Click parameter of the Typer `analyze` command."""
    return {p.name: p for p in analyze_command().params if p.name != "help"}


def test_the_typer_command_is_built_from_the_analyze_definitions():
    """Field by field: names, flags, metavar, choices, minimums, repeatability and defaults of every definition
    are those of the Typer command (and it has no parameter of its own)."""
    params = click_params()
    assert list(params) == [d.name for d in ANALYZE]
    for definition in ANALYZE:
        param = params[definition.name]
        if isinstance(definition, Argument):
            assert param.param_type_name == "argument"
            assert (param.required, param.nargs == -1, param.metavar) == (definition.required, definition.repeatable,
                                                                          definition.metavar)
            continue
        assert param.param_type_name == "option"
        assert set(param.opts + param.secondary_opts) == set(definition.flags), definition.name
        assert tuple(getattr(param.type, "choices", ()) or ()) == (definition.choices or ()), definition.name
        assert getattr(param.type, "min", None) == definition.minimum, definition.name
        assert param.multiple == definition.repeatable, definition.name
        assert param.metavar == definition.metavar, definition.name
        default = getattr(param.default, "value", param.default)
        assert default == definition.default, definition.name
        assert param.help == definition.help, definition.name
    assert tuple(params["format"].type.choices) == FORMATS and tuple(params["units"].type.choices) == UNITS


def test_the_fast_parser_accepts_what_the_definitions_allow():
    """Each definition drives the fast parser: every choice and nothing else, the minimum and not below it,
    repeatable options collected in order, a repeated single-valued option deferred to Typer."""
    for definition in ANALYZE:
        if isinstance(definition, Argument):
            continue
        flag = definition.flags[0]
        if definition.type is bool:  # a flag: no value, given once
            assert entry.parse_analyze(["a.yaml", flag])[definition.name] is True
            assert entry.parse_analyze(["a.yaml", flag, flag]) is None
            assert entry.parse_analyze(["a.yaml", f"{flag}=1"]) is None
            continue
        if definition.choices:
            for choice in definition.choices:
                assert entry.parse_analyze(["a.yaml", flag, choice])[definition.name] == choice
            assert entry.parse_analyze(["a.yaml", flag, "no-such-choice"]) is None
        elif definition.type is int:
            low = definition.minimum
            assert entry.parse_analyze(["a.yaml", flag, str(low)])[definition.name] == low
            assert entry.parse_analyze(["a.yaml", flag, str(low - 1)]) is None
            assert entry.parse_analyze(["a.yaml", flag, "two"]) is None
        if definition.repeatable:
            assert entry.parse_analyze(["a.yaml", flag, "x=1", f"{flag}=y=2"])[definition.name] == ["x=1", "y=2"]
        else:
            value = (definition.choices or ("1",))[0]
            assert entry.parse_analyze(["a.yaml", flag, value, flag, value]) is None
    assert entry.parse_analyze(["a.yaml"]) == {d.name: getattr(d, "default", None) for d in ANALYZE} | {
        "spec": "a.yaml"}


def _typer_kwargs(args):
    """The keyword arguments Typer passes to an `analyze` built from the same definitions."""
    seen = {}

    def analyze(**values):
        seen.update(values)

    probe = typer.Typer()
    probe.command()(typer_command(analyze, ANALYZE))
    probe.command("other")(lambda: None)  # two commands: the first argument names the command
    result = CliRunner().invoke(probe, ["analyze", *args])
    assert result.exit_code == 0, result.output
    return seen


@pytest.mark.parametrize("args", [
    ["a.yaml"],
    ["a.yaml", "--format", "json", "--batch", "3", "--depth=0"],
    ["-f", "csv", "a.yaml", "--units", "raw", "--input", "3x8x8"],
    ["a.yaml", "--set", "width=16", "--set=alpha=0.5", "--columns", "name,macs"],
    ["a.yaml", "--input", "-3"],
    ["--allow-unsupported", "model.onnx", "--input", "3x8x8"],
])
def test_the_fast_parser_passes_what_typer_passes(args):
    assert entry.parse_analyze(args) == _typer_kwargs(args)


def test_the_app_runs_the_analyze_function_the_fast_path_runs():
    from convcalc.cli.commands import analyze

    assert analyze_command().callback.command_function is analyze.analyze


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
    assert done.stderr.startswith("error: --batch 0: must be ≥ 1 — write e.g. --batch 1\n")
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
