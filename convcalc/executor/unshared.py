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


def tile_parts(out_sizes, tiles):
    """The output positions in at most 2^d parts, in each of which every tile holds equally many positions: per
    axis of n positions and t tiles, the first q·t (q = n // t) as q rows of the t tiles, then the n - q·t left
    as one row of the first n - q·t tiles. Yields per part, per axis, (start, rows, tiles): tile r holds the
    positions start + j·t + r of the part (see :func:`part_view`). So a tiled conv is a few batched GEMMs, however
    many tiles it has, not a GEMM per tile (10⁶ tiles had taken 5 s forward, 16 s with verify --train)."""
    per_axis = []
    for n, t in zip(out_sizes, tiles):
        q, rem = divmod(n, t)
        per_axis.append([(0, q, t)] + ([(q * t, 1, rem)] if rem else []))
    return product(*per_axis)


def largest_part(out_sizes, tiles) -> int:
    """Positions in the largest of :func:`tile_parts` (every axis's q·t rows)."""
    return prod(n // t * t for n, t in zip(out_sizes, tiles))


def part_view(a: np.ndarray, part) -> np.ndarray:
    """``a`` (…, *N_out) on ``part``, each axis split into (rows, tiles): a view (…, J1, R1, …, Jd, Rd)."""
    lead = a.shape[:a.ndim - len(part)]
    where = (Ellipsis,) + tuple(slice(start, start + j * r) for start, j, r in part)
    return a[where].reshape(*lead, *(n for _, j, r in part for n in (j, r)))


def by_tile(view: np.ndarray) -> np.ndarray:
    """A part view (B, g, M, J1, R1, …, Jd, Rd) as a contiguous (R1, …, Rd, g, M, B·J1⋯Jd): per tile and group one
    matrix, its columns the batch and the tile's positions."""
    d = (view.ndim - 3) // 2
    order = (*range(4, 4 + 2 * d, 2), 1, 2, 0, *range(3, 3 + 2 * d, 2))
    return np.ascontiguousarray(view.transpose(order)).reshape(*view.shape[4::2], *view.shape[1:3], -1)


def from_tile(out: np.ndarray, view: np.ndarray) -> None:
    """Write ``out`` in :func:`by_tile`'s layout (R1, …, Rd, g, M, B·J1⋯Jd) into the part view it came from."""
    d = (view.ndim - 3) // 2
    out = out.reshape(*out.shape[:d + 2], view.shape[0], *view.shape[3::2])
    np.copyto(view, out.transpose(d + 2, d, d + 1, *(k for a in range(d) for k in (d + 3 + a, a))))


def tile_slices(part) -> tuple:
    """The index of the part's tiles in an array of one entry per tile (the first axes)."""
    return tuple(slice(0, r) for _, _, r in part)


def tile_matrices(w: np.ndarray, part, groups: int) -> np.ndarray:
    """The weights (*t, C_out, C_in/g, *k) of the part's tiles as (R1, …, Rd, g, C_out/g, C_in/g·Πk), a view."""
    at = tile_slices(part)
    tile_w = w[at]
    return tile_w.reshape(*tile_w.shape[:len(at)], groups, tile_w.shape[len(at)] // groups, -1)


@kernel("tiled")
def tiled(ctx: Context, node, xs):
    """Π t kernels: output position o uses kernel (o mod t) per axis; per part of :func:`tile_parts`, one GEMM
    per tile and group, batched."""
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
    for part in tile_parts(out_sizes, tiles):
        out = ctx.matmul(tile_matrices(w, part, groups), by_tile(part_view(cols, part)))
        if b is not None:
            out += b[tile_slices(part)].reshape(*out.shape[:-1], 1)
        from_tile(out, part_view(y, part))
    return y.reshape(batch, c_out, *out_sizes)


@footprint("tiled")
def tiled_footprint(ctx: Context, node, xs, y):
    """The padded copy and the columns; then the columns, the output, and for the largest part its columns'
    contiguous copy and its GEMM output (the bias is added in place)."""
    x = xs[0]
    kernel_size, _, _, pads, out_sizes = sliding_geometry(ctx, node, x)
    padded, cols = im2col_bytes(x, kernel_size, pads, out_sizes)
    share = largest_part(out_sizes, tiles_of(ctx, node, out_sizes)) / prod(out_sizes)
    return max(padded + cols, cols + y.nbytes + int(share * (cols + y.nbytes)) + 1)
