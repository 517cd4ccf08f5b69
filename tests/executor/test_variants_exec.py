"""The executor's kernels for the issue-4 variants: counts equal the cost model (hypothesis), definitions checked
against naive references (flattened = rank-1 filter, deformable with zero offsets = conv, tiled between conv and
locally connected), stochastic pooling by hand, and torch.nn.functional where torch has the op."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from convcalc.cost.analysis import analyze
from convcalc.errors import SpecError
from convcalc.executor import Execution, run

from .helpers import graph_of, run_layer


def reference_conv(x, w, b=None, stride=1, padding=0):
    """Naive 2-D cross-correlation (B, C, H, W) * (O, C, kh, kw), independent of every kernel under test."""
    x = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    win = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]   # (B, C, Ho, Wo, kh, kw)
    y = np.einsum("bchwij,ocij->bohw", win, w)
    return y if b is None else y + b[None, :, None, None]


def preset(name, arrays):
    """An Execution whose weights the next run reuses for layer ``name``."""
    return Execution(layers=[], output=None, input=None, weights={name: list(arrays)}, buffers={name: []})


# ---- cost model == executor -----------------------------------------------------------------------------------
def conv_fields(draw, rank):
    return {"kernel": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
            "padding": draw(st.sampled_from([0, 1, "same", "valid"])), "dilation": draw(st.integers(1, 2)),
            "bias": draw(st.booleans())}


@st.composite
def variant_layers(draw):
    rank = draw(st.integers(1, 3))
    size = draw(st.integers(4, 7 if rank < 3 else 5))
    c = draw(st.sampled_from([2, 4, 6]))
    kind = draw(st.sampled_from(["separable", "depthwise_separable", "flattened", "deformable",
                                 "locally_connected", "tiled", "channel_shuffle", "channel_slice",
                                 "squeeze_excitation", "lppool", "stochastic_pool", "pixel_shuffle",
                                 "pixel_unshuffle"]))
    out = draw(st.integers(1, 5))
    layer = {"type": kind}
    if kind in ("separable", "depthwise_separable", "flattened", "deformable", "locally_connected", "tiled"):
        layer.update(out=out, **conv_fields(draw, rank))
    if kind == "flattened":
        pass
    elif kind == "separable":
        layer["mid"] = draw(st.integers(1, 4))
    elif kind == "depthwise_separable":
        layer.update(multiplier=draw(st.integers(1, 2)), mid=draw(st.sampled_from([[], ["batchnorm", "relu"]])))
    elif kind == "deformable":
        layer.update(modulated=draw(st.booleans()), offset_groups=draw(st.sampled_from([1, 2])))
    elif kind == "locally_connected":
        layer["bias"] = draw(st.sampled_from([True, False, "channel"]))
    elif kind == "tiled":
        layer["tile"] = draw(st.integers(1, 3))
    elif kind == "channel_shuffle":
        layer["groups"] = draw(st.sampled_from([1, 2]))
    elif kind == "channel_slice":
        layer.update(start=1, stop=c)
    elif kind == "squeeze_excitation":
        layer.update(reduction=2, activation=draw(st.sampled_from(["relu", "silu", "hardswish"])))
    elif kind in ("lppool", "stochastic_pool"):
        layer.update(kernel=draw(st.integers(1, 3)), stride=draw(st.integers(1, 2)),
                     ceil_mode=draw(st.booleans()))
        layer.update({"p": draw(st.sampled_from([1, 2, 3]))} if kind == "lppool" else
                     {"mode": draw(st.sampled_from(["train", "test"]))})
    else:  # pixel shuffles
        layer["factor"] = 2
        if kind == "pixel_shuffle":
            c = 2 ** rank * c
        else:
            size = 2 * (size // 2)
    return (c, *([size] * rank)), layer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variant_layers())
def test_cost_model_equals_executor(case):
    input_shape, layer = case
    layers = [{"type": "relu"}, layer] if layer["type"] == "stochastic_pool" else [layer]
    try:
        graph = graph_of(input_shape, *layers, batch=2)
        report = analyze(graph)
    except SpecError:
        assume(False)
    ex = run(graph, seed=1, dtype="float64")
    for ours, theirs in zip(report.layers, ex.layers):
        assert tuple(ours.output_shape) == theirs.output_shape, layer
        assert (ours.params, ours.buffers, ours.macs) == (theirs.params, theirs.buffers, theirs.macs), layer


def test_variant_configs_run_with_the_cost_model_counts():
    from convcalc.cost.analysis import expand
    from convcalc.spec.loader import shipped_configs

    for name in sorted(n for n in shipped_configs() if n.startswith("variants/")):
        graph = expand(name)
        report, ex = analyze(graph), run(graph, seed=0)
        for ours, theirs in zip(report.layers, ex.layers):
            assert (tuple(ours.output_shape), ours.params, ours.buffers, ours.macs) == \
                (theirs.output_shape, theirs.params, theirs.buffers, theirs.macs), (name, ours.name)


# ---- definitions ------------------------------------------------------------------------------------------------
def test_flattened_is_a_rank_one_3d_filter():
    ex, rec, (lateral, vertical, horizontal) = run_layer(
        (3, 8, 9), {"type": "flattened", "out": 4, "kernel": [3, 2], "bias": False}, keep=True)
    # W[f, c, i, j] = lateral[f, c] · vertical[f, i] · horizontal[f, j]
    w = lateral[:, :, 0, 0][:, :, None, None] * vertical[:, 0, :, 0][:, None, :, None] \
        * horizontal[:, 0, 0, :][:, None, None, :]
    np.testing.assert_allclose(ex.output, reference_conv(ex.input, w), rtol=1e-10, atol=1e-10)
    # lateral 4·3 + vertical 4·3 + horizontal 4·2 = 32 = F(C + k_h + k_w)
    assert rec.params == 32


def test_separable_is_a_rank_one_kernel_per_channel_pair():
    ex, _, (vertical, horizontal) = run_layer((1, 7, 7), {"type": "separable", "out": 1, "kernel": 3,
                                                         "bias": False})
    w = vertical[:, :, :, 0][:, :, :, None] * horizontal[:, :, 0, :][:, :, None, :]   # the outer product V·H
    np.testing.assert_allclose(ex.output, reference_conv(ex.input, w), rtol=1e-10, atol=1e-10)


def test_depthwise_separable_matches_two_convs():
    ex, _, (dw, dw_b, pw, pw_b) = run_layer((4, 6, 6), {"type": "depthwise_separable", "out": 3, "kernel": 3,
                                                        "padding": 1})
    mid = np.concatenate([reference_conv(ex.input[:, c:c + 1], dw[c:c + 1], dw_b[c:c + 1], padding=1)
                          for c in range(4)], axis=1)
    np.testing.assert_allclose(ex.output, reference_conv(mid, pw, pw_b), rtol=1e-10, atol=1e-10)


def zero_offsets(name, weights):
    off_w, off_b, *main = weights
    return preset(name, [np.zeros_like(off_w), np.zeros_like(off_b), *main])


@pytest.mark.parametrize("modulated", [False, True])
def test_deformable_with_zero_offsets_is_the_conv(modulated):
    layer = {"type": "deformable", "out": 5, "kernel": 3, "padding": 1, "modulated": modulated}
    graph = graph_of((4, 7, 6), layer)
    first = run(graph, seed=3, dtype="float64")
    name = graph.nodes[0].name
    again = run(graph, seed=3, dtype="float64", weights=zero_offsets(name, first.weights[name]))
    *_, w, b = first.weights[name]
    # zero offsets: the taps sit on the regular grid; v2's mask is sigmoid(0) = 1/2 with zero offset weights
    scale = 0.5 if modulated else 1.0
    expected = scale * reference_conv(again.input, w, padding=1) + b[None, :, None, None]
    np.testing.assert_allclose(again.output, expected, rtol=1e-10, atol=1e-10)


def test_deformable_samples_at_integer_and_half_offsets():
    layer = {"type": "deformable", "out": 2, "kernel": 1, "bias": False}
    graph = graph_of((2, 5, 5), layer)
    name = graph.nodes[0].name
    first = run(graph, seed=0, dtype="float64")
    off_w, off_b, w = first.weights[name]
    # offsets = bias only: Δy = +1, Δx = −0.5 everywhere (channel 0 = y, channel 1 = x, torchvision's order)
    shifted = run(graph, seed=0, dtype="float64",
                  weights=preset(name, [np.zeros_like(off_w), np.array([1.0, -0.5]), w]))
    x = shifted.input
    # row i + 1 (zero past the bottom), the mean of columns j − 1 and j (column −1 reads 0)
    down = np.concatenate([x[:, :, 1:], np.zeros_like(x[:, :, :1])], axis=2)
    left = np.concatenate([np.zeros_like(down[:, :, :, :1]), down[:, :, :, :-1]], axis=3)
    sampled = 0.5 * (down + left)
    np.testing.assert_allclose(shifted.output, reference_conv(sampled, w), rtol=1e-10, atol=1e-10)


def test_tiled_t1_is_the_conv_and_t_out_is_locally_connected():
    ex, _, (w, b) = run_layer((3, 6, 6), {"type": "tiled", "out": 4, "kernel": 3, "tile": 1})
    np.testing.assert_allclose(ex.output, reference_conv(ex.input, w[0, 0], b[0, 0]), rtol=1e-10, atol=1e-10)
    tiled, _, (tw, tb) = run_layer((3, 6, 6), {"type": "tiled", "out": 4, "kernel": 3, "tile": 4})
    graph = graph_of((3, 6, 6), {"type": "locally_connected", "out": 4, "kernel": 3})
    name = graph.nodes[0].name
    lc = run(graph, seed=0, dtype="float64", x=tiled.input,
             weights=preset(name, [tw, np.ascontiguousarray(tb.transpose(2, 0, 1))]))
    np.testing.assert_allclose(lc.output, tiled.output, rtol=1e-10, atol=1e-10)


def test_locally_connected_uses_one_kernel_per_position():
    ex, rec, (w, b) = run_layer((2, 5, 5), {"type": "locally_connected", "out": 3, "kernel": 3, "stride": 2})
    x = ex.input
    for i in range(2):
        for j in range(2):
            patch = x[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
            expected = np.einsum("bcuv,ocuv->bo", patch, w[i, j]) + b[:, i, j]
            np.testing.assert_allclose(ex.output[:, :, i, j], expected, rtol=1e-10, atol=1e-10)
    assert rec.params == 2 * 2 * 3 * 2 * 9 + 3 * 4  # 4 positions · 3·2·9 + a bias per output element


def test_squeeze_excitation_by_hand():
    ex, _, (w1, b1, w2, b2) = run_layer((4, 3, 3), {"type": "squeeze_excitation", "reduction": 2})
    x = ex.input
    h = np.maximum(x.mean(axis=(2, 3)) @ w1.T + b1, 0)
    gate = 1 / (1 + np.exp(-(h @ w2.T + b2)))
    np.testing.assert_allclose(ex.output, x * gate[:, :, None, None], rtol=1e-10, atol=1e-12)


def test_channel_slice_and_shuffle():
    x = np.arange(2 * 6 * 2, dtype=np.float64).reshape(2, 6, 2)
    ex, _, _ = run_layer((6, 2), {"type": "channel_shuffle", "groups": 3}, x=x)
    # (g, C/g) = (3, 2): channel order 0, 2, 4, 1, 3, 5
    np.testing.assert_array_equal(ex.output, x[:, [0, 2, 4, 1, 3, 5]])
    ex, _, _ = run_layer((6, 2), {"type": "channel_slice", "start": 2, "stop": 5}, x=x)
    np.testing.assert_array_equal(ex.output, x[:, 2:5])


# ---- stochastic pooling ---------------------------------------------------------------------------------------
def test_stochastic_pool_test_mode_by_hand():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    ex, _, _ = run_layer((1, 2, 2), {"type": "stochastic_pool", "kernel": 2}, batch=1, x=x)
    # Σa²/Σa = (1 + 4 + 9 + 16)/10 = 3
    assert ex.output.reshape(-1).tolist() == [3.0]
    zero = run_layer((1, 2, 2), {"type": "stochastic_pool", "kernel": 2}, batch=1, x=np.zeros((1, 1, 2, 2)))[0]
    assert zero.output.reshape(-1).tolist() == [0.0]


def test_stochastic_pool_train_mode_samples_in_proportion():
    # 2,000 windows [1, 3]: the 3 is drawn with probability 3/4
    x = np.tile(np.array([1.0, 3.0]), (1, 1, 2000))
    ex, _, _ = run_layer((1, 4000), {"type": "stochastic_pool", "kernel": 2, "mode": "train"}, batch=1, x=x)
    values = ex.output.reshape(-1)
    assert set(values.tolist()) <= {1.0, 3.0}
    assert abs((values == 3.0).mean() - 0.75) < 0.04
    again, _, _ = run_layer((1, 4000), {"type": "stochastic_pool", "kernel": 2, "mode": "train"}, batch=1, x=x)
    np.testing.assert_array_equal(again.output, ex.output)  # seeded


def test_stochastic_pool_rejects_negative_input():
    with pytest.raises(SpecError, match="needs non-negative input, but the smallest value is -1"):
        run_layer((1, 4), {"type": "stochastic_pool", "kernel": 2}, batch=1, x=np.array([[[1.0, -1.0, 2, 3]]]))


# ---- torch cross-checks -------------------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def test_pixel_shuffle_and_unshuffle_match_torch():
    torch = _torch()
    ex, _, _ = run_layer((12, 3, 4), {"type": "pixel_shuffle", "factor": 2})
    np.testing.assert_array_equal(ex.output, torch.nn.functional.pixel_shuffle(torch.from_numpy(ex.input), 2))
    ex, _, _ = run_layer((3, 6, 4), {"type": "pixel_unshuffle", "factor": 2})
    np.testing.assert_array_equal(ex.output, torch.nn.functional.pixel_unshuffle(torch.from_numpy(ex.input), 2))


def test_channel_shuffle_matches_torch():
    torch = _torch()
    ex, _, _ = run_layer((12, 3, 3), {"type": "channel_shuffle", "groups": 4}, dtype="float32")
    expected = torch.nn.ChannelShuffle(4)(torch.from_numpy(ex.input))
    np.testing.assert_array_equal(ex.output, expected.numpy())


@pytest.mark.parametrize("shape, layer, fn, kwargs", [
    ((3, 8, 9), {"type": "lppool", "p": 2, "kernel": 2}, "lp_pool2d", {"kernel_size": 2}),
    ((3, 9, 7), {"type": "lppool", "p": 3, "kernel": [3, 2], "stride": [2, 1]}, "lp_pool2d",
     {"kernel_size": (3, 2), "stride": (2, 1)}),
    ((2, 11), {"type": "lppool", "p": 1, "kernel": 3, "stride": 2}, "lp_pool1d", {"kernel_size": 3, "stride": 2}),
])
def test_lppool_matches_torch(shape, layer, fn, kwargs):
    torch = _torch()
    x = np.abs(np.random.default_rng(0).standard_normal((2, *shape)))  # p = 3 of a negative sum has no real root
    ex, _, _ = run_layer(shape, layer, x=x)
    expected = getattr(torch.nn.functional, fn)(torch.from_numpy(x), layer["p"], **kwargs)
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("layer, kwargs", [
    ({"scale": 2}, {"scale_factor": 2}),
    ({"scale": 3, "align_corners": True}, {"scale_factor": 3, "align_corners": True}),
    ({"size": [7, 5]}, {"size": (7, 5)}),
    ({"size": [13, 4]}, {"size": (13, 4), "align_corners": True}),
])
def test_bicubic_matches_torch(layer, kwargs):
    torch = _torch()
    layer = {"type": "upsample", "mode": "bicubic", **layer}
    if kwargs.get("align_corners"):
        layer["align_corners"] = True
    ex, _, _ = run_layer((3, 5, 6), layer)
    kwargs.setdefault("align_corners", False)
    expected = torch.nn.functional.interpolate(torch.from_numpy(ex.input), mode="bicubic", **kwargs)
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-9, atol=1e-9)


def test_deform_conv2d_against_torchvision():
    pytest.importorskip("torchvision", reason="torchvision is not installed here (no deform_conv2d to compare)")


# ---- receptive field: the cost model's rule against the executor's actual dependence ---------------------------
RF_CASES = [
    ((2, 9, 9), {"type": "separable", "out": 2, "kernel": 3, "stride": 2, "padding": "same", "mid": 3}),
    ((2, 9, 9), {"type": "depthwise_separable", "out": 3, "kernel": [3, 5], "padding": [1, 2],
                 "mid": ["batchnorm", "relu"]}),
    ((2, 9, 9), {"type": "flattened", "out": 2, "kernel": 3, "stride": [2, 1], "padding": [1, 0]}),
    ((2, 9, 9), {"type": "locally_connected", "out": 2, "kernel": 3, "stride": 2}),
    ((2, 9, 9), {"type": "tiled", "out": 2, "kernel": 3, "padding": 1, "tile": 2}),
    ((2, 9, 9), {"type": "lppool", "p": 2, "kernel": 3, "stride": 2}),
    ((2, 9, 9), {"type": "stochastic_pool", "kernel": 2}),
    ((2, 8, 8), {"type": "pixel_unshuffle", "factor": 2}),
    ((8, 4, 4), {"type": "pixel_shuffle", "factor": 2}),
    ((2, 12), {"type": "separable", "out": 2, "kernel": 5, "padding": "same"}),
    ((2, 5, 5, 5), {"type": "flattened", "out": 2, "kernel": 3, "padding": 1}),
]


@pytest.mark.parametrize("shape, layer", RF_CASES)
def test_receptive_field_of_unit_zero_matches_the_executor(shape, layer):
    graph = graph_of(shape, layer, batch=1)
    rf = analyze(graph).layers[0].rf
    sizes = shape[1:]
    base = np.ones((1, *shape))
    reference = run(graph, dtype="float64", weights="ones", x=base).output
    unit = (slice(None), slice(None)) + (0,) * len(sizes)
    seen = []
    for position in np.ndindex(*sizes):
        x = base.copy()
        x[(slice(None), slice(None)) + position] += 1.0
        if not np.allclose(run(graph, dtype="float64", weights="ones", x=x).output[unit], reference[unit]):
            seen.append(position)
    low = [min(p[a] for p in seen) for a in range(len(sizes))]
    high = [max(p[a] for p in seen) for a in range(len(sizes))]
    expected_low = [max(int(s), 0) for s in rf.start]
    expected_high = [min(int(s) + r - 1, n - 1) for s, r, n in zip(rf.start, rf.size, sizes)]
    assert (low, high) == (expected_low, expected_high), (rf, seen)


def test_depthwise_separable_separable_and_se_match_torch():
    torch = _torch()
    F = torch.nn.functional
    t = torch.from_numpy
    ex, _, (dw, dw_b, pw, pw_b) = run_layer((4, 7, 7), {"type": "depthwise_separable", "out": 6, "kernel": 3,
                                                        "stride": 2, "padding": 1, "multiplier": 2})
    expected = F.conv2d(F.conv2d(t(ex.input), t(dw), t(dw_b), stride=2, padding=1, groups=4), t(pw), t(pw_b))
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-10, atol=1e-10)
    ex, _, (v, v_b, h, h_b) = run_layer((3, 8, 6), {"type": "separable", "out": 5, "kernel": [3, 2], "mid": 4,
                                                    "padding": [1, 0]})
    expected = F.conv2d(F.conv2d(t(ex.input), t(v), t(v_b), padding=(1, 0)), t(h), t(h_b))
    np.testing.assert_allclose(ex.output, expected.numpy(), rtol=1e-10, atol=1e-10)
    ex, _, (w1, b1, w2, b2) = run_layer((8, 5, 5), {"type": "squeeze_excitation", "squeeze": 3,
                                                    "activation": "silu"})
    x = t(ex.input)
    gate = torch.sigmoid(F.linear(F.silu(F.linear(x.mean(dim=(2, 3)), t(w1), t(b1))), t(w2), t(b2)))
    np.testing.assert_allclose(ex.output, (x * gate[:, :, None, None]).numpy(), rtol=1e-10, atol=1e-10)


def naive_bilinear(img, y, x):
    """torchvision's bilinear_interpolate on one (H, W) map: corners outside the map read 0."""
    h, w = img.shape
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    total = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                total += wy * wx * img[yy, xx]
    return total


