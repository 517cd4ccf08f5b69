"""The unshared kernels (convcalc/executor/unshared.py): tiled with t = 1 is the conv and with t = N_out the
locally connected layer, which uses one kernel per position."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.executor import run

from .helpers import graph_of, preset, reference_conv, run_layer


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


def _tiled_by_definition(x, w, b, gy, tiles, stride, dilation, pad, groups):
    """A tiled conv and its three gradients, one output position at a time: position o uses kernel o mod t per axis
    (zero padding ``pad`` per axis on both sides)."""
    rank = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    c_out, c_group, kernel = w.shape[rank], w.shape[rank + 1], w.shape[rank + 2:]
    o_group = c_out // groups
    out_sizes = gy.shape[2:]
    y, gxp = np.zeros(gy.shape), np.zeros(xp.shape)
    gw, gb = np.zeros(w.shape), np.zeros(b.shape)
    for o in np.ndindex(*out_sizes):
        tile = tuple(n % t for n, t in zip(o, tiles))
        window = tuple(slice(n * s, n * s + d * (k - 1) + 1, d) for n, s, d, k in zip(o, stride, dilation, kernel))
        for co in range(c_out):
            channels = slice(co // o_group * c_group, (co // o_group + 1) * c_group)
            for batch in range(x.shape[0]):
                patch = xp[(batch, channels) + window]
                y[(batch, co) + o] = (w[tile + (co,)] * patch).sum() + b[tile + (co,)]
                g = gy[(batch, co) + o]
                gxp[(batch, channels) + window] += g * w[tile + (co,)]
                gw[tile + (co,)] += g * patch
                gb[tile + (co,)] += g
    return y, gxp[(Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(pad, x.shape[2:]))], gw, gb


@pytest.mark.parametrize("input_shape, layer", [
    # 5 outputs, t = 3: tiles 0 and 1 hold 2 positions, tile 2 one (the remainder row)
    ((4, 11), {"out": 6, "kernel": 3, "stride": 2, "tile": 3, "groups": 2}),
    ((2, 7, 9), {"out": 4, "kernel": 2, "dilation": 2, "padding": 1, "tile": [2, 4], "groups": 2}),
    ((2, 5, 4, 6), {"out": 2, "kernel": 2, "tile": [3, 2, 4]}),
    ((3, 6, 5), {"out": 2, "kernel": 3, "padding": 1, "tile": [6, 5]}),   # a kernel per position
    ((3, 6, 5), {"out": 2, "kernel": 3, "padding": 1, "tile": 1}),        # the conv
])
def test_tiled_forward_and_gradients_equal_the_definition(input_shape, layer):
    from convcalc.executor.backward.base import VJPS, WEIGHT_GRADS, GradContext

    ex, record, (w, b) = run_layer(input_shape, {"type": "tiled", **layer}, keep=True)
    graph = graph_of(input_shape, {"type": "tiled", **layer})
    node, rank = graph.nodes[0], len(input_shape) - 1

    def per_axis(key, default):
        value = layer.get(key, default)
        return tuple(value) if isinstance(value, list) else (value,) * rank

    gy = np.random.default_rng(5).standard_normal(ex.output.shape)
    y, gx, gw, gb = _tiled_by_definition(ex.input, w, b, gy, w.shape[:rank], per_axis("stride", 1),
                                         per_axis("dilation", 1), per_axis("padding", 0), layer.get("groups", 1))
    np.testing.assert_allclose(ex.output, y, rtol=1e-10, atol=1e-10)
    ctx = GradContext(node, gy.dtype, [w, b], (), counting=True)
    np.testing.assert_allclose(VJPS["tiled"](ctx, node, [ex.input], ex.output, gy)[0], gx, rtol=1e-10, atol=1e-10)
    wctx = GradContext(node, gy.dtype, [w, b], (), counting=True)
    ours_w, ours_b = WEIGHT_GRADS["tiled"](wctx, node, [ex.input], ex.output, gy)
    np.testing.assert_allclose(ours_w, gw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours_b, gb, rtol=1e-10, atol=1e-10)
    # every pass does the conv's MACs: C_out · positions · C_in/g · Πk per sample, whatever the tiles
    assert ctx.mac_count == wctx.mac_count == record.macs
