"""VJPs of the convolutions: conv / depthwise / pointwise (input gradient = a transposed convolution of the output
gradient: one GEMM ``Wᵀ · gy`` then a col2im scatter-add, one strided add per kernel tap) and conv_transpose
(input gradient = a forward convolution of the output gradient, the executor's own im2col GEMM)."""

from __future__ import annotations

from math import prod

import numpy as np

from ..conv import _conv_geometry, _transpose_geometry, conv_nd
from .base import GradContext, crop, taps_of, vjp, window_index

#: GEMM outputs (the columns before col2im) larger than this are computed a few samples at a time
COLUMNS_LIMIT_BYTES = 256 * 2**20


def conv_input_grad(gy: np.ndarray, w: np.ndarray, sizes, stride, dilation, pads, groups: int) -> np.ndarray:
    """Gradient w.r.t. ``x (B, C_in, *sizes)`` of the cross-correlation ``y = conv(pad(x, pads), w)``
    (``w (C_out, C_in/g, *k)``), given ``gy (B, C_out, *N_out)``.

    ``gx_pad[b, c, n·s + t·d] += Σ_o w[o, c, t] · gy[b, o, n]``: per group one GEMM ``Wᵀ (Πk·C_in/g × C_out/g)
    @ gy (C_out/g × ΠN_out)``, rows ordered tap-major so each tap's block is contiguous, then one strided add per
    tap into the padded input gradient, cropped at the end. Depthwise-like groups (one input channel each) skip
    the GEMM: one weighted sum per tap.
    """
    batch, c_out, *out_sizes = gy.shape
    _, c_group, *kernel_size = w.shape
    rank, taps, positions = len(kernel_size), prod(kernel_size), prod(out_sizes)
    c_in, o_group = c_group * groups, c_out // groups
    plain = taps == 1 and all(s == 1 for s in stride) and not any(b or a for b, a in pads) \
        and tuple(out_sizes) == tuple(sizes)
    wt = w.reshape(groups, o_group, c_group, taps).transpose(0, 3, 2, 1).reshape(groups, taps * c_group, o_group)
    if plain:  # 1×1, stride 1, no padding: a GEMM and nothing to scatter
        gx = np.matmul(wt, gy.reshape(batch, groups, o_group, positions))
        return gx.reshape(batch, c_in, *sizes)
    padded = [n + b + a for n, (b, a) in zip(sizes, pads)]
    gxp = np.zeros((batch, c_in, *padded), dtype=gy.dtype)
    if c_group == 1 and taps > 1:
        g = gy.reshape(batch, groups, o_group, *out_sizes)
        wd = w.reshape(groups, o_group, taps)
        for index, offsets in enumerate(taps_of(kernel_size)):
            wk = wd[:, :, index].reshape(groups, o_group, *([1] * rank))
            part = (g * wk).sum(axis=2) if o_group > 1 else g[:, :, 0] * wk[:, 0]
            gxp[window_index(offsets, dilation, out_sizes, stride)] += part
        return crop(gxp, pads, sizes)
    per_sample = taps * c_in * positions * gy.itemsize
    chunk = max(1, min(batch, COLUMNS_LIMIT_BYTES // max(per_sample, 1)))
    for b0 in range(0, batch, chunk):
        g = gy[b0:b0 + chunk].reshape(-1, groups, o_group, positions)
        cols = np.matmul(wt, g)                                              # (b, g, Πk·C_in/g, ΠN_out)
        cols = cols.reshape(g.shape[0], groups, taps, c_group, *out_sizes)
        target = gxp[b0:b0 + chunk]
        for index, offsets in enumerate(taps_of(kernel_size)):
            part = cols[:, :, index].reshape(g.shape[0], c_in, *out_sizes)
            target[window_index(offsets, dilation, out_sizes, stride)] += part
    return crop(gxp, pads, sizes)


@vjp("conv", "depthwise", "pointwise")
def conv(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    _, _, groups, _, stride, dilation, pads, _ = _conv_geometry(ctx, node, x)
    return [conv_input_grad(gy, ctx.weights[0], x.shape[2:], stride, dilation, pads, groups)]


@vjp("conv_transpose")
def conv_transpose(ctx: GradContext, node, xs, y, gy):
    """The transposed conv scatters input position i's tap t to the uncropped i·s + t·d; its input gradient
    gathers there: a forward cross-correlation of gy, padded back to the uncropped map (crops before and after),
    with the same weight ``(C_in, C_out/g, *k)`` read as ``(C_out', C_in'/g, *k)``."""
    x = xs[0]
    _, _, groups, _, stride, dilation, crops, _, _ = _transpose_geometry(ctx, node, x)
    return [conv_nd(ctx, gy, ctx.weights[0], None, stride, dilation, crops, x.shape[2:], groups)]
