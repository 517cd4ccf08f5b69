"""VJPs of the pools: window max/min/avg, global and adaptive pools.

* max / min pooling routes each window's gradient to ONE element, the first extreme in row-major tap order (as
  PyTorch's CPU max_pool, which keeps the first maximum it meets); padding never wins (it is ∓inf);
* with ``max_as_sum`` (the receptive-field probe) max/min pooling was a window sum, so every tap gets the gradient;
* average pooling spreads ``gy / divisor`` over the window (the divisor re-derived as in the forward:
  the window clipped to the padded input, or to the real input without ``count_include_pad``);
* adaptive average (and summed) pooling is separable: per axis a small (O × N) matrix, applied transposed;
  adaptive / global max pooling routes to the first extreme of each window.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from ..base import pad, per_axis
from ..pool import _window_geometry, adaptive_windows, avg_divisor
from .base import GradContext, crop, taps_of, vjp, window_index


@vjp("maxpool", "minpool", "avgpool")
def window_pool(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    kernel_size, stride, dilation, padding, pads, out_sizes = _window_geometry(ctx, node, x)
    sizes = x.shape[2:]
    gxp = np.zeros((*x.shape[:2], *(n + b + a for n, (b, a) in zip(sizes, pads))), dtype=gy.dtype)
    if node.kind == "avgpool" or ctx.max_as_sum:
        g = gy
        if node.kind == "avgpool":
            g = gy / avg_divisor(sizes, kernel_size, stride, padding, out_sizes,
                                 node.fields.get("count_include_pad", True), gy.ndim, gy.dtype)
        for offsets in taps_of(kernel_size):
            gxp[window_index(offsets, dilation, out_sizes, stride)] += g
        return [crop(gxp, pads, sizes)]
    # y is each window's extreme (exactly one of its elements): the first tap equal to it takes the gradient
    xp = pad(x, pads, -np.inf if node.kind == "maxpool" else np.inf)
    taken = np.zeros(y.shape, dtype=bool)
    for offsets in taps_of(kernel_size):
        index = window_index(offsets, dilation, out_sizes, stride)
        hit = xp[index] == y
        hit &= ~taken
        taken |= hit
        gxp[index] += gy * hit
    return [crop(gxp, pads, sizes)]


def _route_first_extreme(x_window: np.ndarray, g: np.ndarray, maximum: bool) -> np.ndarray:
    """Gradient of ``max`` (or ``min``) over the flattened trailing axes of ``x_window (B, C, …)``: ``g (B, C)``
    at the first extreme, zero elsewhere."""
    batch, channels = x_window.shape[:2]
    flat = x_window.reshape(batch, channels, -1)
    where = flat.argmax(axis=2) if maximum else flat.argmin(axis=2)
    out = np.zeros_like(flat)
    np.put_along_axis(out, where[:, :, None], g.reshape(batch, channels, 1), axis=2)
    return out.reshape(x_window.shape)


@vjp("global_avgpool", "global_maxpool")
def global_pool(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    sizes = x.shape[2:]
    g = gy.reshape(x.shape[:2] + (1,) * len(sizes))
    if node.kind == "global_avgpool":
        return [np.broadcast_to(g / gy.dtype.type(np.prod(sizes)), x.shape).copy()]
    if ctx.max_as_sum:
        return [np.broadcast_to(g, x.shape).copy()]
    return [_route_first_extreme(x, g.reshape(x.shape[:2]), True)]


def apply_transposed(g: np.ndarray, matrix: np.ndarray, ax: int) -> np.ndarray:
    """``g`` with axis ``ax`` (size O) mapped through ``matrixᵀ`` (matrix O × N): the VJP of ``y = matrix @ x``
    along that axis."""
    out = np.tensordot(g, matrix.astype(g.dtype, copy=False), axes=([ax], [0]))   # axis ax moved last, size N
    return np.moveaxis(out, -1, ax)


@vjp("adaptive_avgpool", "adaptive_maxpool")
def adaptive_pool(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    rank = x.ndim - 2
    out_sizes = per_axis(ctx, node, "output_size", rank)
    windows = [adaptive_windows(n, o) for n, o in zip(x.shape[2:], out_sizes)]
    if node.kind == "adaptive_avgpool" or ctx.max_as_sum:
        g = gy
        for axis, (n, spans) in enumerate(zip(x.shape[2:], windows)):
            matrix = np.zeros((len(spans), n))
            for i, (start, end) in enumerate(spans):
                matrix[i, start:end] = 1.0 / (end - start) if node.kind == "adaptive_avgpool" else 1.0
            g = apply_transposed(g, matrix, 2 + axis)
        return [np.ascontiguousarray(g)]
    gx = np.zeros_like(x, dtype=gy.dtype)
    for out_index in product(*(range(o) for o in out_sizes)):
        region = (slice(None), slice(None)) + tuple(slice(*spans[i]) for spans, i in zip(windows, out_index))
        gx[region] += _route_first_extreme(x[region], gy[(slice(None), slice(None)) + out_index], True)
    return [gx]
