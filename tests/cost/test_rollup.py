"""The network at a glance (convcalc/cost/rollup.py and `convcalc analyze --by/--top`): stages, types and blocks
summed, the heaviest layers with their share. Expected numbers are hand-worked (arithmetic in the comments)."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import options
from convcalc.cli.app import app
from convcalc.cli.entry import parse_analyze
from convcalc.cost.rollup import ROLL_UPS, SORT_FIELDS, heaviest, roll_up

# 3×8×8 input, every conv without bias:
#   stem  conv 3→4 k3 p1, 8×8 out: params 4·3·9 = 108, MACs 108·64 = 6,912, activations 4·64·4 B = 1,024
#   s1.a  conv 4→4 k1:             params 16,  MACs 16·64 = 1,024,  activations 1,024
#   s1.b  conv 4→8 k1:             params 32,  MACs 32·64 = 2,048,  activations 8·64·4 = 2,048
#   s1.act relu:                   0, 0, activations 2,048
#   s2.a  conv 8→8 k3 s2 p1, 4×4:  params 8·8·9 = 576, MACs 576·16 = 9,216, activations 8·16·4 = 512
# total MACs 6,912 + 1,024 + 2,048 + 9,216 = 19,200
GLANCE = """\
name: glance
input: [3, 8, 8]
layers:
  - {type: conv, name: stem, out: 4, kernel: 3, padding: 1, bias: false}
  - {type: conv, name: s1.a, out: 4, kernel: 1, bias: false}
  - {type: conv, name: s1.b, out: 8, kernel: 1, bias: false}
  - {type: relu, name: s1.act}
  - {type: conv, name: s2.a, out: 8, kernel: 3, stride: 2, padding: 1, bias: false}
