"""The deformable kernel (convcalc/executor/deformable.py): zero offsets give the conv, integer and half offsets
sample where they should, and naive loops (torchvision's bilinear_interpolate) agree."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.executor import run

from .helpers import graph_of, preset, reference_conv, run_layer


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


def test_deform_conv2d_against_torchvision():
    pytest.importorskip("torchvision", reason="torchvision is not installed here (no deform_conv2d to compare)")


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
