"""`order` of pixel_shuffle / pixel_unshuffle: `crd` is torch's channel order, `dcr` ONNX DepthToSpace's default
mode DCR and SpaceToDepth's. The references below are the ONNX operator definitions written out with NumPy
(https://onnx.ai/onnx/operators/onnx__DepthToSpace.html, onnx/reference/ops/op_space_to_depth.py)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import convcalc
from convcalc.cost.analysis import expand
from convcalc.executor import run

from spec_helpers import analyze_layers


def onnx_depth_to_space(x, r, mode):
    b, c, h, w = x.shape
    if mode == "DCR":
        tmp = np.reshape(x, [b, r, r, c // r ** 2, h, w])
        tmp = np.transpose(tmp, [0, 3, 4, 1, 5, 2])
    else:
        tmp = np.reshape(x, [b, c // r ** 2, r, r, h, w])
        tmp = np.transpose(tmp, [0, 1, 4, 2, 5, 3])
    return np.reshape(tmp, [b, c // r ** 2, h * r, w * r])


def onnx_space_to_depth(x, r):
    b, c, h, w = x.shape
    tmp = np.reshape(x, [b, c, h // r, r, w // r, r])
    tmp = np.transpose(tmp, [0, 3, 5, 1, 2, 4])
    return np.reshape(tmp, [b, c * r * r, h // r, w // r])


def executed(kind, shape, **fields):
    graph = expand(convcalc.load({"input": list(shape), "layers": [{"type": kind, "factor": 2, **fields}]}))
    x = np.arange(float(np.prod(shape))).reshape(1, *shape)
    return x, run(graph, x=x, dtype="float64").output


@pytest.mark.parametrize("order, mode", [("crd", "CRD"), ("dcr", "DCR")])
def test_pixel_shuffle_orders_are_onnx_depth_to_space(order, mode):
    x, y = executed("pixel_shuffle", (8, 2, 3), order=order)
    np.testing.assert_array_equal(y, onnx_depth_to_space(x, 2, mode))


def test_dcr_reads_the_phase_first():
    # (8, 1, 1), r = 2, C = 2: output channel 1 at (0, 1) is phase (i, j) = (0, 1): DCR reads input channel
    # (0·2 + 1)·2 + 1 = 3, CRD reads 1·4 + 0·2 + 1 = 5 (the channel index equals the value here)
    _, dcr = executed("pixel_shuffle", (8, 1, 1), order="dcr")
    _, crd = executed("pixel_shuffle", (8, 1, 1))
    assert dcr[0, 1, 0, 1] == 3 and crd[0, 1, 0, 1] == 5


def test_pixel_unshuffle_dcr_is_onnx_space_to_depth():
    x, y = executed("pixel_unshuffle", (2, 4, 6), order="dcr")
    np.testing.assert_array_equal(y, onnx_space_to_depth(x, 2))


def test_the_order_changes_no_count():
    for order in ("crd", "dcr"):
        row = analyze_layers((27, 32, 32), {"type": "pixel_shuffle", "factor": 3, "order": order}).layers[0]
        # 27 / 3² = 3 channels at 96×96; the jump divides by 3
        assert row.output_shape == [3, 96, 96] and (row.params, row.macs, row.flops) == (0, 0, 0)
        assert row.rf.jump == [Fraction(1, 3), Fraction(1, 3)]