"""


@pytest.fixture(scope="module")
def report():
    return convcalc.analyze(convcalc.load(GLANCE))


@pytest.fixture(scope="module")
def resnet50():
    return convcalc.analyze("resnet50")


def test_stages_are_the_top_level_name_prefixes(report):
    stages = [g.to_dict() for g in roll_up(report.layers, "stage")]
    assert stages == [
        {"name": "stem", "layers": 1, "params": 108, "buffers": 0, "macs": 6912, "flops": stages[0]["flops"],
         "activation_bytes": 1024},
        {"name": "s1", "layers": 3, "params": 48, "buffers": 0, "macs": 3072, "flops": stages[1]["flops"],
         "activation_bytes": 5120},
        {"name": "s2", "layers": 1, "params": 576, "buffers": 0, "macs": 9216, "flops": stages[2]["flops"],
         "activation_bytes": 512},
    ]


def test_types_in_the_order_of_their_first_layer(report):
    assert [(g.name, g.layers, g.macs) for g in roll_up(report.layers, "type")] == [("conv", 4, 19200),
                                                                                   ("relu", 1, 0)]


def test_every_roll_up_sums_to_the_totals(resnet50):
    for by in ROLL_UPS:
        groups = roll_up(resnet50.layers, by)
        assert sum(g.macs for g in groups) == resnet50.totals.macs == 4_089_184_256, by
        assert sum(g.params for g in groups) == resnet50.totals.params == 25_557_032, by


def test_resnet50_stages_are_torchvisions_layer1_to_layer4(resnet50):
    stages = {g.name: g for g in roll_up(resnet50.layers, "stage")}
    assert [name for name in stages if name.startswith("layer")] == ["layer1", "layer2", "layer3", "layer4"]
    # layer1, 56×56 = 3,136 positions, 64-wide bottlenecks:
    #   block 0: 1×1 64→64 12,845,056 + 3×3 64→64 115,605,504 + 1×1 64→256 51,380,224 + downsample 51,380,224
    #            = 231,211,008
    #   blocks 1, 2: 1×1 256→64 51,380,224 + 115,605,504 + 51,380,224 = 218,365,952 each
    #   231,211,008 + 2·218,365,952 = 667,942,912
    assert stages["layer1"].macs == 667_942_912
    # block 0: conv, bn, relu ×2, conv3, bn3, downsample conv + bn, add, relu = 12 layers; blocks 1, 2: 10 each
    assert stages["layer1"].layers == 12 + 2 * 10
    blocks = {g.name: g for g in roll_up(resnet50.layers, "block")}
    assert (blocks["layer1.0"].macs, blocks["layer1.1"].macs) == (231_211_008, 218_365_952)
    assert len(blocks) == 4 + 16 + 3  # conv1 bn1 relu maxpool, 3+4+6+3 bottlenecks, avgpool flatten1 fc


def test_the_heaviest_layers_with_their_exact_share(report):
    top = heaviest(report, 2)
    assert [(h.layer.name, h.value, h.share) for h in top] == [("s2.a", 9216, Fraction(9216, 19200)),
                                                               ("stem", 6912, Fraction(6912, 19200))]
    assert top[0].to_dict() == {"name": "s2.a", "type": "conv", "value": 9216, "share_percent": 48.0}
    assert [h.layer.name for h in heaviest(report, 1, "params")] == ["s2.a"]
    assert [h.layer.name for h in heaviest(report, 2, "memory")] == ["s1.b", "s1.act"]  # 2,048 B each, in order


def test_the_cli_choices_are_the_librarys():
    assert options.ROLL_UPS == ROLL_UPS and options.SORT_KEYS == tuple(SORT_FIELDS)


# ---- through the CLI, in every format ---------------------------------------------------------------------------
@pytest.fixture()
def spec(tmp_path):
    path = tmp_path / "glance.yaml"
    path.write_text(GLANCE)
    return str(path)


def run(*args, code=0):
    result = CliRunner().invoke(app, ["analyze", *args], env={"NO_COLOR": "1"})
    assert result.exit_code == code, result.output
    return result.stdout


def test_by_stage_table_puts_the_totals_first(spec):
    out = run(spec, "--by", "stage").splitlines()
    assert out[0] == "glance — input 3×8×8, batch 1"
    assert out[1].split() == ["Params", "732", "MACs", "19.20", "K", "FLOPs", out[1].split()[-2], "K"]
    assert any(line.startswith("│ s1 ") and "3.07 K" in line and "16.0%" in line for line in out), out
    assert any(line.startswith("│ Total ") for line in out)


def test_top_table_ranks_with_shares(spec):
    out = run(spec, "--top", "2")
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [row.split("│")[2].strip() for row in rows] == ["s2.a", "stem"]
    assert rows[0].rstrip("│ ").endswith("48.0%") and rows[1].rstrip("│ ").endswith("36.0%")


def test_by_and_top_as_csv(spec):
    stages = list(csv.DictReader(io.StringIO(run(spec, "--by", "stage", "--format", "csv"))))
    assert [(r["stage"], r["layers"], r["macs"]) for r in stages] == [("stem", "1", "6912"), ("s1", "3", "3072"),
                                                                     ("s2", "1", "9216")]
    top = list(csv.DictReader(io.StringIO(run(spec, "--top", "1", "--sort", "params", "--format", "csv"))))
    assert [(r["rank"], r["name"], r["params"], r["params_share_percent"]) for r in top] == [
        ("1", "s2.a", "576", "78.6885")]  # 576 / 732 = 78.68852…%


def test_csv_refuses_by_and_top_together(spec):
    result = CliRunner().invoke(app, ["analyze", spec, "--by", "stage", "--top", "2", "--format", "csv"])
    assert result.exit_code == 2 and "one table" in result.stderr


def test_by_and_top_as_json(spec):
    data = json.loads(run(spec, "--by", "block", "--top", "1", "--format", "json"))
    assert [s["name"] for s in data["stages"]] == ["stem", "s1", "s2"]
    assert [b["name"] for b in data["blocks"]] == ["stem", "s1.a", "s1.b", "s1.act", "s2.a"]  # no block: itself
    assert data["top"] == {"sort": "macs", "layers": [{"name": "s2.a", "type": "conv", "value": 9216,
                                                       "share_percent": 48.0}]}
    assert "blocks" not in json.loads(run(spec, "--format", "json"))


def test_by_and_top_as_markdown(spec):
    out = run(spec, "--by", "type", "--top", "1", "--format", "markdown")
    assert out.startswith("glance — input 3×8×8, batch 1: 732 params, 19,200 MACs")
    assert "### By type" in out and "### Top 1 layers by MACs" in out
    assert "| conv | 4 |" in out


def test_the_fast_path_reads_the_new_options():
    assert parse_analyze(["x.yaml", "--by", "stage", "--top", "3", "--sort", "flops", "--width", "80", "--wide"]) \
        == {**{d.name: d.default for d in options.ANALYZE if hasattr(d, "default")}, "spec": "x.yaml", "by": "stage",
            "top": 3, "sort": "flops", "width": 80, "wide": True}


# ---- the spec's `stage:` key ------------------------------------------------------------------------------------------
STAGED = """\
name: staged
input: [3, 8, 8]
blocks:
  pair:
    layers:
      - {type: conv, name: a, out: 4, kernel: 1, bias: false}
      - {type: relu, name: act, stage: own}
layers:
  - {type: conv, name: stem, out: 4, kernel: 3, padding: 1, bias: false, stage: body}
  - {block: pair, name: p, repeat: 2, stage: body}
  - {type: conv, name: head, out: 2, kernel: 1, bias: false}
"""


def test_a_stage_key_names_the_stage_and_a_block_calls_stage_is_its_layers():
    report = convcalc.analyze(convcalc.load(STAGED))
    # stem 6,912 MACs (as above); p.0.a and p.1.a: conv 4→4 k1 at 8×8 = 16·64 = 1,024 each; head 4→2 k1: 8·64 = 512
    assert [(g.name, g.layers, g.macs) for g in roll_up(report.layers, "stage")] == [
        ("body", 3, 6912 + 1024 + 1024), ("own", 2, 0), ("head", 1, 512)]
    layers = {layer["name"]: layer for layer in json.loads(report.to_json())["layers"]}
    assert layers["p.0.a"]["stage"] == "body" and layers["p.0.act"]["stage"] == "own"
    assert "stage" not in layers["head"]  # no stage: key, no JSON key


@pytest.mark.parametrize("value", ["[a, b]", "true", "''"])
def test_a_stage_that_is_no_name_is_refused_at_its_position(value):
    from convcalc.errors import SpecError

    with pytest.raises(SpecError) as err:
        convcalc.load(f"name: bad\ninput: [3, 8, 8]\nlayers:\n  - {{type: relu, stage: {value}}}\n").expand()
    assert "`stage` must be a name" in str(err.value) and err.value.mark.line == 4
