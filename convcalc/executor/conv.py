"""Convolution kernels: conv (1/2/3-D), depthwise, pointwise and transposed conv.

Definitions followed (cross-correlation, as in ``torch.nn.Conv{1,2,3}d`` / ``ConvTranspose{1,2,3}d``); conv and
pointwise read ``out`` and ``groups``, depthwise has C_in·multiplier outputs in C_in groups (the channel rule each
kind is registered with):

* forward conv, per axis: ``k_eff = d·(k − 1) + 1``, ``N_out = floor((N + p_b + p_a − k_eff) / s) + 1``,
  ``y[b, o, n] = Σ_{c ∈ group(o), t} w[o, c, t] · x_pad[b, c, n·s + t·d]``, ``x_pad`` holding zeros in the padding,
  or with a ``padding_mode`` the input padded in that mode (``F.pad``, as torch.nn.Conv2d does);
* transposed conv, per axis: every input position ``i`` scatters ``w[c, o, t]·x[b, c, i]`` to the uncropped
  position ``i·s + t·d``; the output is that full map cropped by ``p_b`` before and ``p_a`` after, with
  ``output_padding`` extra positions at the end: ``N_out = (N − 1)·s + k_eff − p_b − p_a + output_padding``.

Implementation: im2col (``sliding_window_view``, one copy into GEMM layout) and one stacked matmul per group
(``(g, C_out/g, C_in/g·Πk) @ (B, g, C_in/g·Πk, ΠN_out)``); 1×1 convolutions skip im2col; single-channel
groups (depthwise) accumulate one weighted sum per kernel tap instead of many tiny GEMMs, unless a tap's slice is
too small to pay for a NumPy call (:func:`per_tap`). Transposed conv is
one GEMM ``wᵀ @ x`` on the *input* positions followed by a col2im scatter-add, one strided add per tap — so
its MAC count is ``C_in · ΠN_in · C_out/g · Πk``, the products it really computes, including those that land
in the cropped border.
"""

from __future__ import annotations

from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import (Context, add_windows, check_pad_mode, few_positions, footprint, kernel, nbytes, pad, pad_in_mode,
                   padding_pairs, per_axis, require_rank, strided, taps_of, window_count, window_index)


def sliding_geometry(ctx: Context, node, x: np.ndarray, kernel_size=None):
    """``(kernel, stride, dilation, pads, out_sizes)`` of a conv-like window on ``x``: the node's ``kernel``
    (1 for a kind without one, pointwise), or ``kernel_size`` when given (a VJP reads it off the weight)."""
    rank = require_rank(ctx, x)
    sizes = x.shape[2:]
    kernel_size = per_axis(ctx, node, "kernel", rank, 1) if kernel_size is None else tuple(kernel_size)
    stride = per_axis(ctx, node, "stride", rank, 1)
    dilation = per_axis(ctx, node, "dilation", rank, 1)
    k_eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    pads = padding_pairs(ctx, node, sizes, k_eff, stride)
    out_sizes = tuple(window_count(ctx, axis, n, k, s, p)
                      for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, pads)))
    return kernel_size, stride, dilation, pads, out_sizes


def check_groups(ctx: Context, c_in: int, c_out: int, groups: int) -> None:
    for channels, what in ((c_in, "input"), (c_out, "output")):
        if channels % groups:
            ctx.fail(f"{what} channels ({channels}) are not divisible by groups ({groups})",
                     f"choose groups dividing both {c_in} and {c_out}", "groups")


def out_channels(node, c_in: int) -> tuple[int, int]:
    """``(C_out, groups)`` read from ``out`` and ``groups`` (conv, pointwise)."""
    return node.fields["out"], node.fields.get("groups", 1)


def multiplied_channels(node, c_in: int) -> tuple[int, int]:
    """``(C_in·multiplier, C_in)``: one group per input channel (depthwise)."""
    return c_in * node.fields.get("multiplier", 1), c_in


