"""`convcalc cost --train`: backward MACs per layer, split into input-gradient (dX) and weight-gradient (dW) work.
Expected values are worked by hand in the comments."""

import json

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli.app import app
from convcalc.cost.training import training
from convcalc.errors import SpecError

runner = CliRunner()

# input 3×8×8; conv1 3→4, 3×3, p1: 4·64·3·9 = 6,912 MACs; conv2 4→2, 3×3, p1: 2·64·4·9 = 4,608 MACs
TWO_CONVS = {"name": "two", "input": [3, 8, 8], "layers": [
    {"type": "conv", "name": "conv1", "out": 4, "kernel": 3, "padding": 1},
    {"type": "relu", "name": "relu"},
    {"type": "conv", "name": "conv2", "out": 2, "kernel": 3, "padding": 1},
]}


def _compute(spec, freeze=(), batch=None):
    return training(convcalc.load(spec).expand(batch=batch), freeze=freeze)


def _split(t, name):
    row = t.layer(name)
    return row.dx_macs, row.dw_macs


def test_two_convs_all_trainable():
    t = _compute(TWO_CONVS)
    assert _split(t, "conv1") == (0, 6_912)          # fed by the input: no input gradient
    assert _split(t, "relu") == (0, 0) and t.layer("relu").needs_backward
    assert _split(t, "conv2") == (4_608, 4_608)      # dX = dW = forward MACs
    assert t.totals()["backward_macs"] == 6_912 + 2 * 4_608
    assert t.totals()["training_macs"] == 6_912 + 4_608 + 6_912 + 2 * 4_608


def test_whole_batch():
    t = _compute(TWO_CONVS, batch=2)
    assert _split(t, "conv2") == (9_216, 9_216)


def test_freeze_first_layer():
    """Nothing trainable above conv2: it computes no input gradient, and relu does no backward at all."""
    t = _compute(TWO_CONVS, freeze=["conv1"])
    assert _split(t, "conv1") == (0, 0) and not t.layer("conv1").needs_backward
    assert not t.layer("relu").needs_backward
    assert _split(t, "conv2") == (0, 4_608)
    assert t.frozen == ["conv1"]


def test_freeze_last_layer():
    t = _compute(TWO_CONVS, freeze=["conv2"])
    assert _split(t, "conv2") == (4_608, 0)   # conv1 below still needs the gradient through it


def test_glob_freezes_everything():
    t = _compute(TWO_CONVS, freeze=["conv*"])
    assert t.totals()["backward_macs"] == 0
    assert not any(row.needs_backward for row in t.layers)


def test_trainable_false_key():
    spec = json.loads(json.dumps(TWO_CONVS))
    spec["layers"][0]["trainable"] = False
    t = _compute(spec)
    assert _split(t, "conv1") == (0, 0) and _split(t, "conv2") == (0, 4_608)


def test_trainable_must_be_a_bool():
    spec = json.loads(json.dumps(TWO_CONVS))
    spec["layers"][0]["trainable"] = "no"
    with pytest.raises(SpecError, match="`trainable` must be true or false"):
        convcalc.load(spec).expand()


def test_batchnorm_params_make_the_layers_after_need_dx():
    """Only a batch norm trainable (convs frozen): conv2, after it, needs its input gradient."""
    spec = {"name": "bn", "input": [3, 8, 8], "layers": [
        {"type": "conv", "name": "conv1", "out": 4, "kernel": 3, "padding": 1, "trainable": False},
        {"type": "batchnorm", "name": "bn"},
        {"type": "conv", "name": "conv2", "out": 2, "kernel": 3, "padding": 1, "trainable": False}]}
    t = _compute(spec)
    assert t.layer("bn").trainable and _split(t, "bn") == (0, 0)    # its dW is elementwise FLOPs
    assert _split(t, "conv2") == (4_608, 0)


def test_block_name_freezes_its_layers():
    t = _compute("resnet18", freeze=["layer1"])
    assert _split(t, "layer1.0.conv1")[1] == 0 and _split(t, "layer2.0.conv1")[1] > 0


