"""A ConvNeXt block (Liu et al. 2022, "A ConvNet for the 2020s"; torchvision's CNBlock) through the channels-last
layout: 7×7 depthwise conv → permute to (H, W, C) → LayerNorm over the last axis → MLP over the last axis (96 → 384
→ 96, GELU) → layer scale over the last axis → permute back → residual add (stochastic depth is the identity at
inference). The receptive field after the block is the 7×7 window, reported per input axis H and W on every layer,
channels-last ones included."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.cost.analysis import analyze, expand
from convcalc.erf.analytic import analytic_erf
from convcalc.errors import SpecError

BLOCK = {"name": "convnext_block", "input": [96, 56, 56], "layers": [
    {"type": "depthwise", "name": "dwconv", "kernel": 7, "padding": 3},
    {"type": "permute", "name": "to_last", "dims": [1, 2, 0]},
    {"type": "layernorm", "name": "norm", "axis": "last", "eps": 1e-6},
    {"type": "linear", "name": "pwconv1", "axis": "last", "out": 384},
    {"type": "gelu", "name": "act"},
    {"type": "linear", "name": "pwconv2", "axis": "last", "out": 96},
    {"type": "layer_scale", "name": "gamma", "axis": "last"},
    {"type": "permute", "name": "to_first", "dims": [2, 0, 1]},
    {"type": "add", "name": "residual", "inputs": ["input", "to_first"]},
]}

runner = CliRunner()


def block_report():
    graph = expand(convcalc.load(BLOCK))
    return graph, analyze(graph)


def test_shapes():
    _, report = block_report()
    assert [layer.output_shape for layer in report.layers] == [
        [96, 56, 56], [56, 56, 96], [56, 56, 96], [56, 56, 384], [56, 56, 384], [56, 56, 96], [56, 56, 96],
        [96, 56, 56], [96, 56, 56]]


def test_params_and_macs_by_hand():
    _, report = block_report()
    rows = {layer.name: layer for layer in report.layers}
    # dwconv 7×7, 96 groups: 96·49 + 96 = 4,800 params; 96·(56·56 = 3,136)·49 = 14,751,744 MACs
    assert (rows["dwconv"].params, rows["dwconv"].macs) == (4_800, 14_751_744)
    # pwconv1 over the last axis at 3,136 positions: 96·384 + 384 = 37,248 params; 3,136·96·384 = 115,605,504 MACs
    assert (rows["pwconv1"].params, rows["pwconv1"].macs) == (37_248, 115_605_504)
    # pwconv2: 384·96 + 96 = 36,960 params; the same 115,605,504 MACs
    assert (rows["pwconv2"].params, rows["pwconv2"].macs) == (36_960, 115_605_504)
    # the LayerNorm over the last axis: γ and β per channel, 2·96 = 192; the layer scale: one γ per channel, 96
    assert (rows["norm"].params, rows["norm"].macs) == (192, 0)
    assert (rows["gamma"].params, rows["gamma"].macs) == (96, 0)
    # totals: 4,800 + 192 + 37,248 + 36,960 + 96 = 79,296, torchvision's CNBlock(96) (sum of p.numel());
    # 14,751,744 + 2·115,605,504 = 245,962,752 MACs
    assert (report.totals.params, report.totals.macs) == (79_296, 245_962_752)
    assert report.warnings == []


def test_the_receptive_field_is_the_7x7_window_per_input_axis():
    _, report = block_report()
    for layer in report.layers:
        assert layer.rf.size == [7, 7] and layer.rf.jump == [1, 1] and layer.rf.start == [-3, -3], layer.name
    layouts = {layer.name: layer.rf.layout for layer in report.layers}
    assert layouts == {"dwconv": "", "to_last": "(H, W, C)", "norm": "(H, W, C)", "pwconv1": "(H, W, C)",
                       "act": "(H, W, C)", "pwconv2": "(H, W, C)", "gamma": "(H, W, C)", "to_first": "", "residual": ""}


def test_convcalc_rf_reports_h_and_w_on_every_layer(tmp_path):
    path = tmp_path / "block.json"
    path.write_text(json.dumps(BLOCK))
    result = runner.invoke(app, ["rf", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["layers"]}
    assert rows["residual"]["size"] == [7, 7] and rows["residual"]["merge"]["status"] == "aligned"
    assert rows["pwconv1"]["size"] == [7, 7] and "laid out (H, W, C)" in rows["pwconv1"]["notes"]


def test_convcalc_rf_from_a_file(tmp_path):
    path = tmp_path / "block.json"
    path.write_text(json.dumps(BLOCK))
    result = runner.invoke(app, ["rf", str(path), "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = [line.split(",") for line in result.stdout.splitlines()[1:]]
    # one row per layer and input axis: axes 0 and 1 (H, W) for the channels-last layers too, RF 7
    assert [(row[0], row[2], row[4]) for row in lines if row[0] == "pwconv1"] == [("pwconv1", "0", "7"),
                                                                                 ("pwconv1", "1", "7")]


def test_the_analytic_erf_follows_the_block():
    graph, report = block_report()
    erf = analytic_erf(graph, report)
    # the LayerNorm takes the direct path (its statistics held fixed), so the result is marked approximate
    assert erf.layer == "residual" and erf.position == (28, 28) and not erf.exact
    for axis in erf.axes:
        # the block path: fan-outs 96 (pwconv2) · 384 (pwconv1), a 7-tap box per axis, times the other axis's 7
        # taps: 36,864·7 = 258,048 on each of 25 … 31; the residual adds 1 at 28
        assert axis.support == (25, 31)
        assert axis.values == [258_048] * 3 + [258_049] + [258_048] * 3


# ---- a channels-first kind on the channels-last tensor fails loudly ------------------------------------------------
WRONG = {"name": "wrong", "input": [96, 14, 14], "layers": [
    {"type": "permute", "name": "to_last", "dims": [1, 2, 0]},
    {"type": "conv", "name": "conv", "out": 8, "kernel": 3, "padding": 1},
]}


def test_a_conv_right_after_the_permute_is_warned_about():
    graph = expand(convcalc.load(WRONG))
    report = analyze(graph)
    conv = report.layers[1]
    # its counts are what the shapes give (C_in = 14 rows read as channels): (14, 14, 96) → (8, 14, 96)
    assert conv.output_shape == [8, 14, 96] and conv.params == 8 * 14 * 9 + 8
    assert report.warnings == ["conv: `conv` (conv) reads axis 0 as channels and the others as spatial axes, but its "
                               "input `to_last` (14, 14, 96) is laid out (H, W, C): the receptive field is not "
                               "tracked from here; permute the input back to channels first before it"]
    assert conv.rf.position_dependent
    with pytest.raises(SpecError) as info:
        analytic_erf(graph, report, "conv")
    assert "cannot follow layer `conv`" in info.value.message


def test_the_warning_reaches_the_cli(tmp_path):
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(WRONG))
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 0
    assert "laid out (H, W, C)" in result.output


def test_a_unit_of_a_channels_last_layer_is_refused(tmp_path):
    path = tmp_path / "block.json"
    path.write_text(json.dumps(BLOCK))
    result = runner.invoke(app, ["rf", str(path), "--layer", "pwconv1", "--erf", "analytic"])
    assert result.exit_code == 2
    assert "`pwconv1` is laid out (H, W, C), not channels first like the input" in result.output


def test_adding_a_channels_last_tensor_to_a_channels_first_one_is_a_misaligned_merge():
    # (6, 6, 6) permuted has the same shape, but its axis 0 holds H: the add is reported, not silently accepted
    graph = expand(convcalc.load({"input": [6, 6, 6], "layers": [
        {"type": "permute", "name": "p", "dims": [1, 2, 0]}, {"type": "add", "inputs": ["input", "p"]}]}))
    assert analyze(graph).warnings == ["add1: misaligned merge of `input` and `p`: layout channels first vs (H, W, C)"]


@pytest.mark.parametrize("layer, reads_channels_first", [
    ({"type": "layer_scale", "axis": "last"}, False), ({"type": "layer_scale"}, True),
    ({"type": "bias_add", "axis": "last"}, False), ({"type": "prelu"}, False),
    ({"type": "prelu", "num_parameters": 14}, True), ({"type": "scalar", "op": "mul", "value": 2}, False),
    ({"type": "softmax", "axis": "last"}, False), ({"type": "softmax"}, True), ({"type": "batchnorm"}, True),
    ({"type": "layernorm", "axis": "last"}, False), ({"type": "layernorm"}, True), ({"type": "groupnorm", "groups": 2},
                                                                                    True),
])
def test_which_kinds_read_a_channels_last_tensor(layer, reads_channels_first):
    # after permute [1, 2, 0] of (96, 14, 14): the per-channel kinds on axis 0 would read H (14) as the channels
    report = analyze(expand(convcalc.load({"input": [96, 14, 14], "layers": [
        {"type": "permute", "dims": [1, 2, 0]}, {"name": "k", **layer}]})))
    assert bool(report.warnings) == reads_channels_first, report.warnings
    if not reads_channels_first:
        assert report.layers[1].rf.size == [1, 1] and report.layers[1].rf.layout == "(H, W, C)"


def test_verify_rf_probes_the_block_and_refuses_a_channels_last_unit(tmp_path):
    path = tmp_path / "block.json"
    path.write_text(json.dumps(BLOCK))
    result = runner.invoke(app, ["verify", str(path), "--rf", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # the measured window of the residual's centre unit is the 7×7 one: 25 … 31 on both axes
    assert data["ok"] and [(axis["analytic"]["size"], axis["status"]) for axis in data["rf"]] == [(7, "ok"), (7, "ok")]
    result = runner.invoke(app, ["verify", str(path), "--rf", "--layer", "pwconv1"])
    assert result.exit_code == 2 and "`pwconv1` is laid out (H, W, C)" in result.output
