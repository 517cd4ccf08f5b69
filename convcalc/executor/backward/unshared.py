"""VJPs of the unshared convolutions (locally_connected, tiled): per position (per tile) the GEMM ``Wᵀ · gy``,
then col2im, the transpose of the forward's im2col."""

from __future__ import annotations

from math import prod

import numpy as np

from ..base import few_positions, nbytes
from ..conv import sliding_geometry
from ..unshared import by_tile, from_tile, im2col, largest_part, part_view, tile_matrices, tile_parts, tile_slices, \
    tiles_of
from .base import GradContext, scatter_columns, scatter_windows, vjp, vjp_footprint, weight_grad


def _col2im(gcols, x_shape, kernel_size, stride, dilation, pads, out_sizes):
    """The transpose of the forward's :func:`~convcalc.executor.unshared.im2col`: ``gcols (B, C·Πk, *N_out)``
    (channel-major, then taps)."""
    batch, c = x_shape[:2]
    taps = prod(kernel_size)
    if few_positions(batch, c, taps, prod(out_sizes), gcols.itemsize):
        return scatter_columns(gcols.reshape(batch, c, taps, -1), x_shape, kernel_size, stride, dilation, pads,
                               out_sizes, gcols.dtype)
    gcols = gcols.reshape(batch, c, taps, *out_sizes)
    return scatter_windows((gcols[:, :, t] for t in range(taps)), x_shape, kernel_size, stride, dilation, pads,
                           out_sizes, gcols.dtype)