@pytest.mark.parametrize("modulated, offset_groups, stride, dilation", [(False, 1, 1, 1), (True, 2, 2, 1),
                                                                       (True, 1, 1, 2)])
def test_deformable_against_naive_loops(modulated, offset_groups, stride, dilation):
    layer = {"type": "deformable", "out": 3, "kernel": 3, "padding": 1, "stride": stride, "dilation": dilation,
             "modulated": modulated, "offset_groups": offset_groups}
    ex, _, (off_w, off_b, w, b) = run_layer((4, 6, 5), layer, batch=1)
    x = ex.input[0]
    c, hh, ww = x.shape
    # the offset conv (zero padding 1), then sampling at base + Δ, then the main conv
    off = reference_conv(ex.input, off_w, off_b, stride=stride, padding=1)[0] if dilation == 1 else None
    if off is None:  # dilated offset conv: taps 2 apart
        xp = np.pad(x, [(0, 0), (1, 1), (1, 1)])
        oh, ow = ex.output.shape[2:]
        off = np.zeros((off_w.shape[0], oh, ow))
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, i * stride:i * stride + 5:2, j * stride:j * stride + 5:2]
                off[:, i, j] = np.einsum("cuv,ocuv->o", patch, off_w) + off_b
    oh, ow = ex.output.shape[2:]
    g_channels = c // offset_groups
    expected = np.zeros((3, oh, ow))
    for i in range(oh):
        for j in range(ow):
            for o in range(3):
                total = b[o]
                for ci in range(c):
                    g = ci // g_channels
                    for t, (u, v) in enumerate(np.ndindex(3, 3)):
                        dy = off[g * 18 + 2 * t, i, j]
                        dx = off[g * 18 + 2 * t + 1, i, j]
                        value = naive_bilinear(x[ci], i * stride - 1 + u * dilation + dy,
                                               j * stride - 1 + v * dilation + dx)
                        if modulated:
                            value *= 1 / (1 + np.exp(-off[offset_groups * 18 + g * 9 + t, i, j]))
                        total += w[o, ci, u, v] * value
                expected[o, i, j] = total
    np.testing.assert_allclose(ex.output[0], expected, rtol=1e-9, atol=1e-9)


def test_lppool_partial_ceil_window_sums_what_is_inside():
    # five ones, p = 1, window 2, stride 2, ceil_mode: windows [1, 1], [1, 1], [1] → 2, 2, 1
    # (PyTorch's lp_pool1d scales the partial window to 2; see convcalc/layers/pool.py)
    ex, _, _ = run_layer((1, 5), {"type": "lppool", "p": 1, "kernel": 2, "ceil_mode": True}, batch=1,
                         x=np.ones((1, 1, 5)))
    assert ex.output.reshape(-1).tolist() == [2.0, 2.0, 1.0]
