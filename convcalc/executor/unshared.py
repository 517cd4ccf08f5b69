"""Unshared convolutions: locally_connected (one kernel per output position, Taigman et al. 2014's DeepFace;
Keras' ``LocallyConnected2D``) and tiled (Π t kernels, output position o using kernel o mod t per axis; Le et al.
2010's tiled CNNs), each a GEMM per kernel over im2col columns.

Weights, in allocation order (``Execution.weights[name]``):

* ``locally_connected``: ``(*N_out, C_out, C_in, *k)``, bias ``(C_out, *N_out)`` (``element``) or ``(C_out,)``
  (``channel``);
* ``tiled``: ``(*t, C_out, C_in/g, *k)`` (t clipped to the output size, :func:`tiles_of`), bias ``(*t, C_out)``.

MACs: every GEMM counts M·K·N.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Context, footprint, kernel, nbytes, pad, per_axis
from .conv import check_groups, sliding_geometry


def tiles_of(ctx: Context, node, out_sizes) -> tuple[int, ...]:
    """The tile per axis, clipped to the output size (a tile larger than the map repeats nothing)."""
    return tuple(min(t, o) for t, o in zip(per_axis(ctx, node, "tile", len(out_sizes)), out_sizes))


def im2col(x, kernel_size, stride, dilation, pads, out_sizes) -> np.ndarray:
    """Columns ``(B, C·Πk, *N_out)`` of ``x`` (channel-major, then taps in row-major order)."""
    batch, c = x.shape[:2]
    rank = len(kernel_size)
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
    win = sliding_window_view(pad(x, pads), k_eff, axis=tuple(range(2, 2 + rank)))
    win = win[(slice(None), slice(None)) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out_sizes, stride))
              + tuple(slice(None, None, d) for d in dilation)]                    # (B, C, *N_out, *k)
    order = (0, 1) + tuple(range(2 + rank, 2 + 2 * rank)) + tuple(range(2, 2 + rank))
    return np.ascontiguousarray(win.transpose(order)).reshape(batch, c * prod(kernel_size), *out_sizes)


def im2col_bytes(x, kernel_size, pads, out_sizes) -> tuple[int, int]:
    """(bytes of :func:`im2col`'s padded copy of x, bytes of its columns)."""
    padded = nbytes((*x.shape[:2], *(n + b + a for n, (b, a) in zip(x.shape[2:], pads))), x.itemsize) \
        if any(b or a for b, a in pads) else 0
    return padded, nbytes((*x.shape[:2], prod(kernel_size), *out_sizes), x.itemsize)


@kernel("locally_connected")
def locally_connected(ctx: Context, node, xs):
    """One kernel per output position: y[b, :, o] = W[o] @ cols[b, :, o] (a GEMM per position)."""
    x = xs[0]
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_in, c_out, batch, positions = x.shape[1], node.fields["out"], x.shape[0], prod(out_sizes)
    fan_in = c_in * prod(kernel_size)
    w = ctx.weight((*out_sizes, c_out, c_in, *kernel_size), fan_in)
    cols = im2col(x, kernel_size, stride, dilation, pads, out_sizes).reshape(batch, fan_in, positions)
    y = ctx.matmul(w.reshape(positions, c_out, fan_in), cols.transpose(2, 1, 0))  # (P, C_out, B)
    y = y.transpose(2, 1, 0).reshape(batch, c_out, *out_sizes)
    mode = node.fields.get("bias", "element")
    if mode == "element":
        y = y + ctx.weight((c_out, *out_sizes), fan_in, role="bias")
    elif mode == "channel":
        y = y + ctx.weight((c_out,), fan_in, role="bias").reshape(c_out, *([1] * len(out_sizes)))
    return y


@footprint("locally_connected")
def locally_connected_footprint(ctx: Context, node, xs, y):
    """The padded copy and the columns; then the columns with the GEMM's output and its transposed copy; then the
    element bias drawn in float64 and the sum."""
    x = xs[0]
    kernel_size, _, _, pads, out_sizes = sliding_geometry(ctx, node, x)
    padded, cols = im2col_bytes(x, kernel_size, pads, out_sizes)
    bias = nbytes(y.shape[1:], 8) if node.fields.get("bias", "element") == "element" else 0
    return max(padded + cols, cols + 2 * y.nbytes + bias)


@kernel("tiled")
def tiled(ctx: Context, node, xs):
    """Π t kernels: output position o uses kernel (o mod t) per axis; one grouped GEMM per kernel."""
    x = xs[0]
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_in, c_out, groups, batch = x.shape[1], node.fields["out"], node.fields.get("groups", 1), x.shape[0]
    check_groups(ctx, c_in, c_out, groups)
    tiles = tiles_of(ctx, node, out_sizes)
    c_group, o_group = c_in // groups, c_out // groups
    fan_in = c_group * prod(kernel_size)
    w = ctx.weight((*tiles, c_out, c_group, *kernel_size), fan_in)
    b = ctx.weight((*tiles, c_out), fan_in, role="bias") if node.fields.get("bias", True) else None
    cols = im2col(x, kernel_size, stride, dilation, pads, out_sizes).reshape(batch, groups, fan_in, *out_sizes)
    y = np.empty((batch, groups, o_group, *out_sizes), dtype=x.dtype)
    for tile in product(*(range(t) for t in tiles)):
        where = (Ellipsis,) + tuple(slice(r, None, t) for r, t in zip(tile, tiles))
        part = cols[where]                                                   # (B, g, fan_in, *positions of tile)
        shape = part.shape[3:]
        out = ctx.matmul(w[tile].reshape(groups, o_group, fan_in), part.reshape(batch, groups, fan_in, -1))
        if b is not None:
            out = out + b[tile].reshape(groups, o_group, 1)
        y[where] = out.reshape(batch, groups, o_group, *shape)
    return y.reshape(batch, c_out, *out_sizes)


@footprint("tiled")
def tiled_footprint(ctx: Context, node, xs, y):
    """The padded copy and the columns; then the columns, the output, and for the largest tile its columns'
    contiguous copy, its GEMM output and that plus the bias."""
    x = xs[0]
    kernel_size, _, _, pads, out_sizes = sliding_geometry(ctx, node, x)
    padded, cols = im2col_bytes(x, kernel_size, pads, out_sizes)
    tile = prod(-(-o // t) for o, t in zip(out_sizes, tiles_of(ctx, node, out_sizes)))
    share = tile / prod(out_sizes)
    return max(padded + cols, cols + y.nbytes + int(share * (cols + 2 * y.nbytes)) + 1)
