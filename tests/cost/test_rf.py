"""Receptive fields (Araujo, Norris & Sim, Distill 2019): size r, jump j and start offset of unit 0, per axis.

Hand-derived with the paper's update ``r += (k_eff − 1)·j``, ``start −= p_before·j``, ``j *= s`` (the arithmetic
is in the comments); the code's own functions are never called to produce an expected value.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

import convcalc
from convcalc.cost.analysis import analyze
from spec_helpers import analyze_layers


def conv3(**extra):
    return {"type": "conv", "out": 4, "kernel": 3, "padding": 1, "bias": False, **extra}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_stacked_3x3_convs(n):
    report = analyze_layers((4, 32, 32), *[conv3() for _ in range(n)])
    last = report.layers[-1].rf
    # each 3×3 s1 conv adds (3 − 1)·1 = 2: r = 1 + 2n; j stays 1; each p1 moves the start by −1: start = −n
    assert last.size == [2 * n + 1, 2 * n + 1]
    assert last.jump == [1, 1]
    assert last.start == [-n, -n]
    assert [layer.rf.size[0] for layer in report.layers] == [3, 5, 7, 9, 11, 13][:n]


def test_vgg16_conv5_3_and_pool5():
    layers = {layer.name: layer for layer in analyze(convcalc.load("configs/vgg16.yaml")).layers}
    # stage k has convs at jump 2^(k−1), each adding 2·j, and a 2×2 s2 pool adding 1·j:
    # stage1: 1 + 2 + 2 = 5, pool 6 (j 2); stage2: 6 + 4 + 4 = 14, pool 16 (j 4);
    # stage3: 16 + 3·8 = 40, pool 44 (j 8); stage4: 44 + 3·16 = 92, pool 100 (j 16);
    # stage5: 100 + 3·32 = 196 (conv5_3, j 16), pool5 196 + 16 = 212 (j 32)
    conv5_3, pool5 = layers["stage5.conv.2.conv"], layers["stage5.pool"]
    assert (conv5_3.rf.size, conv5_3.rf.jump) == ([196, 196], [16, 16])
    assert (pool5.rf.size, pool5.rf.jump) == ([212, 212], [32, 32])
    # starts: each conv moves the start by −1·j, the pools by 0: stage1 −2, stage2 −2 − 2·2 = −6,
    # stage3 −6 − 3·4 = −18, stage4 −18 − 3·8 = −42, stage5 −42 − 3·16 = −90
    assert conv5_3.rf.start == pool5.rf.start == [-90, -90]
    # the stage before: conv4_3 has r 92, j 8
    assert layers["stage4.conv.2.conv"].rf.size == [92, 92]
    assert layers["stage4.conv.2.conv"].rf.jump == [8, 8]


@pytest.mark.parametrize("dilations, sizes, starts", [
    # k3 with dilation d and padding d: k_eff = 2d + 1, adds 2d: 1 + 2 = 3; 3 + 4 = 7; 7 + 8 = 15
    ([1, 2, 4], [3, 7, 15], [-1, -3, -7]),
    # 1 + 4 = 5; 5 + 4 = 9
    ([2, 2], [5, 9], [-2, -4]),
])
def test_dilation_uses_the_effective_kernel(dilations, sizes, starts):
    report = analyze_layers((4, 64), *[conv3(dilation=d, padding=d) for d in dilations])
    assert [layer.rf.size[0] for layer in report.layers] == sizes
    assert [layer.rf.start[0] for layer in report.layers] == starts


def test_strided_chain():
    layers = [
        {"type": "conv", "out": 8, "kernel": 7, "stride": 2, "padding": 3},   # r 7, j 2, start −3
        {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1},           # r 7+2·2 = 11, j 4, start −3−1·2 = −5
        conv3(),                                                               # r 11 + 2·4 = 19, j 4, start −5 − 4 = −9
        {"type": "conv", "out": 4, "kernel": 3, "stride": 2},                  # r 19 + 2·4 = 27, j 8, start −9 − 0 = −9
        {"type": "pointwise", "out": 4, "stride": 2},                          # r 27, j 16, start −9
        {"type": "conv", "out": 4, "kernel": 2, "padding": [[0, 1]] * 2},     # r 27 + 16 = 43, j 16, start −9
        {"type": "avgpool", "kernel": 2, "padding": 1},                        # r 43+16 = 59, j 32, start −9−16 = −25
    ]
    report = analyze_layers((3, 224, 224), *layers)
    assert [(l.rf.size[0], l.rf.jump[0], l.rf.start[0]) for l in report.layers] == [
        (7, 2, -3), (11, 4, -5), (19, 4, -9), (27, 8, -9), (27, 16, -9), (43, 16, -9), (59, 32, -25)]


def test_anisotropic_strides_per_axis():
    report = analyze_layers((3, 32, 32), {"type": "conv", "out": 4, "kernel": [1, 5], "stride": [2, 1],
                                          "padding": [0, 2]}, conv3())
    # first: H r 1, j 2, start 0; W r 5, j 1, start −2. Then 3×3: H 1 + 2·2 = 5, start 0 − 2 = −2; W 5 + 2 = 7, −3
    assert report.layers[0].rf.size == [1, 5]
    assert (report.layers[1].rf.size, report.layers[1].rf.jump, report.layers[1].rf.start) == (
        [5, 7], [2, 1], [-2, -3])


def test_same_padding_start_comes_from_the_before_side():
    report = analyze_layers((3, 224, 224), {"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": "same"},
                            {"type": "conv", "out": 4, "kernel": 3, "stride": 2, "padding": "same"})
    # k3 s2 same on 224 pads (0, 1): start 0, r 3, j 2; on 112 again (0, 1): r 3 + 2·2 = 7, j 4, start 0 − 0·2 = 0
    assert [(l.rf.size[0], l.rf.jump[0], l.rf.start[0]) for l in report.layers] == [(3, 2, 0), (7, 4, 0)]


def test_global_pool_covers_the_whole_input():
    report = analyze_layers((3, 8, 8), conv3(), {"type": "global_avgpool"})
    gap = report.layers[1].rf
    # the 8 output positions of the conv (r 3, start −1, j 1) all feed one unit: r = 3 + (8 − 1)·1 = 10,
    # j = 8, start −1: it sees [−1, 8], which covers the input [0, 7]
    assert (gap.size, gap.jump, gap.start) == ([10, 10], [8, 8], [-1, -1])
    assert gap.start[0] <= 0 and gap.start[0] + gap.size[0] >= 8


def test_global_and_adaptive_pool_after_a_strided_stem():
    report = analyze_layers((3, 32, 32), {"type": "conv", "out": 4, "kernel": 4, "stride": 4},
                            {"type": "global_maxpool"})
    # stem: 32/4 = 8 positions, r 4, j 4, start 0; global: r 4 + (8 − 1)·4 = 32, j 32 — exactly the input
    assert (report.layers[1].rf.size, report.layers[1].rf.jump, report.layers[1].rf.start) == ([32, 32], [32, 32],
                                                                                              [0, 0])
    adaptive = analyze_layers((3, 8, 8), {"type": "adaptive_avgpool", "output_size": 1}).layers[0].rf
    # one window of 8: r 8, j 8, start 0
    assert (adaptive.size, adaptive.jump, adaptive.start) == ([8, 8], [8, 8], [0, 0])


def test_transposed_conv_divides_the_jump_exactly():
    report = analyze_layers((4, 16, 16), {"type": "conv_transpose", "out": 4, "kernel": 4, "stride": 2,
                                          "padding": 1})
    rf = report.layers[0].rf
    # j ← 1/2; r += (ceil(4/2) − 1)·1 = 1 → 2. Output 0 sits at input coordinate (0 + p − (k − 1)/2)/s
    # = (1 − 3/2)/2 = −1/4, the centre of its 2-wide window: start −1/4 − (2 − 1)/2 = −3/4
    assert rf.size == [2, 2]
    assert rf.jump == [Fraction(1, 2)] * 2
    assert rf.start == [Fraction(-3, 4)] * 2
    assert rf.position_dependent is False  # 2 divides 4: every output reads 2 inputs
    data = json.loads(report.to_json())["layers"][0]["rf"]
    assert data["jump"] == ["1/2", "1/2"] and data["start"] == ["-3/4", "-3/4"] and data["size"] == [2, 2]


def test_transposed_conv_then_conv_in_half_steps():
    report = analyze_layers((4, 16, 16), {"type": "conv_transpose", "out": 4, "kernel": 4, "stride": 2,
                                          "padding": 1}, conv3(), {"type": "conv", "out": 4, "kernel": 2, "stride": 2})
    # after the 3×3: r 2 + 2·(1/2) = 3, j 1/2; then k2 s2: r 3 + 1·(1/2) → 4 (rounded up to whole inputs), j 1
    assert [(l.rf.size[0], l.rf.jump[0]) for l in report.layers] == [(2, Fraction(1, 2)), (3, Fraction(1, 2)),
                                                                   (4, 1)]


def test_transposed_conv_position_dependent_when_stride_does_not_divide_kernel():
    report = analyze_layers((4, 9), {"type": "conv_transpose", "out": 4, "kernel": 3, "stride": 2, "padding": 1})
    layer = report.layers[0]
    # o = 2i − 1 + t: even outputs read one input (t = 1), odd outputs two (t = 0, 2) → position-dependent;
    # r = 1 + (ceil(3/2) − 1)·1 = 2; j = 1/2
    assert (layer.rf.size, layer.rf.jump, layer.rf.position_dependent) == ([2], [Fraction(1, 2)], True)
    assert any("position-dependent" in w for w in layer.warnings)
    assert json.loads(report.to_json())["layers"][0]["rf"]["position_dependent"] is True


def test_upsample_divides_the_jump():
    nearest = analyze_layers((4, 8, 8), conv3(), {"type": "upsample", "scale": 2}).layers[1].rf
    # nearest reads one input: r unchanged (3), j 1/2
    assert (nearest.size, nearest.jump) == ([3, 3], [Fraction(1, 2)] * 2)
    bilinear = analyze_layers((4, 8, 8), conv3(), {"type": "upsample", "scale": 2,
                                                   "mode": "bilinear"}).layers[1].rf
    # linear interpolation reads two inputs per axis: r 3 + 1·1 = 4
    assert (bilinear.size, bilinear.jump) == ([4, 4], [Fraction(1, 2)] * 2)


def test_elementwise_layers_leave_the_field_unchanged():
    report = analyze_layers((4, 8, 8), conv3(), {"type": "batchnorm"}, {"type": "relu"}, {"type": "dropout"},
                            {"type": "identity"})
    assert all((l.rf.size, l.rf.jump, l.rf.start) == ([3, 3], [1, 1], [-1, -1]) for l in report.layers)


def test_merge_takes_the_largest_field_when_aligned():
    report = analyze_layers((4, 16, 16), conv3(name="a", inputs="input"),
                            {"type": "conv", "name": "b", "out": 4, "kernel": 5, "padding": 2, "inputs": "input"},
                            {"type": "add", "inputs": ["a", "b"]})
    add = report.layers[2]
    # a: r 3, start −1 (centre 0); b: r 5, start −2 (centre 0): aligned; the add takes b's r 5
    assert (add.rf.size, add.rf.start) == ([5, 5], [-2, -2])
    assert add.warnings == [] and report.warnings == []


def test_misaligned_merge_warns_naming_both_paths():
    report = analyze_layers((4, 16, 16), conv3(name="centred", inputs="input"),
                            {"type": "conv", "name": "shifted", "out": 4, "kernel": 3, "padding": [[2, 0], [2, 0]],
                             "inputs": "input"},
                            {"type": "add", "name": "sum", "inputs": ["centred", "shifted"]})
    add = report.layers[2]
    # centred: start −1, r 3 → centre 0; shifted: start −2, r 3 → centre −1 (same 16×16 shape, different pixels)
    assert len(add.warnings) == 1
    warning = add.warnings[0]
    assert "misaligned" in warning and "`centred`" in warning and "`shifted`" in warning
    assert "0 vs -1" in warning
    assert any(w.startswith("sum: misaligned") for w in report.warnings)


def test_misaligned_jumps_in_concat():
    report = analyze_layers((4, 16, 16),
                            {"type": "conv", "name": "fine", "out": 4, "kernel": 1, "inputs": "input"},
                            {"type": "avgpool", "name": "coarse", "kernel": 2, "inputs": "input"},
                            {"type": "upsample", "name": "up", "scale": 2},
                            {"type": "concat", "inputs": ["fine", "up"]})
    concat = report.layers[3]
    # fine: j 1; coarse j 2 then upsampled ×2: j 1 again, but its centre moved: pool centre 1/2, nearest offset 0
    # → fine's centre 0 vs up's 1/2
    assert concat.output_shape == [8, 16, 16]
    assert len(concat.warnings) == 1 and "`fine`" in concat.warnings[0] and "`up`" in concat.warnings[0]
    assert "1/2" in concat.warnings[0]