@vjp("locally_connected")
def locally_connected(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_in, c_out, batch, positions = x.shape[1], node.fields["out"], x.shape[0], prod(out_sizes)
    fan_in = c_in * prod(kernel_size)
    w = ctx.weights[0].reshape(positions, c_out, fan_in)
    g = gy.reshape(batch, c_out, positions).transpose(2, 1, 0)                     # (P, C_out, B)
    gcols = ctx.matmul(w.transpose(0, 2, 1), g).transpose(2, 1, 0)                   # (B, fan_in, P)
    return [_col2im(gcols, x.shape, kernel_size, stride, dilation, pads, out_sizes)]


def _columns_and_padded(ctx: GradContext, node, x, itemsize: int):
    """(bytes of the column gradient ``(B, C·Πk, ΠN_out)``, bytes of the padded input gradient, with the scatter's
    index when it takes every tap at once), and the sizes."""
    kernel_size, _, _, pads, out_sizes = sliding_geometry(ctx, node, x)
    taps, positions = prod(kernel_size), prod(out_sizes)
    cols = nbytes((*x.shape[:2], taps, positions), itemsize)
    padded = nbytes((*x.shape[:2], *(n + b + a for n, (b, a) in zip(x.shape[2:], pads))), itemsize)
    if few_positions(x.shape[0], x.shape[1], taps, positions, itemsize):
        padded += 8 * taps * positions  # the scatter's index of every (tap, window) pair, beside it
    return cols, padded, out_sizes


@vjp_footprint("locally_connected")
def locally_connected_footprint(ctx: GradContext, node, xs, y, gy):
    """The GEMMs' column gradient, its reshaped copy and the padded input gradient."""
    cols, padded, _ = _columns_and_padded(ctx, node, xs[0], gy.itemsize)
    return 2 * cols + padded


@vjp("tiled")
def tiled(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    kernel_size, stride, dilation, pads, out_sizes, batch, groups, o_group, fan_in, tiles = \
        _tiled_geometry(ctx, node, x)
    g = gy.reshape(batch, groups, o_group, *out_sizes)
    gcols = np.empty((batch, groups, fan_in, *out_sizes), dtype=gy.dtype)  # the parts cover every position
    for part in tile_parts(out_sizes, tiles):
        wt = tile_matrices(ctx.weights[0], part, groups).swapaxes(-1, -2)   # (R…, g, C/g·Πk, C_out/g)
        from_tile(ctx.matmul(wt, by_tile(part_view(g, part))), part_view(gcols, part))
    # the forward's columns are (B, C·Πk, …) channel-major; grouped as (B, g, C/g·Πk, …): the same order
    return [_col2im(gcols.reshape(batch, groups * fan_in, *out_sizes), x.shape, kernel_size, stride,
                    dilation, pads, out_sizes)]


@vjp_footprint("tiled")
def tiled_footprint(ctx: GradContext, node, xs, y, gy):
    """The column gradient, and beside it the largest part's gy copy and GEMM result, or the padded input
    gradient."""
    cols, padded, out_sizes = _columns_and_padded(ctx, node, xs[0], gy.itemsize)
    share = largest_part(out_sizes, tiles_of(ctx, node, out_sizes)) / prod(out_sizes)
    return cols + max(int(share * (gy.nbytes + cols)) + 1, padded)


@weight_grad("locally_connected")
def locally_connected_weights(ctx: GradContext, node, xs, y, gy):
    """Per position p: gW[p] = gy[:, :, p]ᵀ · cols[:, :, p] over the batch, a GEMM (C_out × B) @ (B × C·Πk) per
    position, counted; the bias gradient (per element or per channel) is a sum."""
    x = xs[0]
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_out, batch, positions = node.fields["out"], x.shape[0], prod(out_sizes)
    cols = im2col(x, kernel_size, stride, dilation, pads, out_sizes).reshape(batch, -1, positions)
    g = gy.reshape(batch, c_out, positions).transpose(2, 1, 0)                      # (P, C_out, B)
    gw = ctx.matmul(g, cols.transpose(2, 0, 1)).reshape(ctx.weights[0].shape)     # (P, C_out, C·Πk)
    grads = [gw]
    if len(ctx.weights) > 1:
        gb = gy.sum(axis=0)
        grads.append(gb if ctx.weights[1].shape == gb.shape else gb.reshape(c_out, -1).sum(axis=1))
    return grads


@weight_grad("tiled")
def tiled_weights(ctx: GradContext, node, xs, y, gy):
    """Per part of the tiles and per tile: the GEMM (C_out/g × B·positions) @ (… × C_in/g·Πk) per group, counted
    and summed over the parts that hold the tile; the bias gradient is a sum."""
    x = xs[0]
    kernel_size, stride, dilation, pads, out_sizes, batch, groups, o_group, fan_in, tiles = \
        _tiled_geometry(ctx, node, x)
    w = ctx.weights[0]
    cols = im2col(x, kernel_size, stride, dilation, pads, out_sizes).reshape(batch, groups, fan_in, *out_sizes)
    g = gy.reshape(batch, groups, o_group, *out_sizes)
    gw = np.zeros(w.shape, dtype=gy.dtype)
    gb = np.zeros((*tiles, groups * o_group), dtype=gy.dtype)
    for part in tile_parts(out_sizes, tiles):
        at = tile_slices(part)
        part_g = by_tile(part_view(g, part))                                   # (R…, g, C_out/g, B·J)
        part_cols = by_tile(part_view(cols, part)).swapaxes(-1, -2)            # (R…, g, B·J, C/g·Πk)
        gw[at] += ctx.matmul(part_g, part_cols).reshape(gw[at].shape)
        gb[at] += part_g.sum(axis=-1).reshape(gb[at].shape)
    return [gw, gb][:len(ctx.weights)]


def _tiled_geometry(ctx: GradContext, node, x):
    """A tiled conv's sliding geometry, batch, groups, output channels per group, fan-in and tile counts: what its
    input gradient and its weight gradient both loop over."""
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_in, c_out, groups, batch = x.shape[1], node.fields["out"], node.fields.get("groups", 1), x.shape[0]
    fan_in = c_in // groups * prod(kernel_size)
    return kernel_size, stride, dilation, pads, out_sizes, batch, groups, c_out // groups, fan_in, \
        tiles_of(ctx, node, out_sizes)
