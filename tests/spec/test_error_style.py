"""One error style (issue 16, §5): errors about options name the option, no Python reprs, per-axis values
written as text hint the list, sweep names the swept value only when it is the cause, a bad `when:` fed by a
block argument points at the call, and names never carry terminal escapes. Expected messages are hand-written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app
from convcalc.errors import SpecError, check_name, escaped

HEAD = "name: t\ninput: [3, 8, 8]\n"


def cli(*args):
    result = CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})
    return result.exit_code, result.stderr


def spec(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_check_min_rf_errors_name_the_flag(tmp_path):
    path = spec(tmp_path, HEAD + "layers:\n  - {type: conv, out: 4, kernel: 3}\n")
    code, err = cli("check", path, "--min-rf", "3x3x3")
    assert code == 2
    assert "--min-rf 3x3x3 gives 3 sizes but `t` has 2 spatial axes — give 2 sizes, or one for every axis" in err


def test_the_sweep_point_limit_names_set(tmp_path):
    path = spec(tmp_path, "name: t\nvars: {w: 4, k: 1}\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: w, kernel: k}\n")
    values = ",".join(str(i) for i in range(1, 41))
    code, err = cli("sweep", path, "--set", f"w={values}", "--set", f"k={values}")
    assert code == 2
    assert err == ("error: --set: the sweep has 1,600 points (40 values of `w` × 40 values of `k`), more than 1,000 "
                   "— give --set fewer values at a time, or stream the points with --format jsonl (up to "
                   "10,000,000)\n")


def test_sweep_names_the_swept_value_only_when_it_is_the_cause(tmp_path):
    path = spec(tmp_path, "name: t\nvars: {w: 4, k: 3}\ninput: [3, 8, 8]\nlayers:\n"
                          "  - {type: conv, out: w, kernel: k}\n  - {type: dropout, p: 2}\n")
    code, err = cli("sweep", path, "--set", "w=4,8")
    assert code == 2 and err == f"error: {path}:6:24: `p` must be below 1, got 2 — use a value < 1\n"
    path = spec(tmp_path, "name: t\nvars: {w: 4, k: 3}\ninput: [3, 8, 8]\nlayers:\n"
                          "  - {type: conv, out: w, kernel: k}\n", "k.yaml")
    code, err = cli("sweep", path, "--set", "k=3,30", "--no-chart")
    assert code == 2 and err.startswith(f"error: {path}:5:5: at k=30: layer `conv1` (conv): output size")


@pytest.mark.parametrize("written, hint", [
    ("stride: 3x3", "[3, 3]"),
    ("stride: '3, 3'", "[3, 3]"),
    ("stride: '(2, 2)'", "[2, 2]"),
    ("kernel: 1x2x3", "[1, 2, 3]"),
    ("padding: 1x1", "[1, 1]"),
])
def test_a_per_axis_value_written_as_text_hints_the_list(tmp_path, written, hint):
    key, _, value = written.partition(": ")
    fields = {"kernel": "1", "stride": "1", "padding": "0"} | {key: value}
    body = ", ".join(f"{k}: {v}" for k, v in fields.items())
    path = spec(tmp_path, HEAD + f"layers:\n  - {{type: conv, out: 4, {body}}}\n")
    code, err = cli("analyze", path)
    shown = value.strip("'")
    assert code == 2
    assert f"`{key}` is the text `{shown}`, not a number or a list — write one value per spatial axis as a YAML " \
           f"list: `{hint}`" in err


def test_a_scale_written_as_text_hints_the_list(tmp_path):
    path = spec(tmp_path, HEAD + "layers:\n  - {type: upsample, scale: 2.0x2.0}\n")
    assert "`scale` is the text `2.0x2.0`, not a number or a list — write one value per spatial axis as a YAML " \
           "list: `[2.0, 2.0]`" in cli("analyze", path)[1]


BLOCK = ("name: w\ninput: [3, 8, 8]\nblocks:\n  maybe:\n    args: {use: true}\n    layers:\n"
         "      - {type: relu, when: use}\nlayers:\n  - {block: maybe, use: 3}\n")


def test_a_bad_when_fed_by_a_block_argument_points_at_the_call(tmp_path):
    path = spec(tmp_path, BLOCK)
    code, err = cli("analyze", path)
    assert code == 2
    assert err == (f"error: {path}:9:25: `when:` must be true or false, got 3 (from `when: use` in block `maybe`, "
                   f"line 7) — write a condition such as `stride == 1`, a boolean var, or true/false\n")


@pytest.mark.parametrize("text, message", [
    ("layers:\n  - {type: conv, out: 'None', kernel: 1}\n",
     "in expression `None`: the constant `None` is not a number — expressions work on numbers only"),
    ("layers:\n  - {type: conv, out: \"'a'\", kernel: 1}\n",
     "in expression `'a'`: the constant `'a'` is not a number"),
])
def test_no_python_reprs_in_spec_errors(tmp_path, text, message):
    code, err = cli("analyze", spec(tmp_path, HEAD + text))
    assert code == 2 and message in err


@pytest.mark.parametrize("args, message", [
    (["verify", "resnet18", "--max-memory", "4Q"],
     "error: --max-memory `4Q`: cannot read it as a size — give a number of bytes with an optional unit, e.g. 512M, "
     "4G, 1.5GiB\n"),
    (["analyze", "resnet18", "--columns", ",,"], "error: --columns `,,` names no column — "),
    (["analyze", "resnet18", "--columns", "name,,macs"],
     "error: --columns `name,,macs` has an empty entry — remove the extra comma\n"),
    (["compare", "--layer", "conv 3->4 k3 @x"], "error: --layer `conv 3->4 k3 @x`: "),
])
def test_no_python_reprs_in_option_errors(args, message):
    code, err = cli(*args)
    assert code == 2 and err.startswith(message), err
    assert "'" not in err.partition(" — ")[0]


@pytest.mark.parametrize("text, message", [
    ('name: "bad\\e[31mred"\ninput: [3, 8, 8]\nlayers:\n  - {type: relu}\n',
     ":1:7: `name` cannot contain control characters, got `bad\\x1b[31mred` — use letters, digits, `_`, `-` and "
     "`.`, e.g. `resnet50`"),
    ('name: b\ninput: [3, 8, 8]\nblocks:\n  "b\\e[2J":\n    layers: [{type: relu}]\nlayers:\n  - {block: x}\n',
     ":4:3: a block name cannot contain spaces or control characters, got `b\\x1b[2J` — use letters, digits, `_`, "
     "`-` and `.`, e.g. `bottleneck`"),
    ('name: b\ninput: [3, 8, 8]\nlayers:\n  - {type: relu, name: "a\\e[2Jb"}\n',
     ":4:24: a layer name cannot contain spaces or control characters, got `a\\x1b[2Jb` — use letters, digits, "
     "`_`, `-` and `.`, e.g. `layer1.0.conv1`"),
])
def test_terminal_escapes_in_names_are_refused_and_shown_escaped(tmp_path, text, message):
    code, err = cli("analyze", spec(tmp_path, text))
    assert code == 2 and message in err and "\x1b" not in err


def test_a_network_name_may_have_spaces():
    assert check_name("My Net", None, "`name`", "resnet50", spaces=True) == "My Net"
    with pytest.raises(SpecError, match="a block name cannot contain spaces"):
        check_name("my net", None, "a block name", "bottleneck")
    assert escaped("a\tb\x1b\u2028c d") == "a\\tb\\x1b\\u2028c d"
