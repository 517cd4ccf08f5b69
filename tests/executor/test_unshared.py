"""The unshared kernels (convcalc/executor/unshared.py): tiled with t = 1 is the conv and with t = N_out the
locally connected layer, which uses one kernel per position."""

from __future__ import annotations

import numpy as np

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