def test_conv_transpose():
    """ConvTranspose2d(64, 32, 4, stride 2, padding 1) on 16×16: 64·16·16·32·4·4 = 8,388,608 MACs on input
    positions; dX (a strided forward conv of gy) and dW read the same products."""
    spec = {"name": "t", "input": [8, 16, 16], "layers": [
        {"type": "pointwise", "out": 64},
        {"type": "conv_transpose", "name": "up", "out": 32, "kernel": 4, "stride": 2, "padding": 1}]}
    assert _split(_compute(spec), "up") == (8_388_608, 8_388_608)


def test_linear():
    # 3·4·4 = 48 features → 10: 480 MACs
    spec = {"name": "l", "input": [3, 4, 4], "layers": [
        {"type": "pointwise", "out": 3}, {"type": "flatten"}, {"type": "linear", "name": "fc", "out": 10}]}
    assert _split(_compute(spec), "fc") == (480, 480)


def test_depthwise_separable_first_layer_runs_its_inner_input_gradient():
    """3×8×8, out 4, 3×3 p1: depthwise 3·64·9 = 1,728, pointwise 4·64·3 = 768 MACs. Fed by the input and
    trainable: dW = 1,728 + 768 = 2,496; the pointwise input gradient (768) is still needed, for the depthwise
    weights."""
    spec = {"name": "d", "input": [3, 8, 8], "layers": [
        {"type": "depthwise_separable", "name": "dws", "out": 4, "kernel": 3, "padding": 1}]}
    assert _split(_compute(spec), "dws") == (768, 2_496)


def test_deformable():
    """v1, 3×6×6, out 2, 3×3, p1 (d = 2, G = 1, no mask): V = 3·9·36 = 972 sampled values, P = 9·36 = 324 points;
    offset conv 18·36·3·9 = 17,496, main 2·36·3·9 = 1,944 MACs. Offset side 4·972 + 2·4·324 = 6,480; input side
    4·972 = 3,888 + the offset conv's dX 17,496."""
    layer = {"type": "deformable", "name": "dcn", "out": 2, "kernel": 3, "padding": 1}
    first = {"name": "d", "input": [3, 6, 6], "layers": [layer]}
    assert _split(_compute(first), "dcn") == (1_944 + 6_480, 17_496 + 1_944)
    second = {"name": "d", "input": [3, 6, 6], "layers": [{"type": "pointwise", "out": 3}, layer]}
    assert _split(_compute(second), "dcn") == (1_944 + 6_480 + 3_888 + 17_496, 19_440)


def test_cost_json_has_training_compute():
    result = runner.invoke(app, ["cost", "resnet18", "--train", "--format", "json"])
    assert result.exit_code == 0, result.output
    compute = json.loads(result.stdout)["cost"]["training"]["compute"]
    first = compute["layers"][0]
    # conv1: 64·112·112·3·7·7 = 118,013,952 MACs
    assert first == {"name": "conv1", "type": "conv", "trainable": True, "needs_input_grad": False,
                     "needs_backward": True, "dx_macs": 0, "dw_macs": 118_013_952, "backward_macs": 118_013_952,
                     "backward_flops": 236_027_904}   # 2 × 118,013,952: no bias, no input gradient
    # every conv and the fc: dX = forward MACs except conv1's; dW = the forward MACs
    assert compute["totals"]["dw_macs"] == 1_814_073_344
    assert compute["totals"]["dx_macs"] == 1_814_073_344 - 118_013_952


def test_cost_table_has_the_training_section():
    result = runner.invoke(app, ["cost", "resnet18", "--train", "--algorithm", "best"])
    assert result.exit_code == 0, result.output
    assert "training step (backward compute)" in result.stdout and "dW MACs" in result.stdout
    assert "backward FLOPs" in result.stdout and "FLOPs per training step" in result.stdout


def test_freeze_matching_nothing_is_an_error():
    result = runner.invoke(app, ["cost", "resnet18", "--train", "--freeze", "nothing_here*"])
    assert result.exit_code == 2
    assert "--freeze nothing_here*" in result.output and "matches no layer" in result.output


def test_freeze_needs_train():
    result = runner.invoke(app, ["cost", "resnet18", "--freeze", "conv1"])
    assert result.exit_code == 2 and "--train" in result.output
