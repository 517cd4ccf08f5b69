"""The fast executor kernels against naive loop implementations written straight from the definitions.

Each reference below loops over every output position and every kernel tap (numpy-ml's ``conv2D_naive`` style),
so it shares nothing with the vectorised kernels (im2col, col2im scatter, separable window reductions).
Shapes are small and runs are float64, so the results must agree to rounding.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from .helpers import run_layer


# ---- naive references -----------------------------------------------------------------------------------------
def naive_conv(x, w, b, stride, dilation, pads, groups):
    """y[b, o, n] = bias[o] + Σ_{c, t} w[o, c, t] · x[b, g·C_in/g + c, n·s + t·d − p_before] (zero outside)."""
    batch, c_in, *sizes = x.shape
    c_out, c_group, *kernel = w.shape
    out_sizes = [(n + pb + pa - (d * (k - 1) + 1)) // s + 1
                 for n, (pb, pa), k, s, d in zip(sizes, pads, kernel, stride, dilation)]
    y = np.zeros((batch, c_out, *out_sizes))
    o_group = c_out // groups
    for bi, o in product(range(batch), range(c_out)):
        g = o // o_group
        for pos in product(*map(range, out_sizes)):
            acc = b[o] if b is not None else 0.0
            for c in range(c_group):
                for tap in product(*map(range, kernel)):
                    idx = [p * s + t * d - pb for p, s, t, d, (pb, _) in zip(pos, stride, tap, dilation, pads)]
                    if all(0 <= i < n for i, n in zip(idx, sizes)):
                        acc += w[(o, c, *tap)] * x[(bi, g * c_group + c, *idx)]
            y[(bi, o, *pos)] = acc
    return y


def naive_conv_transpose(x, w, b, stride, dilation, pads, out_pad, groups):
    """Each x[b, c, i] adds w[c, o, t]·x to the output position i·s + t·d − p_before, if inside the output of
    length (N − 1)·s + d·(k − 1) + 1 − p_before − p_after + output_padding."""
    batch, c_in, *sizes = x.shape
    _, o_group, *kernel = w.shape
    c_out, c_group = o_group * groups, c_in // groups
    out_sizes = [(n - 1) * s + d * (k - 1) + 1 - pb - pa + op
                 for n, s, d, k, (pb, pa), op in zip(sizes, stride, dilation, kernel, pads, out_pad)]
    y = np.zeros((batch, c_out, *out_sizes))
    for bi, c in product(range(batch), range(c_in)):
        g = c // c_group
        for pos in product(*map(range, sizes)):
            for o in range(o_group):
                for tap in product(*map(range, kernel)):
                    idx = [p * s + t * d - pb for p, s, t, d, (pb, _) in zip(pos, stride, tap, dilation, pads)]
                    if all(0 <= i < n for i, n in zip(idx, out_sizes)):
                        y[(bi, g * o_group + o, *idx)] += w[(c, o, *tap)] * x[(bi, c, *pos)]
    if b is not None:
        y += b.reshape(c_out, *([1] * len(sizes)))
    return y


def _pool_count(n, k_eff, s, p, ceil_mode):
    """PyTorch's pooling output length (docs of MaxPool2d), with its rule that the last window must start
    inside the input or the left padding."""
    span = n + 2 * p - k_eff
    count = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (count - 1) * s >= n + p:
        count -= 1
    return count


def naive_pool(x, op, kernel, stride, padding, dilation=None, ceil_mode=False, count_include_pad=True):
    """Max/min/avg pooling as PyTorch's CPU loops: window start o·s − p, taps start + t·d inside the input;
    avg divides by (min(start + k, N + p) − start) per axis, or by the real taps without count_include_pad."""
    batch, channels, *sizes = x.shape
    dilation = dilation or [1] * len(sizes)
    out_sizes = [_pool_count(n, d * (k - 1) + 1, s, p, ceil_mode)
                 for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation)]
    y = np.zeros((batch, channels, *out_sizes))
    for bi, c in product(range(batch), range(channels)):
        for pos in product(*map(range, out_sizes)):
            values, divisor = [], 1
            for o, n, k, s, p in zip(pos, sizes, kernel, stride, padding):
                start = o * s - p
                end = min(start + k, n + p)
                divisor *= (end - start) if count_include_pad else (min(end, n) - max(start, 0))
            for tap in product(*map(range, kernel)):
                idx = [o * s - p + t * d for o, s, p, t, d in zip(pos, stride, padding, tap, dilation)]
                if all(0 <= i < n for i, n in zip(idx, sizes)):
                    values.append(x[(bi, c, *idx)])
            if op == "max":
                y[(bi, c, *pos)] = max(values)
            elif op == "min":
                y[(bi, c, *pos)] = min(values)
            elif op == "sum":
                y[(bi, c, *pos)] = sum(values)
            else:
                y[(bi, c, *pos)] = sum(values) / divisor
    return y


def naive_adaptive(x, op, out_sizes):
    """Output i of O over N reduces [floor(i·N/O), ceil((i+1)·N/O)) on every axis."""
    batch, channels, *sizes = x.shape
    y = np.zeros((batch, channels, *out_sizes))
    for bi, c in product(range(batch), range(channels)):
        for pos in product(*map(range, out_sizes)):
            box = tuple(slice((i * n) // o, -((-(i + 1) * n) // o)) for i, n, o in zip(pos, sizes, out_sizes))
            window = x[(bi, c) + box]
            y[(bi, c, *pos)] = window.max() if op == "max" else window.mean()
    return y


def close(a, b):
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# ---- convolution ---------------------------------------------------------------------------------------------
CONV_CASES = [
    # (input (C, *N), layer, explicit (before, after) pads per axis, groups)
    ((3, 11), {"type": "conv", "out": 4, "kernel": 3}, [(0, 0)], 1),
    ((4, 13), {"type": "conv", "out": 6, "kernel": 3, "stride": 2, "dilation": 2, "padding": [[2, 1]],
               "groups": 2}, [(2, 1)], 2),
    ((4, 7, 8), {"type": "conv", "out": 6, "kernel": [3, 2], "stride": [2, 1], "padding": [[1, 0], [0, 2]],
                 "groups": 2, "bias": False}, [(1, 0), (0, 2)], 2),
    ((2, 9, 10), {"type": "conv", "out": 3, "kernel": 3, "stride": 2, "padding": "same"},
     [(1, 1), (0, 1)], 1),  # same: ceil(9/2)=5 → total (5−1)·2+3−9 = 2 → (1,1); ceil(10/2)=5 → 1 → (0,1)
    ((2, 5, 6), {"type": "conv", "out": 2, "kernel": 3, "dilation": [1, 2], "padding": "full"},
     [(2, 2), (4, 4)], 1),  # full: k_eff − 1 = 2 and 4
    ((4, 8, 8), {"type": "depthwise", "kernel": 3, "multiplier": 2, "stride": 2, "padding": 1},
     [(1, 1), (1, 1)], 4),
    ((6, 5, 7), {"type": "pointwise", "out": 4, "groups": 2, "stride": [1, 2]}, [(0, 0), (0, 0)], 2),
    ((4, 4, 5, 6), {"type": "conv", "out": 4, "kernel": [2, 3, 2], "stride": [1, 2, 2], "dilation": [2, 1, 1],
                    "padding": [1, [0, 1], [1, 0]], "groups": 2}, [(1, 1), (0, 1), (1, 0)], 2),
    ((3, 4, 4, 4), {"type": "depthwise", "kernel": 3, "padding": "same"}, [(1, 1)] * 3, 3),
]


@pytest.mark.parametrize("shape, layer, pads, groups", CONV_CASES)
def test_conv_matches_naive_loops(shape, layer, pads, groups):
    ex, record, weights = run_layer(shape, layer)
    w, b = weights[0], (weights[1] if len(weights) > 1 else None)
    rank = len(shape) - 1
    stride = _axes(layer.get("stride", 1), rank)
    dilation = _axes(layer.get("dilation", 1), rank)
    close(ex.output, naive_conv(ex.input, w, b, stride, dilation, pads, groups))


def _axes(value, rank):
    return list(value) if isinstance(value, list) else [value] * rank


TRANSPOSE_CASES = [
    # (input, layer, crop pairs, output_padding, groups)
    ((3, 5), {"type": "conv_transpose", "out": 2, "kernel": 3, "stride": 2}, [(0, 0)], [0], 1),
    ((4, 6), {"type": "conv_transpose", "out": 6, "kernel": 4, "stride": 3, "padding": [[2, 1]],
              "output_padding": 2, "groups": 2, "dilation": 1}, [(2, 1)], [2], 2),
    ((4, 4, 5), {"type": "conv_transpose", "out": 2, "kernel": [4, 3], "stride": 2, "padding": 1,
                 "output_padding": [1, 0], "groups": 2, "dilation": [1, 2]}, [(1, 1), (1, 1)], [1, 0], 2),
    ((2, 4, 4), {"type": "conv_transpose", "out": 3, "kernel": 3, "stride": 2, "padding": "same"},
     [(0, 1), (0, 1)], [0, 0], 1),  # same crops k − s = 1, the odd unit after → output 8 = 4·2
    ((2, 3, 3, 4), {"type": "conv_transpose", "out": 2, "kernel": 2, "stride": [2, 1, 2], "padding": [0, 1, 0],
                    "output_padding": [1, 0, 0], "bias": False}, [(0, 0), (1, 1), (0, 0)], [1, 0, 0], 1),
]


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["by-tap", "at-once"])
@pytest.mark.parametrize("shape, layer, pads, out_pad, groups", TRANSPOSE_CASES)
def test_conv_transpose_matches_naive_scatter(monkeypatch, threshold, shape, layer, pads, out_pad, groups):
    # the col2im scatter tap by tap (threshold 0, as larger maps do) or every tap at once (few input positions)
    from convcalc.executor import base

    monkeypatch.setattr(base, "PER_TAP_MIN_ELEMENTS", threshold)
    ex, record, weights = run_layer(shape, layer)
    w, b = weights[0], (weights[1] if len(weights) > 1 else None)
    rank = len(shape) - 1
    expected = naive_conv_transpose(ex.input, w, b, _axes(layer.get("stride", 1), rank),
                                    _axes(layer.get("dilation", 1), rank), pads, out_pad, groups)
    close(ex.output, expected)


# ---- pooling -------------------------------------------------------------------------------------------------
POOL_CASES = [
    ((2, 9), {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1}),
    ((2, 5), {"type": "maxpool", "kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True}),  # 3 windows
    ((2, 8, 9), {"type": "maxpool", "kernel": [3, 2], "stride": [2, 3], "padding": [1, 1], "dilation": [2, 1],
                 "ceil_mode": True}),
    ((2, 7, 6), {"type": "minpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((2, 7, 6), {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((2, 7, 6), {"type": "avgpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                 "count_include_pad": False}),
    ((2, 6, 5), {"type": "avgpool", "kernel": [2, 3], "stride": 2, "padding": [1, 1], "count_include_pad": False}),
    ((2, 5, 6, 7), {"type": "avgpool", "kernel": [2, 3, 3], "stride": [2, 2, 3], "padding": [1, 1, 0],
                    "ceil_mode": True}),
    ((2, 5, 6, 7), {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "dilation": [1, 2, 1]}),
]


@pytest.mark.parametrize("shape, layer", POOL_CASES)
def test_window_pool_matches_naive_loops(shape, layer):
    ex, record, _ = run_layer(shape, layer)
    rank = len(shape) - 1
    kernel = _axes(layer["kernel"], rank)
    op = {"maxpool": "max", "minpool": "min", "avgpool": "avg"}[layer["type"]]
    expected = naive_pool(ex.input, op, kernel, _axes(layer.get("stride", layer["kernel"]), rank),
                          _axes(layer.get("padding", 0), rank), _axes(layer.get("dilation", 1), rank),
                          layer.get("ceil_mode", False), layer.get("count_include_pad", True))
    close(ex.output, expected)


def test_max_as_sum_sums_the_real_taps():
    layer = {"type": "maxpool", "kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    ex, _, _ = run_layer((2, 7, 8), layer, max_as_sum=True)
    close(ex.output, naive_pool(ex.input, "sum", [3, 3], [2, 2], [1, 1], ceil_mode=True))


@pytest.mark.parametrize("shape, out", [((2, 10), [4]), ((3, 7, 5), [3, 2]), ((2, 5, 9), [5, 9]),
                                        ((2, 4, 5, 6), [2, 3, 4]), ((2, 6, 6), [1, 1])])
@pytest.mark.parametrize("op", ["max", "avg"])
def test_adaptive_pool_matches_naive_windows(shape, out, op):
    ex, _, _ = run_layer(shape, {"type": f"adaptive_{op}pool", "output_size": out})
    close(ex.output, naive_adaptive(ex.input, op, out))


@pytest.mark.parametrize("shape, layer, pads, groups", [CONV_CASES[2], CONV_CASES[4], CONV_CASES[7]])
def test_conv_in_bands_of_rows_matches_naive_loops(monkeypatch, shape, layer, pads, groups):
    # a tiny im2col limit forces the banded path (the workspace bound for large inputs) on small shapes
    from convcalc.executor import conv

    monkeypatch.setattr(conv, "IM2COL_LIMIT_BYTES", 200)
    ex, record, weights = run_layer(shape, layer)
    w, b = weights[0], (weights[1] if len(weights) > 1 else None)
    rank = len(shape) - 1
    stride, dilation = _axes(layer.get("stride", 1), rank), _axes(layer.get("dilation", 1), rank)
    close(ex.output, naive_conv(ex.input, w, b, stride, dilation, pads, groups))
    monkeypatch.undo()
    assert run_layer(shape, layer)[1].macs == record.macs


@pytest.mark.parametrize("threshold", [0, 10**9], ids=["per-tap", "im2col"])
@pytest.mark.parametrize("shape, layer, pads, groups, macs", [
    # depthwise 3×3, multiplier 2, stride 2, padding 1 on 3×9×9, batch 2: 6 outputs · 5·5 positions · 9 taps · 2
    ((3, 9, 9), {"type": "depthwise", "kernel": 3, "stride": 2, "padding": 1, "multiplier": 2}, [(1, 1)] * 2, 3,
     2_700),
    # one input channel, a 5×5 kernel on 5×5: one position; 4 outputs · 25 taps · 2 samples
    ((1, 5, 5), {"type": "conv", "out": 4, "kernel": 5}, [(0, 0)] * 2, 1, 200),
    # 1-D depthwise, kernel 3 at dilation 2 on 11: 7 positions; 2 channels · 7 · 3 taps · 2 samples
    ((2, 11), {"type": "depthwise", "kernel": 3, "dilation": 2}, [(0, 0)], 2, 84),
])
def test_depthwise_like_taps_and_columns_match_naive_loops(monkeypatch, threshold, shape, layer, pads, groups,
                                                           macs):
    # a conv with one input channel per group runs a weighted sum per tap, or one im2col GEMM when a tap's slice
    # of the input is below the threshold (and the columns are small): both agree with the loops, forward and in
    # the weight gradient, with the same multiply-accumulates
    from convcalc.executor import base
    from convcalc.executor.backward.train import train_step_counts

    from .helpers import graph_of

    monkeypatch.setattr(base, "PER_TAP_MIN_ELEMENTS", threshold)
    graph = graph_of(shape, layer)
    ex, record, (w, b) = run_layer(shape, layer, keep=True)
    rank = len(shape) - 1
    stride, dilation = _axes(layer.get("stride", 1), rank), _axes(layer.get("dilation", 1), rank)
    close(ex.output, naive_conv(ex.input, w, b, stride, dilation, pads, groups))
    assert record.macs == macs
    step = train_step_counts(graph, ex, seed=3)
    assert step.layers[graph.nodes[0].name].dw_macs == macs
    # gw[o, 0, t] = Σ_{b, n} gy[b, o, n] · x[b, g(o), n·s + t·d − p]: the gradient of ⟨y, gy⟩ is ⟨y(w'), gy⟩'s
    # coefficient of w'[o, 0, t], read off the naive conv with one-hot weights
    gy = np.random.default_rng(3).standard_normal(ex.output.shape)
    expected = np.zeros(w.shape)
    for index in np.ndindex(*w.shape):
        one_hot = np.zeros(w.shape)
        one_hot[index] = 1.0
        expected[index] = (naive_conv(ex.input, one_hot, None, stride, dilation, pads, groups) * gy).sum()
    close(step.weight_grads[graph.nodes[0].name][0], expected)
