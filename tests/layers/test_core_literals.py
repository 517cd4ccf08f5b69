"""The core layer kinds in the cost model: hand-worked literal numbers.

Every expected number is written out with its arithmetic in a comment; nothing here calls the code's formulas.
MACs and FLOPs are for the whole batch (batch 1 unless stated), shapes per sample, params independent of the batch.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from spec_helpers import analyze_layers, one


# ---- convolutions: (input, layer, output shape, params, MACs, FLOPs) ------------------------------------------
CONV_ROWS = [
    pytest.param(
        (4, 100), {"type": "conv", "out": 8, "kernel": 5, "stride": 2, "padding": 2},
        # L: floor((100 + 2 + 2 − 5)/2) + 1 = floor(99/2) + 1 = 50
        # params 8·4·5 + 8 = 168; MACs 8·50·4·5 = 8,000; FLOPs 2·8,000 + 8·50 = 16,400
        [8, 50], 168, 8_000, 16_400, id="conv1d-k5-s2-p2"),
    pytest.param(
        (256, 56, 56), {"type": "conv", "out": 256, "kernel": 3, "padding": 1, "groups": 32},
        # a ResNeXt-style row: 256/32 = 8 channels per group; params 256·8·9 + 256 = 18,432 + 256 = 18,688
        # MACs 256·(56·56 = 3,136)·8·9 = 802,816·72 = 57,802,752
        # FLOPs 2·57,802,752 + 256·3,136 = 115,605,504 + 802,816 = 116,408,320
        [256, 56, 56], 18_688, 57_802_752, 116_408_320, id="conv2d-grouped-resnext-row"),
    pytest.param(
        (3, 224, 224), {"type": "conv", "out": 64, "kernel": 7, "stride": 2, "padding": 3, "bias": False},
        # ResNet stem: floor((224 + 6 − 7)/2) + 1 = 111 + 1 = 112; params 64·3·49 = 9,408
        # MACs 64·12,544·3·49 = 802,816·147 = 118,013,952; FLOPs 2·MACs = 236,027,904 (no bias)
        [64, 112, 112], 9_408, 118_013_952, 236_027_904, id="conv2d-resnet-stem"),
    pytest.param(
        (64, 17, 17), {"type": "conv", "out": 64, "kernel": [1, 7], "padding": [0, 3], "bias": False},
        # H: 17 + 0 − 1 + 1 = 17; W: 17 + 6 − 7 + 1 = 17; params 64·64·7 = 28,672
        # MACs 64·289·64·7 = 28,672·289 = 8,601,600 − 315,392 = 8,286,208
        [64, 17, 17], 28_672, 8_286_208, 16_572_416, id="conv2d-1x7-per-axis"),
    pytest.param(
        (64, 8, 28, 28), {"type": "conv", "out": 64, "kernel": 3, "padding": 1},
        # a C3D-style conv3d row: params 64·64·27 + 64 = 110,592 + 64 = 110,656
        # MACs 64·(8·784 = 6,272)·64·27 = 401,408·1,728 = 693,633,024
        # FLOPs 2·693,633,024 + 64·6,272 = 1,387,266,048 + 401,408 = 1,387,667,456
        [64, 8, 28, 28], 110_656, 693_633_024, 1_387_667_456, id="conv3d-c3d-row"),
    pytest.param(
        (16, 32, 32), {"type": "conv", "out": 16, "kernel": 3, "dilation": 2, "padding": 2, "bias": False},
        # k_eff = 2·(3 − 1) + 1 = 5; 32 + 4 − 5 + 1 = 32; params 16·16·9 = 2,304; MACs 16·1,024·16·9 = 2,359,296
        [16, 32, 32], 2_304, 2_359_296, 4_718_592, id="conv2d-dilation2-p2"),
    pytest.param(
        (16, 32, 32), {"type": "conv", "out": 16, "kernel": 3, "dilation": 2, "bias": False},
        # k_eff 5, no padding: 32 − 5 + 1 = 28; MACs 16·784·16·9 = 1,806,336 (the dilation does not add taps)
        [16, 28, 28], 2_304, 1_806_336, 3_612_672, id="conv2d-dilation2-p0"),
    pytest.param(
        (32, 14, 14), {"type": "depthwise", "kernel": 3, "padding": 1, "multiplier": 2},
        # C_out = 32·2 = 64; params 64·9 + 64 = 640; MACs 64·196·9 = 112,896; FLOPs 225,792 + 64·196 = 238,336
        [64, 14, 14], 640, 112_896, 238_336, id="depthwise-multiplier2"),
    pytest.param(
        (96, 112, 112), {"type": "depthwise", "kernel": 3, "stride": 2, "padding": 1, "bias": False},
        # MobileNetV2's second dw: floor((112 + 2 − 3)/2) + 1 = 56; params 96·9 = 864; MACs 96·3,136·9 = 2,709,504
        [96, 56, 56], 864, 2_709_504, 5_419_008, id="depthwise-s2"),
    pytest.param(
        (32, 14, 14), {"type": "pointwise", "out": 64, "bias": False},
        # params 64·32 = 2,048; MACs 64·196·32 = 401,408
        [64, 14, 14], 2_048, 401_408, 802_816, id="pointwise"),
    pytest.param(
        (32, 14, 14), {"type": "pointwise", "out": 64, "groups": 4},
        # 32/4 = 8 per group; params 64·8 + 64 = 576; MACs 64·196·8 = 100,352; FLOPs 200,704 + 12,544 = 213,248
        [64, 14, 14], 576, 100_352, 213_248, id="pointwise-grouped"),
    pytest.param(
        (64, 16, 16), {"type": "conv_transpose", "out": 32, "kernel": 4, "stride": 2, "padding": 1},
        # a DCGAN-style row: (16 − 1)·2 − 1 − 1 + 4 = 32; params 64·32·16 + 32 = 32,768 + 32 = 32,800
        # MACs on input positions 64·256·32·16 = 8,388,608; FLOPs 2·8,388,608 + 32·1,024 = 16,809,984
        [32, 32, 32], 32_800, 8_388_608, 16_809_984, id="conv-transpose-dcgan-row"),
    pytest.param(
        (8, 5), {"type": "conv_transpose", "out": 4, "kernel": 3, "stride": 2, "output_padding": 1, "bias": False},
        # (5 − 1)·2 − 0 − 0 + 3 + 1 = 12; params 8·4·3 = 96; MACs 8·5·4·3 = 480
        [4, 12], 96, 480, 960, id="conv-transpose-1d-output-padding"),
]


@pytest.mark.parametrize("shape, layer, out, params, macs, flops", CONV_ROWS)
def test_conv_kinds(shape, layer, out, params, macs, flops):
    row = one(shape, layer)
    assert row.output_shape == out
    assert (row.params, row.buffers, row.macs, row.flops) == (params, 0, macs, flops)


def test_transposed_products_landing_inside_the_output():
    row = one((64, 16, 16), {"type": "conv_transpose", "out": 32, "kernel": 4, "stride": 2, "padding": 1})
    # per axis, input i scatters to o = 2i − 1 + t (t = 0..3): 16·4 = 64 products, of which o = −1 (i 0, t 0) and
    # o = 32 (i 15, t 3) fall outside → 62 inside per axis; 64·32·62·62 = 2,048·3,844 = 7,872,512
    assert row.details["macs_inside_output"] == 7_872_512
    assert row.to_dict()["details"]["macs_inside_output"] == 7_872_512  # the JSON field
    # k4 divisible by s2: no checkerboard warning
    assert row.warnings == []


def test_transposed_all_products_inside_and_uneven_kernel_warning():
    row = one((8, 5), {"type": "conv_transpose", "out": 4, "kernel": 3, "stride": 2, "output_padding": 1,
                       "bias": False})
    # o = 2i + t ≤ 2·4 + 2 = 10 < 12: all 5·3 = 15 products per axis land inside: 8·4·15 = 480 = MACs
    assert row.details["macs_inside_output"] == 480
    assert any("kernel not divisible by stride" in w for w in row.warnings)


# ---- padding words and pairs: (input, layer, output shape, RF start per axis) -----------------------------------
PADDING_ROWS = [
    pytest.param((3, 224, 224), {"kernel": 3, "stride": 2, "padding": "same"},
                 # ceil(224/2) = 112 outputs need (112 − 1)·2 + 3 = 225 inputs: total 1 → 0 before, 1 after;
                 # floor((224 + 0 + 1 − 3)/2) + 1 = 111 + 1 = 112; nothing before, so unit 0 starts at 0
                 [8, 112, 112], [0, 0], id="same-k3-s2-224"),
    pytest.param((3, 224, 224), {"kernel": 3, "stride": 2, "padding": [[0, 1], [0, 1]]},
                 # the same pairs written out give the same result
                 [8, 112, 112], [0, 0], id="pairs-equal-to-same"),
    pytest.param((3, 224, 224), {"kernel": 3, "padding": "same"},
                 # stride 1: total (224 − 1) + 3 − 224 = 2 → (1, 1), 224 out, start −1
                 [8, 224, 224], [-1, -1], id="same-k3-s1"),
    pytest.param((3, 10), {"kernel": 4, "padding": "same"},
                 # even kernel: total 9 + 4 − 10 = 3 → 1 before, 2 after; 10 + 3 − 4 + 1 = 10; start −1
                 [8, 10], [-1], id="same-even-kernel-1d"),
    pytest.param((3, 15), {"kernel": 5, "stride": 2, "padding": "same"},
                 # ceil(15/2) = 8; total (8 − 1)·2 + 5 − 15 = 4 → (2, 2); floor((15 + 4 − 5)/2) + 1 = 8; start −2
                 [8, 8], [-2], id="same-k5-s2-odd-input"),
    pytest.param((3, 7), {"kernel": 1, "stride": 2, "padding": "same"},
                 # ceil(7/2) = 4; total max((4 − 1)·2 + 1 − 7, 0) = 0; floor(6/2) + 1 = 4
                 [8, 4], [0], id="same-k1-s2-no-padding"),
    pytest.param((3, 10, 10), {"kernel": 3, "padding": "valid"},
                 # 10 − 3 + 1 = 8
                 [8, 8, 8], [0, 0], id="valid"),
    pytest.param((3, 10, 10), {"kernel": 3, "padding": "full"},
                 # k − 1 = 2 each side: 10 + 4 − 3 + 1 = 12; start −2
                 [8, 12, 12], [-2, -2], id="full"),
    pytest.param((3, 10, 10), {"kernel": 3, "dilation": 2, "padding": "full"},
                 # k_eff 5: 4 each side: 10 + 8 − 5 + 1 = 14; start −4
                 [8, 14, 14], [-4, -4], id="full-dilated"),
    pytest.param((3, 112, 112), {"kernel": 3, "padding": [[0, 1], [1, 1]]},
                 # H: 112 + 0 + 1 − 3 + 1 = 111; W: 112 + 2 − 3 + 1 = 112; starts 0 and −1
                 [8, 111, 112], [0, -1], id="asymmetric-pairs"),
    pytest.param((3, 112, 112), {"kernel": 3, "padding": [[2, 0], 1]},
                 # pairs and ints mixed: H 112 + 2 − 3 + 1 = 112 (start −2); W 112 (start −1)
                 [8, 112, 112], [-2, -1], id="pair-and-int"),
    pytest.param((3, 9), {"kernel": 3, "stride": 2, "padding": [[2, 0]]},
                 # floor((9 + 2 + 0 − 3)/2) + 1 = 4 + 1 = 5; start −2
                 [8, 5], [-2], id="asymmetric-1d-strided"),
]


@pytest.mark.parametrize("shape, padding, out, start", PADDING_ROWS)
def test_padding_forms(shape, padding, out, start):
    row = one(shape, {"type": "conv", "out": 8, "bias": False, **padding})
    assert row.output_shape == out
    assert row.rf.start == start


def test_same_padding_costs_like_the_explicit_pairs():
    same = one((3, 224, 224), {"type": "conv", "out": 32, "kernel": 3, "stride": 2, "padding": "same"})
    pairs = one((3, 224, 224), {"type": "conv", "out": 32, "kernel": 3, "stride": 2, "padding": [[0, 1], [0, 1]]})
    # params 32·3·9 + 32 = 896; MACs 32·12,544·27 = 10,838,016
    assert (same.params, same.macs) == (pairs.params, pairs.macs) == (896, 10_838_016)


# ---- pooling: (input, layer, output shape, FLOPs) -------------------------------------------------------------
POOL_ROWS = [
    pytest.param((64, 112, 112), {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1},
                 # floor((112 + 2 − 3)/2) + 1 = 55 + 1 = 56; FLOPs 64·3,136·(9 − 1) = 1,605,632
                 [64, 56, 56], 1_605_632, id="maxpool-floor-56"),
    pytest.param((64, 112, 112), {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                 # ceil(111/2) + 1 = 57; last window starts at 56·2 = 112 < 112 + 1, inside: kept
                 # FLOPs 64·3,249·8 = 1,663,488
                 [64, 57, 57], 1_663_488, id="maxpool-ceil-57"),
    pytest.param((1, 5), {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True},
                 # ceil((5 + 2 − 2)/2) + 1 = 3 + 1 = 4, but window 4 would start at 3·2 = 6 ≥ 5 + 1, i.e. in the
                 # right padding: PyTorch drops it → 3 (torch.nn.MaxPool1d(2, 2, 1, ceil_mode=True) on 5 gives 3)
                 # FLOPs 1·3·(2 − 1) = 3
                 [1, 3], 3, id="maxpool-ceil-last-window-in-padding"),
    pytest.param((1, 5), {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 1},
                 # floor(5/2) + 1 = 3: here the rule makes ceil_mode agree with floor
                 [1, 3], 3, id="maxpool-floor-same-case"),
    pytest.param((1, 6), {"type": "maxpool", "kernel": 3, "stride": 3, "padding": 1, "ceil_mode": True},
                 # ceil((6 + 2 − 3)/3) + 1 = 2 + 1 = 3; last start 2·3 = 6 < 6 + 1: kept (floor gives 5//3 + 1 = 2)
                 # FLOPs 3·(3 − 1) = 6
                 [1, 3], 6, id="maxpool-ceil-keeps-window"),
    pytest.param((2, 10, 10), {"type": "maxpool", "kernel": 3, "stride": 1, "dilation": 2},
                 # k_eff 5: 10 − 5 + 1 = 6; FLOPs 2·36·(9 − 1) = 576 (dilation does not add taps)
                 [2, 6, 6], 576, id="maxpool-dilation"),
    pytest.param((4, 8, 8), {"type": "minpool", "kernel": 2},
                 # stride = kernel: 8/2 = 4; FLOPs 4·16·(4 − 1) = 192
                 [4, 4, 4], 192, id="minpool"),
    pytest.param((8, 10, 10), {"type": "avgpool", "kernel": 2},
                 # 5×5; FLOPs 8·25·4 = 800 (3 adds + 1 divide per output)
                 [8, 5, 5], 800, id="avgpool"),
    pytest.param((8, 10, 10), {"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1},
                 # 10 + 2 − 3 + 1 = 10; FLOPs 8·100·9 = 7,200 (padding taps counted as if present)
                 [8, 10, 10], 7_200, id="avgpool-count-include-pad"),
    pytest.param((8, 10, 10), {"type": "avgpool", "kernel": 3, "stride": 1, "padding": 1,
                               "count_include_pad": False},
                 # only the divisor changes: same shape and FLOPs, 7,200
                 [8, 10, 10], 7_200, id="avgpool-exclude-pad"),
    pytest.param((2, 4, 6, 6), {"type": "maxpool", "kernel": [1, 2, 2]},
                 # 3-D, stride = kernel: (4, 3, 3); FLOPs 2·36·(4 − 1) = 216
                 [2, 4, 3, 3], 216, id="maxpool3d"),
    pytest.param((512, 7, 7), {"type": "global_avgpool"},
                 # FLOPs 512·49 = 25,088
                 [512, 1, 1], 25_088, id="global-avgpool"),
    pytest.param((512, 7, 7), {"type": "global_maxpool", "keepdims": False},
                 # FLOPs 512·(49 − 1) = 24,576
                 [512], 24_576, id="global-maxpool-flat"),
    pytest.param((512, 14, 14), {"type": "adaptive_avgpool", "output_size": 7},
                 # windows of 2 per axis: Σ = 7·2 = 14 per axis; FLOPs 512·14·14 = 100,352
                 [512, 7, 7], 100_352, id="adaptive-avg-even"),
    pytest.param((512, 14, 14), {"type": "adaptive_maxpool", "output_size": 7},
                 # 512·(196 − 49) = 75,264
                 [512, 7, 7], 75_264, id="adaptive-max-even"),
    pytest.param((4, 5), {"type": "adaptive_avgpool", "output_size": 3},
                 # windows [0, 2), [1, 4), [3, 5): sizes 2 + 3 + 2 = 7 (overlapping); FLOPs 4·7 = 28
                 [4, 3], 28, id="adaptive-avg-overlapping"),
    pytest.param((4, 5), {"type": "adaptive_maxpool", "output_size": 3},
                 # 4·(7 − 3) = 16
                 [4, 3], 16, id="adaptive-max-overlapping"),
    pytest.param((256, 13, 13), {"type": "adaptive_avgpool", "output_size": [6, 6]},
                 # AlexNet: windows [0,3) [2,5) [4,7) [6,9) [8,11) [10,13), 3 each: Σ 18 per axis;
                 # FLOPs 256·18·18 = 82,944
                 [256, 6, 6], 82_944, id="adaptive-avg-alexnet"),
]


@pytest.mark.parametrize("shape, layer, out, flops", POOL_ROWS)
def test_pooling(shape, layer, out, flops):
    row = one(shape, layer)
    assert row.output_shape == out
    assert (row.params, row.buffers, row.macs, row.flops) == (0, 0, 0, flops)


# ---- batchnorm, activations, shape-keeping layers -------------------------------------------------------------
@pytest.mark.parametrize("shape, layer, params, buffers, flops", [
    # 2·64 = 128 params (γ, β) and 128 buffers (mean, var), apart; FLOPs 64·3,136·2 = 401,408
    ((64, 56, 56), {"type": "batchnorm"}, 128, 128, 401_408),
    ((64, 56, 56), {"type": "batchnorm", "affine": False}, 0, 128, 401_408),
    ((64, 56, 56), {"type": "batchnorm", "track_running_stats": False}, 128, 0, 401_408),
    # flat features: 2·100 = 200 each; FLOPs 100·2
    ((100,), {"type": "batchnorm"}, 200, 200, 200),
    # 1-D and 3-D: 2·8 = 16; FLOPs 8·10·2 = 160 and 8·2·3·4·2 = 384
    ((8, 10), {"type": "batchnorm"}, 16, 16, 160),
    ((8, 2, 3, 4), {"type": "batchnorm"}, 16, 16, 384),
])
def test_batchnorm(shape, layer, params, buffers, flops):
    row = one(shape, layer)
    assert row.output_shape == list(shape)
    assert (row.params, row.buffers, row.macs, row.flops) == (params, buffers, 0, flops)


# 16·8·8 = 1,024 elements, times docs/flops.md's per-element cost
@pytest.mark.parametrize("kind, flops", [
    ("relu", 1_024),         # 1 comparison: 1,024·1
    ("relu6", 2_048),        # 2 comparisons: 1,024·2
    ("leaky_relu", 2_048),   # comparison + mul: 1,024·2
    ("sigmoid", 3_072),      # exp + add + div: 1,024·3
    ("tanh", 1_024),         # 1 transcendental: 1,024·1
    ("gelu", 5_120),         # div + erf + add + 2 mul: 1,024·5
    ("silu", 4_096),         # sigmoid 3 + mul: 1,024·4
    ("swish", 4_096),        # = silu
    ("hardswish", 5_120),    # add + 2 comparisons + mul + div: 1,024·5
    ("hardsigmoid", 4_096),  # add + 2 comparisons + div: 1,024·4
    ("dropout", 0),          # identity at inference
    ("identity", 0),
])
def test_elementwise_costs(kind, flops):
    row = one((16, 8, 8), {"type": kind})
    assert row.output_shape == [16, 8, 8]
    assert (row.params, row.buffers, row.macs, row.flops) == (0, 0, 0, flops)
    # 1,024 elements · 4 bytes
    assert row.activation_bytes == 4_096
    assert row.rf.size == [1, 1] and row.rf.jump == [1, 1]


def test_elementwise_cost_scales_with_batch():
    # gelu on 1,024 elements, batch 3: 1,024·5·3 = 15,360 FLOPs; 1,024·4·3 = 12,288 bytes
    row = one((16, 8, 8), {"type": "gelu"}, batch=3)
    assert (row.flops, row.activation_bytes) == (15_360, 12_288)


def test_leaky_relu_slope_does_not_change_the_count():
    row = one((16, 8, 8), {"type": "leaky_relu", "negative_slope": 0.2})
    assert row.flops == 2_048


def test_dropout_p_is_free_at_inference():
    assert one((16, 8, 8), {"type": "dropout", "p": 0.5}).flops == 0


def test_flatten():
    row = one((16, 8, 8), {"type": "flatten"})
    # 16·8·8 = 1,024 features, a reshape
    assert row.output_shape == [1_024]
    assert (row.params, row.macs, row.flops) == (0, 0, 0)
    # the whole 8×8 input is now seen
    assert row.rf.size == [8, 8]


@pytest.mark.parametrize("f_in, out, bias, params, macs, flops", [
    (1_024, 10, True, 10_250, 10_240, 20_490),       # 1,024·10 + 10; 1,024·10; 2·10,240 + 10
    (1_024, 10, False, 10_240, 10_240, 20_480),      # no bias: params = MACs, FLOPs = 2·MACs
    (2_048, 1_000, True, 2_049_000, 2_048_000, 4_097_000),  # ResNet-50 fc: 2,048,000 + 1,000
    (4_096, 4_096, True, 16_781_312, 16_777_216, 33_558_528),  # VGG fc7: 4,096² = 16,777,216 (+ 4,096)
])
def test_linear(f_in, out, bias, params, macs, flops):
    row = one((f_in,), {"type": "linear", "out": out, "bias": bias})
    assert row.output_shape == [out]
    assert (row.params, row.macs, row.flops) == (params, macs, flops)


# ---- merges ---------------------------------------------------------------------------------------------------
def _merge(kind, *extra, inputs):
    layers = [{"type": "conv", "name": "a", "out": 8, "kernel": 1, "inputs": "input"},
              {"type": "conv", "name": "b", "out": 8, "kernel": 1, "inputs": "input"}, *extra,
              {"type": kind, "name": "m", "inputs": inputs}]
    return analyze_layers((8, 4, 4), *layers).layers[-1]


def test_add_two_and_three_inputs():
    two = _merge("add", inputs=["input", "a"])
    # 8·4·4 = 128 elements, 1 add each
    assert (two.output_shape, two.flops, two.params, two.macs) == ([8, 4, 4], 128, 0, 0)
    three = _merge("add", inputs=["input", "a", "b"])
    # (3 − 1)·128 = 256
    assert three.flops == 256


def test_concat_sums_channels_for_free():
    row = _merge("concat", inputs=["input", "a", "b"])
    # 8 + 8 + 8 = 24 channels, a copy
    assert (row.output_shape, row.flops) == ([24, 4, 4], 0)
    assert row.activation_bytes == 24 * 16 * 4  # 384 elements · 4 bytes = 1,536


def test_multiply_se_gate_broadcast():
    layers = [{"type": "global_avgpool", "name": "squeeze"},
              {"type": "pointwise", "name": "fc", "out": 64},
              {"type": "sigmoid", "name": "gate"},
              {"type": "multiply", "name": "excite", "inputs": ["input", "gate"]}]
    report = analyze_layers((64, 28, 28), *layers)
    gate, excite = report.layers[2], report.layers[3]
    assert gate.output_shape == [64, 1, 1]
    # (64, 28, 28) × (64, 1, 1) → (64, 28, 28); 1 multiply per output element: 64·784 = 50,176
    assert (excite.output_shape, excite.flops) == ([64, 28, 28], 50_176)
    assert excite.warnings == []  # a broadcast gate has no position to align


def test_multiply_spatial_mask_broadcasts_over_channels():
    layers = [{"type": "conv", "name": "mask", "out": 1, "kernel": 1, "bias": False},
              {"type": "multiply", "inputs": ["input", "mask"]}]
    row = analyze_layers((16, 6, 6), *layers).layers[1]
    # (16, 6, 6) × (1, 6, 6) → (16, 6, 6); 16·36 = 576 FLOPs
    assert (row.output_shape, row.flops) == ([16, 6, 6], 576)


# ---- upsample -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, layer, out, flops", [
    # nearest is a copy: 16×8×8 → 16×16×16, 0 FLOPs
    ((16, 8, 8), {"type": "upsample", "scale": 2}, [16, 16, 16], 0),
    # bilinear: 4 multiplies + 3 adds = 7 per output element: 16·256·7 = 28,672
    ((16, 8, 8), {"type": "upsample", "scale": 2, "mode": "bilinear"}, [16, 16, 16], 28_672),
    # size given per axis
    ((16, 8, 8), {"type": "upsample", "size": [20, 12]}, [16, 20, 12], 0),
    # 16·240·7 = 26,880
    ((16, 8, 8), {"type": "upsample", "size": [20, 12], "mode": "bilinear"}, [16, 20, 12], 26_880),
    # non-integer scale: floor(8·1.5) = 12
    ((16, 8, 8), {"type": "upsample", "scale": 1.5}, [16, 12, 12], 0),
    # 1-D linear: 2 + 1 = 3 per output: 4·15·3 = 180
    ((4, 5), {"type": "upsample", "scale": 3, "mode": "linear"}, [4, 15], 180),
    # 3-D trilinear: 8 + 7 = 15 per output: 2·512·15 = 15,360
    ((2, 4, 4, 4), {"type": "upsample", "scale": 2, "mode": "trilinear"}, [2, 8, 8, 8], 15_360),
])
def test_upsample(shape, layer, out, flops):
    row = one(shape, layer)
    assert row.output_shape == out
    assert (row.params, row.macs, row.flops) == (0, 0, flops)


def test_upsample_halves_the_jump_exactly():
    row = one((16, 8, 8), {"type": "upsample", "scale": 2})
    assert row.rf.jump == [Fraction(1, 2), Fraction(1, 2)]
    assert row.to_dict()["rf"]["jump"] == ["1/2", "1/2"]


# ---- activation bytes, batch and dtype ------------------------------------------------------------------------
STEM = {"type": "conv", "out": 64, "kernel": 7, "stride": 2, "padding": 3, "bias": False}


@pytest.mark.parametrize("top, macs, activation_bytes", [
    # 64·112·112 = 802,816 elements · 4 bytes = 3,211,264; MACs 118,013,952 (see the stem row above)
    ({}, 118_013_952, 3_211_264),
    # batch 4: 802,816·4·4 = 12,845,056 bytes; MACs 118,013,952·4 = 472,055,808
    ({"batch": 4}, 472_055_808, 12_845_056),
    # float16, batch 4: 802,816·2·4 = 6,422,528 bytes; MACs do not depend on the dtype
    ({"batch": 4, "dtype": "float16"}, 472_055_808, 6_422_528),
    # float64, batch 1: 802,816·8 = 6,422,528
    ({"dtype": "float64"}, 118_013_952, 6_422_528),
    # int8, batch 2: 802,816·1·2 = 1,605,632
    ({"batch": 2, "dtype": "int8"}, 236_027_904, 1_605_632),
])
def test_activation_bytes_batch_and_dtype(top, macs, activation_bytes):
    report = analyze_layers((3, 224, 224), STEM, **top)
    row = report.layers[0]
    assert row.params == 9_408  # independent of batch and dtype
    assert (row.macs, row.activation_bytes) == (macs, activation_bytes)


# ---- totals and per-kind totals -------------------------------------------------------------------------------
TINY = [
    {"type": "conv", "out": 16, "kernel": 3, "padding": 1},    # 16·27 + 16 = 448 params; MACs 16·1,024·27 = 442,368
    {"type": "batchnorm"},                                      # 32 params, 32 buffers
    {"type": "relu"},
    {"type": "maxpool", "kernel": 2},                           # 16×16×16
    {"type": "conv", "out": 32, "kernel": 3, "padding": 1},    # 32·144 + 32 = 4,640; MACs 32·256·144 = 1,179,648
    {"type": "relu"},
    {"type": "global_avgpool", "keepdims": False},             # (32,)
    {"type": "linear", "out": 10},                             # 330 params, 320 MACs
]


def test_totals_of_a_tiny_network():
    report = analyze_layers((3, 32, 32), *TINY)
    t = report.totals
    # params 448 + 32 + 4,640 + 330 = 5,450; buffers 32
    assert (t.params, t.buffers, t.layers) == (5_450, 32, 8)
    # MACs 442,368 + 1,179,648 + 320 = 1,622,336
    assert t.macs == 1_622_336
    # FLOPs: conv1 2·442,368 + 16·1,024 = 901,120; bn 16,384·2 = 32,768; relu 16,384; maxpool 16·256·3 = 12,288;
    # conv2 2·1,179,648 + 32·256 = 2,367,488; relu 8,192; gap 32·256 = 8,192; linear 640 + 10 = 650
    # 901,120 + 32,768 + 16,384 + 12,288 + 2,367,488 + 8,192 + 8,192 + 650 = 3,347,082
    assert t.flops == 3_347_082
    # bytes: 3·65,536 (conv1, bn, relu: 16,384 elements · 4) + 16,384 (maxpool) + 2·32,768 (conv2, relu)
    # + 128 (gap) + 40 (linear) = 196,608 + 16,384 + 65,536 + 168 = 278,696
    assert t.activation_bytes == 278_696
    # weight bytes: 5,450 params · 4
    assert report.weight_bytes == 21_800


def test_per_kind_totals():
    by_type = analyze_layers((3, 32, 32), *TINY).by_type
    assert sorted(by_type) == ["batchnorm", "conv", "global_avgpool", "linear", "maxpool", "relu"]
    conv = by_type["conv"]
    # 448 + 4,640 = 5,088 params; 442,368 + 1,179,648 = 1,622,016 MACs; 901,120 + 2,367,488 = 3,268,608 FLOPs
    assert (conv.params, conv.macs, conv.flops, conv.layers) == (5_088, 1_622_016, 3_268_608, 2)
    relu = by_type["relu"]
    # 16,384 + 8,192 = 24,576 FLOPs; bytes 65,536 + 32,768 = 98,304
    assert (relu.flops, relu.activation_bytes, relu.layers) == (24_576, 98_304, 2)
    assert (by_type["batchnorm"].params, by_type["batchnorm"].buffers) == (32, 32)
    assert (by_type["linear"].params, by_type["linear"].macs) == (330, 320)


def test_totals_scale_with_batch_but_params_do_not():
    t = analyze_layers((3, 32, 32), *TINY, batch=4).totals
    # 1,622,336·4 = 6,489,344; 3,347,082·4 = 13,388,328; 278,696·4 = 1,114,784
    assert (t.params, t.buffers, t.macs, t.flops, t.activation_bytes) == (
        5_450, 32, 6_489_344, 13_388_328, 1_114_784)


def test_same_padding_pads_0_before_and_1_after(tmp_path):
    """The pads themselves, as `convcalc explain SPEC --layer` shows them: p_b = 0, p_a = 1 on both axes."""
    from typer.testing import CliRunner

    from convcalc.cli.app import app

    path = tmp_path / "same.yaml"
    path.write_text("name: s\ninput: [3, 224, 224]\nlayers:\n"
                    "  - {type: conv, name: c, out: 32, kernel: 3, stride: 2, padding: same}\n")
    result = CliRunner().invoke(app, ["explain", str(path), "--layer", "c"])
    assert result.exit_code == 0, result.output
    # floor((N + p_b + p_a − k)/s) + 1 = floor((224 + 0 + 1 − 3)/2) + 1 = 111 + 1 = 112
    assert "axis 0: floor((224 + 0 + 1 − 3)/2) + 1 = 112" in result.stdout
    assert "axis 1: floor((224 + 0 + 1 − 3)/2) + 1 = 112" in result.stdout
