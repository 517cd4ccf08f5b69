"""The activations added for imported models (prelu, elu, selu, mish, softplus, hardtanh, softmax) and the new
fields of gelu and hardsigmoid, in the cost model: hand-worked literals (the arithmetic in a comment), the errors
at their line and column, the receptive field and the analytic ERF. Batch 1; shapes per sample."""

from __future__ import annotations

import pytest

import convcalc
from convcalc.errors import SpecError
from spec_helpers import analyze_layers, one

# ---- (input, layer, params, FLOPs) ------------------------------------------------------------------------------
ROWS = [
    pytest.param((64, 56, 56), {"type": "prelu", "num_parameters": 64},
                 # one slope per channel: 64 params; 64·3,136 = 200,704 elements × 2 (comparison + mul) = 401,408
                 64, 401_408, id="prelu-per-channel"),
    pytest.param((64, 56, 56), {"type": "prelu"}, 1, 401_408, id="prelu-shared"),          # one slope
    pytest.param((10,), {"type": "prelu", "num_parameters": 10}, 10, 20, id="prelu-flat"),   # 10·2 = 20
    pytest.param((16, 10), {"type": "elu", "alpha": 0.5}, 0, 640, id="elu"),                 # 160·4 = 640
    pytest.param((8,), {"type": "selu"}, 0, 40, id="selu"),                                    # 8·5 = 40
    pytest.param((32, 8, 8), {"type": "mish"}, 0, 10_240, id="mish"),                          # 2,048·5 = 10,240
    pytest.param((3, 4, 4), {"type": "softplus", "beta": 2}, 0, 288, id="softplus"),           # 48·6 = 288
    pytest.param((3, 2, 2, 2), {"type": "hardtanh", "min_val": 0, "max_val": 6}, 0, 48, id="hardtanh-3d"),  # 24·2
    # GELU on ViT-B/16's 197 tokens × 3,072: 605,184 elements × 5 = 3,025,920; tanh form × 9 = 5,446,656
    pytest.param((3072, 197), {"type": "gelu"}, 0, 3_025_920, id="gelu-erf"),
    pytest.param((3072, 197), {"type": "gelu", "approximate": "tanh"}, 0, 5_446_656, id="gelu-tanh"),
    # hardsigmoid: 4 per element either way (add, 2 comparisons, div / mul, add, 2 comparisons): 784·4 = 3,136
    pytest.param((16, 7, 7), {"type": "hardsigmoid"}, 0, 3_136, id="hardsigmoid-torch"),
    pytest.param((16, 7, 7), {"type": "hardsigmoid", "alpha": 0.2, "beta": 0.5}, 0, 3_136, id="hardsigmoid-onnx"),
    # softmax over 1,000 classes: 1,000 exps + 999 adds + 1,000 divides = 2,999
    pytest.param((1000,), {"type": "softmax"}, 0, 2_999, id="softmax-classes"),
    pytest.param((1000,), {"type": "softmax", "axis": "last"}, 0, 2_999, id="softmax-flat-last"),
    # per pixel over 21 classes of a 8×8 map: 64 softmaxes of 3·21 − 1 = 62 → 3,968
    pytest.param((21, 8, 8), {"type": "softmax"}, 0, 3_968, id="softmax-pixels"),
    # along the last axis (8) of (21, 8, 8): 21·8 = 168 softmaxes of 3·8 − 1 = 23 → 3,864
    pytest.param((21, 8, 8), {"type": "softmax", "axis": "last"}, 0, 3_864, id="softmax-last-2d"),
    # (2, 6) 1-D, last axis 6: 2 softmaxes of 17 → 34; (2, 3, 4, 5) 3-D: 2·3·4 = 24 softmaxes of 14 → 336
    pytest.param((2, 6), {"type": "softmax", "axis": "last"}, 0, 34, id="softmax-last-1d"),
    pytest.param((2, 3, 4, 5), {"type": "softmax", "axis": "last"}, 0, 336, id="softmax-last-3d"),
]


@pytest.mark.parametrize("shape, layer, params, flops", ROWS)
def test_counts(shape, layer, params, flops):
    row = one(shape, layer)
    assert list(row.output_shape) == list(shape)
    assert (row.params, row.buffers, row.macs, row.flops) == (params, 0, 0, flops)


def test_flops_scale_with_the_batch_params_do_not():
    row = one((64, 56, 56), {"type": "prelu", "num_parameters": 64}, batch=4)
    assert (row.params, row.flops) == (64, 1_605_632)  # 401,408·4