def conv_stage(ctx: Context, x: np.ndarray, c_out: int, kernel_size, stride, dilation, pads, out_sizes,
               groups: int, bias: bool) -> np.ndarray:
    """Allocate one convolution's weight ``(C_out, C_in/g, *k)`` (and bias ``(C_out,)``) and run it: the conv
    kinds, and every conv stage of the composite kinds (factorised, deformable's offset conv)."""
    c_in = x.shape[1]
    fan_in = c_in // groups * prod(kernel_size)
    w = ctx.weight((c_out, c_in // groups, *kernel_size), fan_in)
    b = ctx.weight((c_out,), fan_in, role="bias") if bias else None
    return conv_nd(ctx, x, w, b, stride, dilation, pads, out_sizes, groups)


def conv_nd(ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride, dilation, pads,
            out_sizes, groups: int) -> np.ndarray:
    """Grouped, strided, dilated N-D cross-correlation of ``x (B, C_in, *N)`` with ``w (C_out, C_in/g, *k)``."""
    batch, c_in = x.shape[:2]
    c_out, c_group, *kernel_size = w.shape
    rank = len(kernel_size)
    taps = prod(kernel_size)
    positions = prod(out_sizes)
    o_group = c_out // groups
    xp = pad(x, pads)

    if per_tap(batch, c_in, c_group, taps, positions, x.itemsize):
        # Depthwise-like: one weighted sum per tap, y[b, c, j] += w[c·m + j, 0, t] · x_tap[b, c].
        y = np.zeros((batch, groups, o_group, *out_sizes), dtype=x.dtype)
        wt = w.reshape(groups, o_group, taps)
        products = np.empty_like(y)  # one tap's, reused: a kernel of 10⁴ taps maps one array, not 10⁴
        for index, offsets in enumerate(taps_of(kernel_size)):
            x_tap = xp[window_index(offsets, dilation, out_sizes, stride)][:, :, None]   # (B, g, 1, *N_out)
            ctx.fma(y, x_tap, wt[:, :, index].reshape(groups, o_group, *([1] * rank)), products)
        y = y.reshape(batch, c_out, *out_sizes)
    else:
        if taps == 1:
            # 1×1: no windows, just the strided positions (a view; the reshape copies only when strided).
            cols = xp[(slice(None), slice(None)) + tuple(strided(0, n, s) for n, s in zip(out_sizes, stride))]
            cols = cols.reshape(batch, groups, c_group, positions)
        else:
            spatial_axes = tuple(range(2, 2 + rank))
            k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
            win = sliding_window_view(xp, k_eff, axis=spatial_axes)         # (B, C, *N_pos, *k_eff), a view
            win = win[(slice(None), slice(None))
                      + tuple(strided(0, n, s) for n, s in zip(out_sizes, stride))
                      + tuple(slice(None, None, d) for d in dilation)]      # (B, C, *N_out, *k)
            win = win.transpose((0, 1) + tuple(range(2 + rank, 2 + 2 * rank)) + spatial_axes)  # (B, C, *k, *N_out)
            wm = w.reshape(groups, o_group, c_group * taps)
            rows = _rows_per_chunk(batch * c_in * taps * positions * x.itemsize, out_sizes[0])
            if rows < out_sizes[0]:
                # a large im2col matrix: build and multiply it a band of output rows at a time
                y = np.empty((batch, groups, o_group, *out_sizes), dtype=x.dtype)
                rest = prod(out_sizes[1:])
                for r0 in range(0, out_sizes[0], rows):
                    band = win[(Ellipsis, slice(r0, r0 + rows)) + (slice(None),) * (rank - 1)]
                    cols = band.reshape(batch, groups, c_group * taps, band.shape[2 + rank] * rest)
                    y[:, :, :, r0:r0 + rows] = ctx.matmul(wm, cols).reshape(batch, groups, o_group, -1,
                                                                            *out_sizes[1:])
                return _add_bias(y.reshape(batch, c_out, *out_sizes), b)
            cols = win.reshape(batch, groups, c_group * taps, positions)  # the im2col copy
        y = ctx.matmul(w.reshape(groups, o_group, c_group * taps), cols)    # (B, g, C_out/g, ΠN_out)
        y = y.reshape(batch, c_out, *out_sizes)
    return _add_bias(y, b)


#: im2col matrices larger than this are built a band of output rows at a time (bounded workspace)
IM2COL_LIMIT_BYTES = 64 * 2**20
def per_tap(batch: int, c_in: int, c_group: int, taps: int, positions: int, itemsize: int) -> bool:
    """Whether a conv of one input channel per group runs one weighted sum per tap (no im2col copy): unless
    :func:`few_positions`."""
    return c_group == 1 and taps > 1 and not few_positions(batch, c_in, taps, positions, itemsize)


def _rows_per_chunk(total_bytes: int, rows: int) -> int:
    """How many rows of the first output axis fit an im2col band within :data:`IM2COL_LIMIT_BYTES`."""
    if total_bytes <= IM2COL_LIMIT_BYTES:
        return rows
    return max(1, rows * IM2COL_LIMIT_BYTES // total_bytes)


def _add_bias(y: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    if b is not None:
        y += b.reshape(b.shape[0], *([1] * (y.ndim - 2)))
    return y


def conv_nd_bytes(x_shape, w_shape, stride, pads, out_sizes, groups: int, itemsize: int) -> int:
    """The footprint of :func:`conv_nd` (its output included), branch by branch: the zero-padded copy of x; then
    the depthwise-like output and one tap's products, or the strided 1×1 positions' copy, or the im2col matrix (or
    two bands of it with their GEMM results, next to the output), and the GEMM output."""
    batch, c_in, *sizes = x_shape
    c_out, c_group, *kernel_size = w_shape
    taps, positions = prod(kernel_size), prod(out_sizes)
    padded = nbytes((batch, c_in, *(n + b + a for n, (b, a) in zip(sizes, pads))), itemsize) \
        if any(b or a for b, a in pads) else 0
    y = nbytes((batch, c_out, *out_sizes), itemsize)
    if per_tap(batch, c_in, c_group, taps, positions, itemsize):
        return padded + 2 * y
    if taps == 1:
        return padded + (nbytes((batch, c_in, positions), itemsize) if any(s != 1 for s in stride) else 0) + y
    cols = nbytes((batch, c_in, taps, positions), itemsize)
    rows = _rows_per_chunk(cols, out_sizes[0])
    if rows < out_sizes[0]:
        # a band's columns and product are freed once the next band's exist: two consecutive bands at most
        share = -(-(rows + min(rows, out_sizes[0] - rows)) * positions // out_sizes[0])
        return padded + y + nbytes((batch, c_in, taps, share), itemsize) + nbytes((batch, c_out, share), itemsize)
    return padded + cols + y


@kernel("conv", "pointwise", channels=out_channels)
@kernel("depthwise", channels=multiplied_channels)
def conv(ctx: Context, node, xs, channels):
    """Standard / pointwise (no ``kernel`` field: 1) / depthwise (groups = C_in, C_out = C_in·multiplier)
    convolution; ``channels(node, C_in) -> (C_out, groups)`` is the kind's channel rule."""
    x = xs[0]
    require_rank(ctx, x)
    c_out, groups = channels(node, x.shape[1])
    check_groups(ctx, x.shape[1], c_out, groups)
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    mode = node.fields.get("padding_mode", "zeros")
    if mode != "zeros":  # torch.nn.Conv2d: F.pad in the mode, then the conv without padding
        check_pad_mode(ctx, x.shape[2:], pads, mode, "padding_mode")
        x, pads = pad_in_mode(x, pads, mode), [(0, 0)] * len(pads)
    return conv_stage(ctx, x, c_out, kernel_size, stride, dilation, pads, out_sizes, groups,
                      node.fields.get("bias", True))


@footprint("conv", "pointwise", channels=out_channels)
@footprint("depthwise", channels=multiplied_channels)
def conv_footprint(ctx: Context, node, xs, y, channels):
    """:func:`conv_nd`'s, on the input padded in its ``padding_mode`` (the same padded size, copied first)."""
    x = xs[0]
    c_out, groups = channels(node, x.shape[1])
    kernel_size, stride, _, pads, out_sizes = sliding_geometry(ctx, node, x)
    return conv_nd_bytes(x.shape, (c_out, x.shape[1] // groups, *kernel_size), stride, pads, out_sizes, groups,
                         x.itemsize)


def transpose_geometry(ctx: Context, node, x: np.ndarray):
    rank = require_rank(ctx, x)
    c_in, sizes = x.shape[1], x.shape[2:]
    fields = node.fields
    c_out, groups = out_channels(node, c_in)
    check_groups(ctx, c_in, c_out, groups)
    kernel_size = per_axis(ctx, node, "kernel", rank)
    stride = per_axis(ctx, node, "stride", rank, 1)
    dilation = per_axis(ctx, node, "dilation", rank, 1)
    out_pad = per_axis(ctx, node, "output_padding", rank, 0)
    k_eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    padding = fields.get("padding", 0)
    if padding == "same":
        # output N·s: crop the excess k_eff − s of the full map, the odd unit after
        crops = []
        for k, s in zip(k_eff, stride):
            if k < s:
                ctx.fail(f"`same` needs the effective kernel ({k}) to be at least the stride ({s})",
                         "use output_padding or a larger kernel", "padding")
            crops.append(((k - s) // 2, k - s - (k - s) // 2))
    elif padding == "full":
        ctx.fail("`full` padding has no meaning for a transposed conv",
                 "use an int, a per-axis list, [before, after] pairs, `valid` or `same`", "padding")
    else:
        crops = padding_pairs(ctx, node, sizes, k_eff, stride)
    out_sizes = []
    for axis, (n, k, s, d, (pb, pa), op) in enumerate(zip(sizes, k_eff, stride, dilation, crops, out_pad)):
        if op >= s and op >= d:
            ctx.fail(f"output_padding ({op}) must be smaller than the stride ({s}) or the dilation ({d})",
                     "reduce output_padding", "output_padding")
        size = (n - 1) * s + k - pb - pa + op
        if size < 1:
            ctx.fail(f"output size along spatial axis {axis} is ({n} − 1)·{s} + {k} − {pb} − {pa} + {op} = {size}",
                     "reduce the padding", "padding")
        out_sizes.append(size)
    return c_in, c_out, groups, kernel_size, stride, dilation, crops, out_pad, tuple(out_sizes)


def conv_transpose_nd(ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride, dilation,
                      crops, out_pad, out_sizes, groups: int) -> np.ndarray:
    """Transposed convolution of ``x (B, C_in, *N)`` with ``w (C_in, C_out/g, *k)``: GEMM, then col2im."""
    batch, c_in, *sizes = x.shape
    _, o_group, *kernel_size = w.shape
    c_out = o_group * groups
    taps = prod(kernel_size)
    c_group = c_in // groups
    # GEMM on input positions: (g, C_out/g·Πk, C_in/g) @ (B, g, C_in/g, ΠN) → every product of the scatter.
    wt = w.reshape(groups, c_group, o_group * taps).transpose(0, 2, 1)
    cols = ctx.matmul(wt, x.reshape(batch, groups, c_group, prod(sizes)))
    cols = cols.reshape(batch, c_out, *kernel_size, *sizes)
    # col2im: tap t of input position i lands at i·s + t·d of the uncropped map (plus output_padding room).
    full = [(n - 1) * s + d * (k - 1) + 1 + op for n, s, d, k, op in zip(sizes, stride, dilation, kernel_size,
                                                                          out_pad)]
    if few_positions(batch, c_out, taps, prod(sizes), x.itemsize):
        y = add_windows(cols.reshape(batch, c_out, taps, -1), (batch, c_out, *full), kernel_size, stride, dilation,
                        sizes, x.dtype)
    else:
        y = np.zeros((batch, c_out, *full), dtype=x.dtype)
        for offsets in taps_of(kernel_size):
            y[window_index(offsets, dilation, sizes, stride)] += cols[(slice(None), slice(None)) + offsets]
    y = y[(slice(None), slice(None)) + tuple(slice(pb, pb + n) for (pb, _), n in zip(crops, out_sizes))]
    return _add_bias(np.ascontiguousarray(y), b)


@kernel("conv_transpose")
def conv_transpose(ctx: Context, node, xs):
    """Transposed convolution; weight layout ``(C_in, C_out/g, *k)`` as in PyTorch."""
    x = xs[0]
    c_in, c_out, groups, kernel_size, stride, dilation, crops, out_pad, out_sizes = transpose_geometry(ctx, node, x)
    fan_in = c_out // groups * prod(kernel_size)  # PyTorch computes fan-in from the weight's second axis
    w = ctx.weight((c_in, c_out // groups, *kernel_size), fan_in)
    b = ctx.weight((c_out,), fan_in, role="bias") if node.fields.get("bias", True) else None
    return conv_transpose_nd(ctx, x, w, b, stride, dilation, crops, out_pad, out_sizes, groups)


@footprint("conv_transpose")
def conv_transpose_footprint(ctx: Context, node, xs, y):
    """The GEMM's columns ``(B, C_out·Πk, ΠN)``, the uncropped map, and its cropped contiguous copy (and for few
    input positions, the index of every tap's position)."""
    x = xs[0]
    _, c_out, _, kernel_size, stride, dilation, _, out_pad, _ = transpose_geometry(ctx, node, x)
    batch, _, *sizes = x.shape
    full = [(n - 1) * s + d * (k - 1) + 1 + op for n, s, d, k, op in zip(sizes, stride, dilation, kernel_size,
                                                                          out_pad)]
    taps, positions = prod(kernel_size), prod(sizes)
    cols = nbytes((batch, c_out, taps, positions), x.itemsize)
    index = 8 * taps * positions if few_positions(batch, c_out, taps, positions, x.itemsize) else 0
    return cols + nbytes((batch, c_out, *full), x.itemsize) + y.nbytes + index
