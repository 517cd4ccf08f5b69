"""`convcalc analyze` through the CLI (typer's CliRunner on convcalc.cli.app): formats, options, streams, colour,
the JSON contract (docs/json.md), exit codes. Expected numbers are hand-worked (arithmetic in the comments)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convcalc.cli.app import app

ROOT = Path(__file__).resolve().parents[2]

TINY = """\
name: tiny
input: [3, 16, 16]
vars: {width: 8}
blocks:
  unit:
    args: {out: null}
    layers:
      - {type: conv, name: conv, out: out, kernel: 3, padding: 1}
      - {type: relu, name: act}
  stage:
    args: {out: null}
    layers:
      - {block: unit, name: a, out: out}
      - {block: unit, name: b, out: out}
layers:
  - {block: stage, name: stage1, out: width}
  - {type: conv_transpose, name: up, out: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - {type: global_avgpool, keepdims: false}
  - {type: linear, out: 10}
"""
# Hand-worked, batch 1, on 3×16×16 with width 8:
#   stage1.a.conv  3→8 k3 p1: params 8·27 + 8 = 224;  MACs 8·256·27 = 55,296;  FLOPs 110,592 + 2,048 = 112,640
#   stage1.a.act   relu on 2,048 elements: 2,048 FLOPs
#   stage1.b.conv  8→8: params 8·72 + 8 = 584;  MACs 8·256·72 = 147,456;  FLOPs 294,912 + 2,048 = 296,960
#   stage1.b.act   2,048 FLOPs
#   up             transposed 8→8 k3 s2 p1 op1: (16 − 1)·2 − 2 + 3 + 1 = 32; params 8·8·9 + 8 = 584;
#                  MACs 8·256·8·9 = 147,456; FLOPs 294,912 + 8·1,024 = 303,104; k3 not divisible by s2: a warning
#   global_avgpool 8·1,024 = 8,192 FLOPs → (8,)
#   linear1        8→10: params 90, MACs 80, FLOPs 170
# totals: params 224 + 584 + 584 + 90 = 1,482; MACs 55,296 + 147,456 + 147,456 + 80 = 350,288
#         FLOPs 112,640 + 2,048 + 296,960 + 2,048 + 303,104 + 8,192 + 170 = 725,162
#         activation bytes 4·8,192 (four 8×16×16 maps) + 32,768 (8×32×32) + 32 + 40 = 65,608
PARAMS, MACS, FLOPS, BYTES = 1_482, 350_288, 725_162, 65_608


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def run(*args, env=None):
    return CliRunner().invoke(app, ["analyze", *args], env=env)


def ok(*args, env=None):
    result = run(*args, env=env)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_every_format_exits_0_with_data_on_stdout_and_warnings_on_stderr(tiny, fmt):
    result = ok(tiny, "--format", fmt)
    assert result.stdout.strip()
    assert "warning:" not in result.stdout  # (JSON carries the warnings inside the data too)
    assert "warning: up: kernel not divisible by stride" in result.stderr
    assert "\x1b[" not in result.stdout + result.stderr  # not a TTY: no colour


def test_table_totals(tiny):
    out = ok(tiny).stdout
    assert f"Total: {PARAMS:,} params, 0 buffers, {MACS:,} MACs, {FLOPS:,} FLOPs" in out
    assert "By layer type" in out and "█" in out  # the share bars
    assert "bias excluded" in out  # the convention under every table


def test_json_contract(tiny):
    data = json.loads(ok(tiny, "-f", "json").stdout)
    assert {"version", "name", "input", "batch", "layers", "totals"} <= set(data)
    assert (data["version"], data["name"], data["input"], data["batch"]) == (1, "tiny", [3, 16, 16], 1)
    layer_keys = {"name", "type", "inputs", "output_shape", "params", "buffers", "macs", "flops",
                  "activation_bytes", "rf", "warnings"}
    for layer in data["layers"]:
        assert layer_keys <= set(layer), layer_keys - set(layer)
        assert {"size", "jump", "start"} <= set(layer["rf"])
    assert {"params", "buffers", "macs", "flops", "activation_bytes"} <= set(data["totals"])
    t = data["totals"]
    assert (t["params"], t["buffers"], t["macs"], t["flops"], t["activation_bytes"]) == (
        PARAMS, 0, MACS, FLOPS, BYTES)
    by_name = {layer["name"]: layer for layer in data["layers"]}
    assert list(by_name) == ["stage1.a.conv", "stage1.a.act", "stage1.b.conv", "stage1.b.act", "up",
                             "global_avgpool1", "linear1"]
    up = by_name["up"]
    assert (up["output_shape"], up["params"], up["macs"], up["inputs"]) == ([8, 32, 32], 584, 147_456,
                                                                            ["stage1.b.act"])
    # the jump halves: "1/2" as a string; the size stays an int. After b.conv r 5, start −2; the transposed conv
    # adds (ceil(3/2) − 1)·1 = 1 → 6, centred at 0 → start −5/2
    assert up["rf"]["size"] == [6, 6] and up["rf"]["jump"] == ["1/2", "1/2"] and up["rf"]["start"] == ["-5/2"] * 2
    assert any("kernel not divisible by stride" in w for w in up["warnings"])
    assert by_name["stage1.a.conv"]["rf"] == {**by_name["stage1.a.conv"]["rf"], "size": [3, 3], "jump": [1, 1],
                                              "start": [-1, -1]}


def test_json_has_full_integers_for_resnet50():
    data = json.loads(ok("resnet50", "--format", "json").stdout)
    # torchvision's published numbers, as exact JSON integers (not 4.09e9, not "4.09 G")
    assert data["totals"]["macs"] == 4_089_184_256 and type(data["totals"]["macs"]) is int
    assert data["totals"]["params"] == 25_557_032
    assert '"macs": 4089184256' in ok("resnet50", "--format", "json").stdout


def test_shipped_name_table():
    result = ok("resnet50")
    assert "Total: 25,557,032 params" in result.stdout and "4,089,184,256 MACs" in result.stdout


def test_batch(tiny):
    t = json.loads(ok(tiny, "--batch", "3", "-f", "json").stdout)["totals"]
    # MACs 350,288·3 = 1,050,864; FLOPs 725,162·3 = 2,175,486; bytes 65,608·3 = 196,824; params unchanged
    assert (t["params"], t["macs"], t["flops"], t["activation_bytes"]) == (1_482, 1_050_864, 2_175_486, 196_824)


def test_input_override(tiny):
    data = json.loads(ok(tiny, "--input", "3x8x8", "-f", "json").stdout)
    assert data["input"] == [3, 8, 8]
    # a.conv 8·64·27 = 13,824; b.conv 8·64·72 = 36,864; up (8 → 16) 8·64·72 = 36,864; linear 80 → 87,632
    assert data["totals"]["macs"] == 87_632
    assert data["layers"][4]["output_shape"] == [8, 16, 16]


def test_input_override_reaches_the_whole_zoo_spec():
    data = json.loads(ok("resnet50", "--input", "3x160x160", "-f", "json").stdout)
    # conv1 at 160: floor((160 + 6 − 7)/2) + 1 = 80 → 64·80·80·3·49 = 60,211,200 MACs
    assert data["layers"][0]["output_shape"] == [64, 80, 80] and data["layers"][0]["macs"] == 60_211_200
    assert data["totals"]["params"] == 25_557_032  # params do not depend on the input size


def test_set_var(tiny):
    t = json.loads(ok(tiny, "--set", "width=4", "-f", "json").stdout)["totals"]
    # width 4: a.conv 3→4 params 112, MACs 4·256·27 = 27,648; b.conv 4→4 params 148, MACs 4·256·36 = 36,864;
    # up 4→8 params 4·8·9 + 8 = 296, MACs 4·256·8·9 = 73,728; linear 90 / 80
    # params 112 + 148 + 296 + 90 = 646; MACs 27,648 + 36,864 + 73,728 + 80 = 138,320
    assert (t["params"], t["macs"]) == (646, 138_320)
    # an expression over numbers works too: 2 + 2 = 4
    assert json.loads(ok(tiny, "--set", "width=2 + 2", "-f", "json").stdout)["totals"]["macs"] == 138_320


@pytest.mark.parametrize("units, text", [
    ("raw", "350,288"),      # exact with separators
    ("K", "350.288 K"),      # 350,288 / 10^3
    ("M", "0.350 M"),        # 350,288 / 10^6 = 0.350288
    ("G", "0.000 G"),        # 0.000350288
    ("auto", "350.29 K"),    # human: the largest unit ≤ the value, two decimals
])
def test_units(tiny, units, text):
    markdown = ok(tiny, "--units", units, "-f", "markdown", "--columns", "name,macs").stdout
    total = [line for line in markdown.splitlines() if line.startswith("| **Total**")][0]
    assert total == f"| **Total** | **{text}** |"


def test_units_leave_json_and_csv_exact(tiny):
    assert json.loads(ok(tiny, "--units", "M", "-f", "json").stdout)["totals"]["macs"] == MACS
    rows = list(csv.DictReader(io.StringIO(ok(tiny, "--units", "G", "-f", "csv").stdout)))
    assert "Total" not in [r["name"] for r in rows] and sum(int(r["macs"]) for r in rows) == MACS


def _csv(tiny, *args):
    return list(csv.DictReader(io.StringIO(ok(tiny, "-f", "csv", *args).stdout)))


def test_csv_rows_and_exact_integers(tiny):
    rows = _csv(tiny)
    assert [r["name"] for r in rows] == ["stage1.a.conv", "stage1.a.act", "stage1.b.conv", "stage1.b.act", "up",
                                         "global_avgpool1", "linear1"]  # no Total row: pandas sums it once
    assert sum(int(r["macs"]) for r in rows) == MACS
    assert rows[4]["rf_jump"] == "1/2"


def test_csv_takes_the_chosen_columns_in_their_order(tiny):
    text = ok(tiny, "-f", "csv", "--columns", "macs,name,shape,memory,jump").stdout
    lines = text.splitlines()
    assert lines[0] == "macs,name,output_shape,activation_bytes,rf_jump"
    # up: 147,456 MACs, 8×32×32 output, 8·1,024·4 = 32,768 bytes, jump 1/2 (equal axes print once)
    assert lines[5] == "147456,up,8x32x32,32768,1/2"
    assert lines[-1].split(",")[1] == "linear1" and len(lines) == 1 + 7  # the header and the 7 layers


def test_depth_collapses_blocks(tiny):
    # depth 0: the whole stage1 instance (4 layers) is one row: params 224 + 584 = 808, MACs 55,296 + 147,456
    depth0 = _csv(tiny, "--depth", "0")
    assert [(r["name"], r["type"]) for r in depth0] == [("stage1", "block"), ("up", "conv_transpose"),
                                                        ("global_avgpool1", "global_avgpool"),
                                                        ("linear1", "linear")]
    assert (int(depth0[0]["params"]), int(depth0[0]["macs"])) == (808, 202_752)
    # depth 1: the unit instances inside the stage collapse: stage1.a (224, 55,296) and stage1.b (584, 147,456)
    depth1 = _csv(tiny, "--depth", "1")
    assert [r["name"] for r in depth1] == ["stage1.a", "stage1.b", "up", "global_avgpool1", "linear1"]
    assert [(int(r["params"]), int(r["macs"])) for r in depth1[:2]] == [(224, 55_296), (584, 147_456)]
    # totals never change with the depth
    assert sum(int(r["macs"]) for r in depth0) == sum(int(r["macs"]) for r in depth1) == MACS
    table = ok(tiny, "--depth", "0").stdout
    assert "block (4 layers)" in table and "stage1.a.conv" not in table


def test_depth_on_resnet50_gives_one_row_per_bottleneck():
    rows = list(csv.DictReader(io.StringIO(ok("resnet50", "--depth", "0", "-f", "csv").stdout)))
    blocks = [r["name"] for r in rows if r["type"] == "block"]
    # 3 + 4 + 6 + 3 = 16 bottlenecks
    assert len(blocks) == 16 and blocks[0] == "layer1.0" and blocks[-1] == "layer4.2"
    assert sum(int(r["macs"]) for r in rows) == 4_089_184_256  # torchvision's 4.09 GFLOPS


def test_columns(tiny):
    markdown = ok(tiny, "-f", "markdown", "--columns", "name,params,start").stdout
    assert "| Layer | Params | Start |" in markdown
    assert "| up | 584 | -5/2 |" in markdown
    table = ok(tiny, "--columns", "name,buffers").stdout
    assert "Buffers" in table and "MACs  " not in table.split("By layer type")[0]


def test_unknown_column_is_exit_2(tiny):
    result = run(tiny, "--columns", "name,macss")
    assert result.exit_code == 2 and result.stdout == ""
    assert "unknown column `macss`" in result.stderr and "did you mean `macs`?" in result.stderr


def test_columns_naming_nothing_is_exit_2(tiny):
    result = run(tiny, "-f", "markdown", "--columns", ",")  # used to print a header-less "|  |" table
    assert result.exit_code == 2 and result.stdout == ""
    assert "names no column" in result.stderr and "`macs`" in result.stderr


def test_bad_spec_is_exit_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4}\n")
    result = run(str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: {path}:4:5: `conv` layer is missing `kernel`")


def test_no_colour_with_no_color_even_on_a_terminal(tiny, monkeypatch):
    """The colour decision itself: a TTY gets Rich styling unless NO_COLOR is set; errors likewise."""
    from convcalc.cli.common import report_error
    from convcalc.cost.analysis import analyze
    from convcalc.errors import SpecError
    from convcalc.render.analyze import AnalyzeView
    from convcalc.render.emitters import emit

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    report = analyze(tiny)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = Terminal()
    emit(AnalyzeView(report), "table", coloured)
    assert "\x1b[" in coloured.getvalue()  # the check below can see colour

    monkeypatch.setenv("NO_COLOR", "1")
    plain = Terminal()
    emit(AnalyzeView(report), "table", plain)
    assert "\x1b[" not in plain.getvalue() and "Total: 1,482 params" in plain.getvalue()

    stderr = Terminal()
    monkeypatch.setattr(sys, "stderr", stderr)
    report_error(SpecError("boom", None, "fix it"))
    assert stderr.getvalue() == "error: boom — fix it\n"


def test_no_color_env_through_the_cli(tiny):
    result = ok(tiny, env={"NO_COLOR": "1"})
    assert "\x1b[" not in result.stdout + result.stderr


def test_python_dash_m_help():
    proc = subprocess.run([sys.executable, "-m", "convcalc", "--help"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "analyze" in proc.stdout and "Traceback" not in proc.stderr