def test_existing_defaults_keep_their_counts():
    # gelu and hardsigmoid without the new fields: 5 and 4 per element, as before the fields existed
    report = analyze_layers((3, 6), {"type": "gelu"}, {"type": "hardsigmoid"})
    assert [row.flops for row in report.layers] == [90, 72]  # 18·5, 18·4


# ---- bad fields: the message, the numbers, the place -------------------------------------------------------------
def error(text):
    with pytest.raises(SpecError) as err:
        convcalc.analyze(convcalc.load(text))
    return err.value


def test_num_parameters_must_be_one_or_the_channels():
    err = error("input: [8, 4, 4]\nlayers:\n  - {type: prelu, num_parameters: 3}\n")
    assert "`num_parameters` is 3, but the input (8, 4, 4) has 8 channels" in err.message
    assert "use 1 (one shared slope) or 8 (one per channel)" in err.hint
    assert (err.mark.line, err.mark.col) == (3, 35)  # the value 3


def test_hardtanh_bounds_must_be_ordered():
    err = error("input: [8]\nlayers:\n  - {type: hardtanh, min_val: 2, max_val: -1}\n")
    assert "`min_val` (2) is not below `max_val` (-1)" in err.message and "min_val < max_val" in err.hint
    assert (err.mark.line, err.mark.col) == (3, 43)  # the value of max_val
    err = error("input: [8]\nlayers:\n  - {type: hardtanh, min_val: 1, max_val: 1}\n")  # torch raises on equal, too
    assert "is not below" in err.message


def test_softmax_over_an_axis_of_one_value_is_rejected():
    err = error("input: [1, 5]\nlayers:\n  - {type: softmax}\n")
    assert "the softmax axis (`channels`, axis 0 of (1, 5)) has size 1" in err.message
    err = error("input: [4, 6, 1]\nlayers:\n  - {type: softmax, axis: last}\n")
    assert "axis 2 of (4, 6, 1)" in err.message and (err.mark.line, err.mark.col) == (3, 27)


def test_softplus_beta_zero_and_hardsigmoid_alpha_zero():
    assert "`beta` is 0" in error("input: [8]\nlayers:\n  - {type: softplus, beta: 0}\n").message
    err = error("input: [8]\nlayers:\n  - {type: hardsigmoid, alpha: 0, beta: 0.25}\n")
    assert "the constant clip(0.25, 0, 1)" in err.message


def test_unknown_approximation_has_a_suggestion():
    err = error("input: [8]\nlayers:\n  - {type: gelu, approximate: tahn}\n")
    assert "`tanh`" in err.hint


# ---- receptive field and analytic ERF ---------------------------------------------------------------------------
def test_softmax_over_channels_keeps_the_rf_and_over_the_last_axis_sees_it_whole():
    channels, last, conv = analyze_layers(
        (4, 6, 5), {"type": "softmax"}, {"type": "softmax", "axis": "last"},
        {"type": "conv", "out": 2, "kernel": 3, "padding": 1}).layers
    assert channels.rf.size == [1, 1]
    # last axis of 5: a window of 2·5 − 1 = 9, padding 4 → unit 0 covers −4 … 4, i.e. all 5 inputs once clipped
    assert (last.rf.size, last.rf.start, last.rf.jump) == ([1, 9], [0, -4], [1, 1])
    assert conv.rf.size == [3, 11] and conv.rf.start == [-1, -5]  # 9 + 2 = 11, −4 − 1 = −5


def test_analytic_erf_passes_the_activations_and_flags_a_last_axis_softmax():
    from convcalc.cost.analysis import expand
    from convcalc.erf.analytic import analytic_erf

    def erf(*layers):
        graph = expand(convcalc.load({"name": "t", "input": [2, 9], "layers": list(layers)}))
        return analytic_erf(graph, convcalc.analyze(graph), position=(4,))

    conv = {"type": "conv", "out": 2, "kernel": 3, "padding": 1}
    # conv k3 then each kind: the conv's box [1, 1, 1] at 3 … 5, exact (C_out 2 = the fan-out, a common scale)
    for layer in ({"type": "prelu", "num_parameters": 2}, {"type": "elu"}, {"type": "softplus"},
                  {"type": "hardtanh"}, {"type": "softmax"}, {"type": "gelu", "approximate": "tanh"}):
        result = erf(conv, layer)
        assert (result.axes[0].offset, result.axes[0].values, result.exact) == (3, [1, 1, 1], True), layer
    result = erf(conv, {"type": "softmax", "axis": "last"})
    assert result.axes[0].values == [1, 1, 1] and result.exact is False
    assert "softmax over the last axis (9 positions)" in result.notes[0]
