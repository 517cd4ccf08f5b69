"""The executor's backward pass (convcalc/executor/backward/): VJPs against central finite differences in float64
on the awkward geometries and on tiny networks with branches (every kind's own example: test_registry.py), the
max/min routing, and the receptive-field probe's options."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.executor import run
from convcalc.executor.backward import VJPS, input_gradient

from .helpers import finite_difference_check, graph_of


def conv(out=3, k=3, **extra):
    return {"type": "conv", "out": out, "kernel": k, **extra}


# ---- finite differences on the awkward geometries (every kind's example: test_registry.py) ---------------
CASES = {
    # convolutions
    "conv2d_groups_dilation_stride_asym": ((4, 9, 8), [conv(out=6, k=3, stride=2, dilation=[2, 1], groups=2,
                                                           padding=[[1, 0], [2, 1]])]),
    "conv1d_same": ((3, 11), [conv(out=2, k=4, stride=3, padding="same")]),
    "conv1d_full_nobias": ((2, 6), [conv(out=2, k=3, padding="full", bias=False)]),
    "conv3d": ((2, 5, 4, 5), [conv(out=2, k=[3, 2, 2], stride=[2, 1, 1], padding=[1, 0, 1])]),
    "conv_1x1_strided": ((3, 7, 7), [conv(out=4, k=1, stride=2)]),
    "conv_1x1": ((3, 5, 5), [conv(out=4, k=1)]),
    "depthwise_m1": ((3, 6, 6), [{"type": "depthwise", "kernel": [3, 2], "dilation": 2, "padding": "same"}]),
    "pointwise": ((3, 4, 4), [{"type": "pointwise", "out": 5}]),
    "conv_transpose_outpad_groups": ((4, 5, 4), [{"type": "conv_transpose", "out": 6, "kernel": [3, 4],
                                                  "stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2],
                                                  "groups": 2, "dilation": [1, 1]}]),
    "conv_transpose_asym_same": ((2, 6), [{"type": "conv_transpose", "out": 3, "kernel": 3, "stride": 2,
                                           "padding": [[2, 1]]}]),
    "conv_transpose_same_dilated": ((2, 5, 5), [{"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2,
                                                 "padding": "same", "dilation": 2}]),
    "conv_transpose_3d": ((2, 3, 3, 3), [{"type": "conv_transpose", "out": 2, "kernel": 2, "stride": 2}]),
    # pools
    "maxpool_ceil_pad_dilation": ((2, 11, 10), [{"type": "maxpool", "kernel": [3, 2], "stride": 2,
                                                  "padding": [1, 1], "dilation": [2, 1], "ceil_mode": True}]),
    "maxpool1d": ((2, 9), [{"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}]),
    "avgpool_exclude_pad": ((2, 7, 6), [{"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1,
                                         "count_include_pad": False, "ceil_mode": True}]),
    "avgpool3d": ((2, 4, 5, 4), [{"type": "avgpool", "kernel": 2, "stride": 1}]),
    "adaptive_maxpool1d": ((2, 10), [{"type": "adaptive_maxpool", "output_size": 4}]),
    # elementwise
    "batchnorm_batch_stats": ((3, 4, 4), [{"type": "batchnorm", "track_running_stats": False}]),
    "batchnorm_no_affine": ((3, 5), [{"type": "batchnorm", "affine": False}]),
    "relu": ((3, 5, 5), [conv(), {"type": "relu"}]),
    "relu6": ((3, 5, 5), [conv(), {"type": "relu6"}]),
    "leaky_relu": ((3, 5, 5), [conv(), {"type": "leaky_relu", "negative_slope": 0.2}]),
    "hardsigmoid": ((3, 6), [conv(k=1), {"type": "hardsigmoid"}]),
    "hardswish": ((3, 6), [conv(k=1), {"type": "hardswish"}]),
    "dropout_identity": ((3, 6), [{"type": "dropout", "p": 0.5}, {"type": "identity"}]),
    # flat
    "flatten_linear": ((2, 3, 3), [{"type": "flatten"}, {"type": "linear", "out": 4},
                                   {"type": "linear", "out": 3, "bias": False}]),
    # merges (branches)
    "residual_add": ((3, 6, 6), [conv(out=3, padding=1, name="c"), {"type": "relu", "name": "r"},
                                 conv(out=3, padding=1, name="c2"),
                                 {"type": "add", "name": "sum", "inputs": ["c", "c2"]}]),
    "add_three": ((2, 5), [conv(out=2, k=1, name="a", inputs="input"), conv(out=2, k=3, padding=1, name="b",
                                                                             inputs="input"),
                           {"type": "add", "name": "s", "inputs": ["input", "a", "b"]}]),
    "concat": ((2, 6, 6), [conv(out=2, k=1, name="a", inputs="input"), conv(out=3, padding=1, name="b",
                                                                            inputs="input"),
                           {"type": "concat", "name": "cat", "inputs": ["a", "b", "input"]}]),
    "se_multiply": ((4, 5, 5), [conv(out=4, padding=1, name="c"), {"type": "global_avgpool", "name": "g"},
                                conv(out=4, k=1, name="fc"), {"type": "sigmoid", "name": "gate"},
                                {"type": "multiply", "name": "m", "inputs": ["c", "gate"]}]),
    "multiply_flat_gate": ((3, 5), [{"type": "global_avgpool", "keepdims": False, "name": "g"},
                                    {"type": "linear", "out": 5, "name": "fc"},  # (5,) aligned right: × every channel
                                    {"type": "multiply", "name": "m", "inputs": ["input", "fc"]}]),
    # resampling
    "upsample_nearest": ((2, 3, 4), [{"type": "upsample", "scale": [2, 3]}]),
    "upsample_nearest_size": ((2, 5, 4), [{"type": "upsample", "size": [7, 9]}]),
    "upsample_bilinear_align": ((2, 4, 5), [{"type": "upsample", "size": [7, 8], "mode": "bilinear",
                                             "align_corners": True}]),
    "upsample_linear1d": ((2, 5), [{"type": "upsample", "scale": 1.5, "mode": "linear"}]),
    "upsample_bicubic": ((2, 4, 5), [{"type": "upsample", "scale": 2, "mode": "bicubic"}]),
    "upsample_bicubic_align": ((2, 4, 4), [{"type": "upsample", "size": [6, 9], "mode": "bicubic",
                                            "align_corners": True}]),
    "upsample_trilinear": ((2, 3, 3, 4), [{"type": "upsample", "scale": 2, "mode": "trilinear"}]),
    # variants
    "separable_3d": ((2, 5, 5, 5), [{"type": "separable", "out": 2, "kernel": 3, "padding": 1, "bias": False}]),
    "depthwise_separable_mid": ((3, 7, 7), [{"type": "depthwise_separable", "out": 4, "kernel": [3, 5],
                                             "padding": [1, 2], "multiplier": 2, "mid": ["batchnorm", "relu"]}]),
    "depthwise_separable": ((3, 7, 7), [{"type": "depthwise_separable", "out": 4, "kernel": 3, "stride": 2}]),
    "channel_shuffle": ((6, 3, 3), [conv(out=6, k=1), {"type": "channel_shuffle", "groups": 3},
                                    conv(out=2, k=1, stride=1)]),
    "squeeze_excitation": ((8, 4, 4), [{"type": "squeeze_excitation", "squeeze": 3}]),
    "squeeze_excitation_hard": ((4, 5), [{"type": "squeeze_excitation", "reduction": 2, "activation": "silu",
                                          "gate": "hardsigmoid", "bias": False}]),
    "deformable": ((3, 6, 6), [{"type": "deformable", "out": 2, "kernel": 3, "padding": 1}]),
    "deformable_modulated_groups": ((4, 6, 7), [{"type": "deformable", "out": 4, "kernel": [3, 2], "stride": 2,
                                                 "padding": 1, "dilation": [1, 2], "modulated": True,
                                                 "offset_groups": 2, "groups": 2}]),
    "deformable_1d": ((2, 8), [{"type": "deformable", "out": 2, "kernel": 3, "padding": 1, "bias": False}]),
    "locally_connected_channel_bias": ((2, 5), [{"type": "locally_connected", "out": 2, "kernel": 2,
                                                 "bias": "channel"}]),
    "lppool_p3": ((2, 6), [{"type": "lppool", "p": 3, "kernel": 2}]),
}

POSITIVE = {"lppool_p3"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_vjp_equals_finite_differences(case):
    input_shape, layers = CASES[case]
    finite_difference_check(input_shape, *layers, positive=case in POSITIVE)


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["by-tap", "at-once"])
@pytest.mark.parametrize("mode", ["test", "train"])
def test_stochastic_pool_vjp(monkeypatch, mode, threshold):
    # non-negative input (a relu before it, as the forward requires); train mode: the drawn element's value; on
    # both paths (see test_window_vjp_paths_equal_finite_differences)
    from convcalc.executor import base

    monkeypatch.setattr(base, "PER_TAP_MIN_ELEMENTS", threshold)
    finite_difference_check((2, 6, 6), conv(out=2, k=1, name="c"), {"type": "relu"},
                            {"type": "stochastic_pool", "kernel": 2, "mode": mode})


@pytest.mark.parametrize("kind", ["maxpool", "minpool", "adaptive_maxpool", "global_maxpool", "stochastic_pool"])
def test_max_as_sum_pools_are_sums(kind):
    layer = {"type": kind}
    if kind in ("maxpool", "minpool", "stochastic_pool"):
        layer.update(kernel=3, stride=2, ceil_mode=True)
    if kind == "adaptive_maxpool":
        layer["output_size"] = 3
    finite_difference_check((2, 7, 6), layer, max_as_sum=True, positive=True)


def test_max_pool_routes_ties_to_the_first_element():
    # all equal: the whole gradient of each window goes to its first element in row-major order (as torch's CPU
    # max_pool2d, which keeps the first maximum it meets)
    graph = graph_of((1, 4, 4), {"type": "maxpool", "kernel": 2}, batch=1)
    ex = run(graph, dtype="float64", x=np.ones((1, 1, 4, 4)), keep=True)
    g = input_gradient(graph, ex, graph.nodes[0].name, (1, 0))
    expected = np.zeros((4, 4))
    expected[2, 0] = 1  # window (1, 0) covers rows 2–3, columns 0–1; its first element is (2, 0)
    np.testing.assert_array_equal(g[0, 0], expected)


def test_relu_mask_and_input_gradient_of_one_unit():
    # conv 1→1 k3 all-ones weights, relu, conv k3: unit (2, 2) of the last layer. With a positive input every
    # mask is open and the gradient is the 5×5 box convolution [1, 2, 3, 2, 1] ⊗ [1, 2, 3, 2, 1] at inputs 2…6.
    graph = graph_of((1, 9, 9), conv(out=1), {"type": "relu"}, conv(out=1), batch=1)
    ex = run(graph, dtype="float64", x=np.ones((1, 1, 9, 9)), weights="ones", keep=True)
    g = input_gradient(graph, ex, graph.nodes[-1].name, (2, 2))
    row = np.array([1, 2, 3, 2, 1.0])
    expected = np.zeros((9, 9))
    expected[2:7, 2:7] = np.outer(row, row)
    np.testing.assert_array_equal(g[0, 0], expected)
    # a negative input closes every ReLU mask: nothing reaches the input
    ex = run(graph, dtype="float64", x=-np.ones((1, 1, 9, 9)), weights="ones", keep=True)
    assert not input_gradient(graph, ex, graph.nodes[-1].name, (2, 2)).any()


def test_input_gradient_needs_kept_values_and_a_matching_position():
    graph = graph_of((1, 5, 5), conv(out=1), batch=1)
    ex = run(graph)
    with pytest.raises(ValueError, match="keep=True"):
        input_gradient(graph, ex, graph.nodes[0].name, (1, 1))
    ex = run(graph, keep=True)
    with pytest.raises(ValueError, match="2 spatial axes"):
        input_gradient(graph, ex, graph.nodes[0].name, (1,))


# ---- a kind without a VJP ----------------------------------------------------------------------------------
def test_unknown_kind_raises_naming_it(monkeypatch):
    from convcalc.errors import SpecError

    graph = graph_of((1, 5), {"type": "relu"}, batch=1)
    ex = run(graph, keep=True)
    monkeypatch.delitem(VJPS, "relu")
    with pytest.raises(SpecError, match="`relu`"):
        input_gradient(graph, ex, graph.nodes[0].name, (2,))


# ---- the receptive-field probe's options --------------------------------------------------------------------
def test_probe_options_open_activations_gates_rescale():
    # 1-D, 2 channels of 9: conv k3 p1 → relu6 → SE (reduction 2) on top; unit 4 of 9
    graph = graph_of((2, 9), conv(out=2, padding=1, name="c"), {"type": "relu6", "name": "r"},
                     {"type": "squeeze_excitation", "name": "se", "reduction": 2}, batch=1)
    ex = run(graph, dtype="float64", x=np.ones((1, 2, 9)), weights="ones", keep=True)
    # all-ones weights: c = 6 at the interior (2 channels × 3 taps), 4 at the borders; relu6 passes nothing at 6
    assert ex.values["c"][0, 0, 4] == 6
    closed = input_gradient(graph, ex, "se", (4,))
    opened = input_gradient(graph, ex, "se", (4,), open_activations=True)
    assert np.abs(opened[0, :, 3:6]).min() > 0 and not closed[0, :, 3:6].any()
    # the SE gate spreads the gradient over every position; held constant (gates=False), only 3 … 5 remain
    spread = input_gradient(graph, ex, "se", (4,), open_activations=True)
    local = input_gradient(graph, ex, "se", (4,), open_activations=True, gates=False)
    assert np.flatnonzero(np.abs(spread[0]).sum(axis=0)).tolist() == list(range(9))
    assert np.flatnonzero(np.abs(local[0]).sum(axis=0)).tolist() == [3, 4, 5]
    # rescaling (each node's gradient divided by its largest magnitude) keeps the pattern: every term is
    # non-negative here
    scaled = input_gradient(graph, ex, "se", (4,), open_activations=True, gates=False, rescale=True)
    np.testing.assert_array_equal(scaled != 0, local != 0)


#: the cases whose kinds slide windows: they work on every tap at once over few windows, else tap by tap
WINDOW_CASES = sorted(case for case, (_, layers) in CASES.items() if layers[-1]["type"] in (
    "conv", "depthwise", "pointwise", "conv_transpose", "maxpool", "avgpool", "lppool", "locally_connected",
    "separable", "depthwise_separable", "deformable"))


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["by-tap", "at-once"])
@pytest.mark.parametrize("case", WINDOW_CASES)
def test_window_vjp_paths_equal_finite_differences(monkeypatch, case, threshold):
    # small shapes take the every-tap-at-once paths (a tap's slice under the threshold: one GEMM, one scatter);
    # threshold 0 forces the per-tap, strided and correlation paths that larger maps take; both against central
    # differences
    from convcalc.executor import base

    monkeypatch.setattr(base, "PER_TAP_MIN_ELEMENTS", threshold)
    input_shape, layers = CASES[case]
    finite_difference_check(input_shape, *layers, positive=case in POSITIVE)
