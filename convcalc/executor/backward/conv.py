"""VJPs of the convolutions: conv / depthwise / pointwise (input gradient = a transposed convolution of the output
gradient: one GEMM ``Wᵀ · gy`` then a col2im scatter-add, one strided add per kernel tap) and conv_transpose
(input gradient = a forward convolution of the output gradient, the executor's own im2col GEMM)."""

from __future__ import annotations

from math import prod

import numpy as np

from ..base import few_positions, nbytes, pad, pad_in_mode, taps_of, window_index
from ..conv import (conv_nd, conv_nd_bytes, multiplied_channels, out_channels, sliding_geometry,
                    transpose_geometry)
from ..unshared import im2col
from .base import GradContext, crop, scatter_columns, unpad, unpad_bytes, vjp, vjp_footprint, weight_grad

#: GEMM outputs (the columns before col2im) larger than this are computed a few samples at a time
COLUMNS_LIMIT_BYTES = 256 * 2**20


def conv_input_grad(gy: np.ndarray, w: np.ndarray, sizes, stride, dilation, pads, groups: int,
                    ctx=None) -> np.ndarray:
    """Gradient w.r.t. ``x (B, C_in, *sizes)`` of the cross-correlation ``y = conv(pad(x, pads), w)``
    (``w (C_out, C_in/g, *k)``), given ``gy (B, C_out, *N_out)``:
    ``gx_pad[b, c, n·s + t·d] += Σ_o w[o, c, t] · gy[b, o, n]``, cropped to the real input.

    * 1×1, stride 1, no padding: one GEMM ``Wᵀ @ gy`` (a transposed view, no copy);
    * depthwise-like groups (one input channel each): one weighted sum per tap;
    * stride 1: the gradient is itself a cross-correlation of gy, padded by ``k_eff − 1 − p_before`` before, with
      the kernel flipped and its channel axes swapped: the executor's forward im2col GEMM;
    * strided: per group one GEMM ``Wᵀ (C_in/g·Πk × C_out/g) @ gy (C_out/g × ΠN_out)``, then col2im, one strided
      add per tap into the padded input gradient.

    ``ctx`` (a counting :class:`GradContext`, the training pass): its counters get the multiply-accumulates done,
    and the stride-1 shortcut is not taken (it would multiply the zeros padding gy, ΠN_in instead of ΠN_out
    positions): every branch left does one product per forward product.
    """
    counting = ctx is not None and ctx.counting
    ctx = ctx if ctx is not None else _COUNTER
    batch, c_out, *out_sizes = gy.shape
    _, c_group, *kernel_size = w.shape
    taps, positions = prod(kernel_size), prod(out_sizes)
    c_in, o_group = c_group * groups, c_out // groups
    unit_stride = all(s == 1 for s in stride)
    if taps == 1 and unit_stride and not any(b or a for b, a in pads) and tuple(out_sizes) == tuple(sizes):
        wt = w.reshape(groups, o_group, c_group).transpose(0, 2, 1)
        return ctx.matmul(wt, gy.reshape(batch, groups, o_group, positions)).reshape(batch, c_in, *sizes)
    if taps > 1 and few_positions(batch, c_in, taps, positions, gy.itemsize):
        return _columns_input_grad(gy, w, sizes, stride, dilation, pads, groups, ctx)
    if c_group == 1 and taps > 1:
        return _depthwise_input_grad(gy, w, sizes, stride, dilation, pads, groups, ctx)
    if unit_stride and not counting:
        return _correlate_input_grad(gy, w, sizes, dilation, pads, groups)
    padded = [n + b + a for n, (b, a) in zip(sizes, pads)]
    gxp = np.zeros((batch, c_in, *padded), dtype=gy.dtype)
    # rows ordered tap-major make each tap's block contiguous but need a transposed copy of W; when W is larger
    # than the columns, multiply by a transposed view instead and add strided blocks
    tap_major = w.size <= taps * c_in * positions
    if tap_major:
        wt = w.reshape(groups, o_group, c_group, taps).transpose(0, 3, 2, 1).reshape(groups, taps * c_group, o_group)
    else:
        wt = w.reshape(groups, o_group, c_group * taps).transpose(0, 2, 1)
    per_sample = taps * c_in * positions * gy.itemsize
    chunk = max(1, min(batch, COLUMNS_LIMIT_BYTES // max(per_sample, 1)))
    for b0 in range(0, batch, chunk):
        g = gy[b0:b0 + chunk].reshape(-1, groups, o_group, positions)
        cols = ctx.matmul(wt, g)                                             # (b, g, Πk·C_in/g, ΠN_out)
        if tap_major:
            cols = cols.reshape(g.shape[0], groups, taps, c_group, *out_sizes)
        else:
            cols = cols.reshape(g.shape[0], groups, c_group, taps, *out_sizes)
        target = gxp[b0:b0 + chunk]
        for index, offsets in enumerate(taps_of(kernel_size)):
            part = cols[:, :, index] if tap_major else cols[:, :, :, index]
            target[window_index(offsets, dilation, out_sizes, stride)] += part.reshape(g.shape[0], c_in, *out_sizes)
    return crop(gxp, pads, sizes)


def conv_input_grad_bytes(gy_shape, w_shape, sizes, stride, dilation, pads, groups: int, itemsize: int,
                          contiguous: bool = True) -> int:
    """The footprint of :func:`conv_input_grad`, branch by branch: the one GEMM's result; the depthwise-like
    padded gradient, a tap's products and their sum over the multiplier (both reused from tap to tap); stride 1: the
    flipped weight and the forward conv's own footprint on the cropped, padded gy; strided: the padded gradient,
    the tap-major weight copy, one chunk's columns and one tap's contiguous copy. A gy that is not ``contiguous``
    (a cropped input gradient, in a chain of stages) is copied by its reshape first."""
    batch, c_out, *out_sizes = gy_shape
    _, c_group, *kernel_size = w_shape
    taps, positions = prod(kernel_size), prod(out_sizes)
    c_in, o_group = c_group * groups, c_out // groups
    gx = nbytes((batch, c_in, *sizes), itemsize)
    copy = 0 if contiguous else nbytes(gy_shape, itemsize)
    padded = nbytes((batch, c_in, *(n + b + a for n, (b, a) in zip(sizes, pads))), itemsize)
    unit_stride = all(s == 1 for s in stride)
    if taps == 1 and unit_stride and not any(b or a for b, a in pads) and tuple(out_sizes) == tuple(sizes):
        return copy + gx
    if taps > 1 and few_positions(batch, c_in, taps, positions, itemsize):
        return copy + padded + nbytes((batch, c_in, taps, positions), itemsize) + 8 * taps * positions
    if c_group == 1 and taps > 1:
        part = nbytes((batch, groups, *out_sizes), itemsize)
        return copy + padded + (part + nbytes(gy_shape, itemsize) if o_group > 1 else part)
    weight = nbytes(w_shape, itemsize)
    if unit_stride:
        k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
        cropped, widths = [], []
        for n, n_out, k, (pb, _) in zip(sizes, out_sizes, k_eff, pads):
            before = k - 1 - pb
            after = n - 1 + k - (n_out + before)
            cropped.append(n_out + min(after, 0) - max(-before, 0))
            widths.append((max(before, 0), max(after, 0)))
        flipped = (c_in, o_group, *kernel_size)
        return weight + conv_nd_bytes((batch, c_out, *cropped), flipped, (1,) * len(sizes), widths, tuple(sizes),
                                      groups, itemsize)
    per_sample = taps * c_in * positions * itemsize
    chunk = max(1, min(batch, COLUMNS_LIMIT_BYTES // max(per_sample, 1)))
    return copy + padded + weight + chunk * per_sample + nbytes((chunk, c_in, positions), itemsize)


def _columns_input_grad(gy, w, sizes, stride, dilation, pads, groups, ctx):
    """Few positions (:func:`~convcalc.executor.base.few_positions`): one GEMM ``Wᵀ @ gy`` for the column
    gradient ``(B, C_in, Πk, ΠN_out)``, then every tap's columns added at once into the padded input gradient (a
    kernel of 10⁶ taps over one position had been 10⁶ strided adds)."""
    batch, c_out, *out_sizes = gy.shape
    _, c_group, *kernel_size = w.shape
    c_in, o_group = c_group * groups, c_out // groups
    wt = w.reshape(groups, o_group, c_group * prod(kernel_size)).transpose(0, 2, 1)   # (g, C_in/g·Πk, C_out/g)
    cols = ctx.matmul(wt, gy.reshape(batch, groups, o_group, prod(out_sizes)))         # (B, g, C_in/g·Πk, ΠN_out)
    return scatter_columns(cols.reshape(batch, c_in, prod(kernel_size), -1), (batch, c_in, *sizes), kernel_size,
                           stride, dilation, pads, out_sizes, gy.dtype)


def _depthwise_input_grad(gy, w, sizes, stride, dilation, pads, groups, ctx):
    """One input channel per group: gx_pad[b, c, n·s + t·d] += Σ_j w[c·m + j, 0, t] · gy[b, c·m + j, n]."""
    batch, c_out, *out_sizes = gy.shape
    _, _, *kernel_size = w.shape
    rank, o_group = len(kernel_size), c_out // groups
    padded = [n + b + a for n, (b, a) in zip(sizes, pads)]
    gxp = np.zeros((batch, groups, *padded), dtype=gy.dtype)
    g = gy.reshape(batch, groups, o_group, *out_sizes)
    wd = w.reshape(groups, o_group, prod(kernel_size))
    # one tap's products and their sum over the multiplier, reused: a kernel of 10⁴ taps maps no array per tap
    products = np.empty(g.shape, dtype=gy.dtype)
    part = np.empty((batch, groups, *out_sizes), dtype=gy.dtype) if o_group > 1 else products[:, :, 0]
    for index, offsets in enumerate(taps_of(kernel_size)):
        np.multiply(g, wd[:, :, index].reshape(groups, o_group, *([1] * rank)), out=products)
        if o_group > 1:
            products.sum(axis=2, out=part)
        ctx.macs(g.size)                                  # one product per element of gy, for this tap
        gxp[window_index(offsets, dilation, out_sizes, stride)] += part
    return crop(gxp, pads, sizes)


def _correlate_input_grad(gy, w, sizes, dilation, pads, groups):
    """Stride 1: gx[i] = Σ_t w[t] · gy[i + p_b − t·d] = Σ_t' w[k − 1 − t'] · gy_pad[i + t'·d] with gy padded by
    ``k_eff − 1 − p_b`` before (cropped when negative) and enough after for ``N`` outputs."""
    batch, c_out, *out_sizes = gy.shape
    _, c_group, *kernel_size = w.shape
    rank, o_group = len(kernel_size), c_out // groups
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
    flip = (slice(None),) * 3 + (slice(None, None, -1),) * rank
    # (C_out, C_in/g, *k) → per group swap the channel axes: (C_in, C_out/g, *k), flipped; one copy
    wf = np.ascontiguousarray(w.reshape(groups, o_group, c_group, *kernel_size).swapaxes(1, 2)[flip])
    wf = wf.reshape(groups * c_group, o_group, *kernel_size)
    index, widths = [slice(None), slice(None)], []
    for n, n_out, k, (pb, _) in zip(sizes, out_sizes, k_eff, pads):
        before = k - 1 - pb
        after = n - 1 + k - (n_out + before)
        index.append(slice(max(-before, 0), n_out + min(after, 0)))
        widths.append((max(before, 0), max(after, 0)))
    g = gy[tuple(index)]
    return conv_nd(_COUNTER, g, wf, None, (1,) * rank, dilation, widths, tuple(sizes), groups)


class _Counter:
    """A stand-in for the forward's Context in :func:`conv_nd`: outside the training pass the backward counts
    nothing."""

    counting = False

    @staticmethod
    def matmul(a, b, out=None):
        return np.matmul(a, b, out=out)

    @staticmethod
    def fma(acc, a, b, scratch=None):
        acc += np.multiply(a, b, out=scratch)
        return acc

    @staticmethod
    def macs(n):
        pass


_COUNTER = _Counter()


@vjp("conv", "depthwise", "pointwise")
def conv(ctx: GradContext, node, xs, y, gy):
    """The kernel size and the groups are read off the weight ``(C_out, C_in/g, *k)`` the forward allocated. With a
    ``padding_mode``, the gradient of the padded input, folded back by the pad's VJP."""
    x = xs[0]
    w = ctx.weights[0]
    _, stride, dilation, pads, _ = sliding_geometry(ctx, node, x, w.shape[2:])
    groups = x.shape[1] // w.shape[1]
    mode = node.fields.get("padding_mode", "zeros")
    if mode == "zeros":
        return [conv_input_grad(gy, w, x.shape[2:], stride, dilation, pads, groups, ctx)]
    padded = [n + b + a for n, (b, a) in zip(x.shape[2:], pads)]
    gxp = conv_input_grad(gy, w, padded, stride, dilation, [(0, 0)] * len(pads), groups, ctx)
    return [unpad(gxp, x.shape[2:], pads, mode)]


@vjp_footprint("conv", "pointwise", channels=out_channels)
@vjp_footprint("depthwise", channels=multiplied_channels)
def conv_footprint(ctx: GradContext, node, xs, y, gy, channels):
    """:func:`conv_input_grad_bytes` (the channel rule as the forward's); with a ``padding_mode``, on the padded
    input, then the pad's VJP."""
    x = xs[0]
    c_out, groups = channels(node, x.shape[1])
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    w_shape = (c_out, x.shape[1] // groups, *kernel_size)
    mode = node.fields.get("padding_mode", "zeros")
    if mode == "zeros":
        return conv_input_grad_bytes(gy.shape, w_shape, x.shape[2:], stride, dilation, pads, groups, gy.itemsize)
    padded = [n + b + a for n, (b, a) in zip(x.shape[2:], pads)]
    no_pads = [(0, 0)] * len(pads)
    gxp = nbytes((*x.shape[:2], *padded), gy.itemsize)
    return max(conv_input_grad_bytes(gy.shape, w_shape, padded, stride, dilation, no_pads, groups, gy.itemsize),
               gxp + unpad_bytes((*x.shape[:2], *padded), x.shape[2:], pads, mode, gy.itemsize))


@vjp("conv_transpose")
def conv_transpose(ctx: GradContext, node, xs, y, gy):
    """The transposed conv scatters input position i's tap t to the uncropped i·s + t·d; its input gradient
    gathers there: a forward cross-correlation of gy, padded back to the uncropped map (crops before and after),
    with the same weight ``(C_in, C_out/g, *k)`` read as ``(C_out', C_in'/g, *k)``."""
    x = xs[0]
    _, _, groups, _, stride, dilation, crops, _, _ = transpose_geometry(ctx, node, x)
    return [conv_nd(ctx, gy, ctx.weights[0], None, stride, dilation, crops, x.shape[2:], groups)]


@vjp_footprint("conv_transpose")
def conv_transpose_footprint(ctx: GradContext, node, xs, y, gy):
    """The forward conv of gy's footprint, the weight ``(C_in, C_out/g, *k)`` read as a conv's."""
    x = xs[0]
    c_in, c_out, groups, kernel_size, stride, dilation, crops, _, _ = transpose_geometry(ctx, node, x)
    return conv_nd_bytes(gy.shape, (c_in, c_out // groups, *kernel_size), stride, crops, x.shape[2:], groups,
                         gy.itemsize)


# ---- weight gradients (the training pass, convcalc/executor/backward/train.py) --------------------------------------
def conv_weight_grad(ctx, x: np.ndarray, gy: np.ndarray, kernel_size, stride, dilation, pads, groups: int):
    """Gradient w.r.t. ``w (C_out, C_in/g, *k)`` of ``y = conv(pad(x, pads), w)``, given ``gy (B, C_out, *N_out)``:
    ``gw[o, c, t] = Σ_{b, n} gy[b, o, n] · x_pad[b, c, n·s + t·d]``; per tap, one GEMM per group
    ``(C_out/g × B·ΠN_out) @ (B·ΠN_out × C_in/g)``, counted by ``ctx.matmul``: one product per forward product."""
    batch, c_in = x.shape[:2]
    c_out, out_sizes = gy.shape[1], gy.shape[2:]
    c_group, o_group, positions = c_in // groups, c_out // groups, prod(out_sizes)
    g = gy.reshape(batch, groups, o_group, positions).transpose(1, 2, 0, 3).reshape(groups, o_group, -1)
    taps = prod(kernel_size)
    if taps > 1 and few_positions(batch, c_in, taps, positions, x.itemsize):
        # one GEMM over the im2col columns (g, B·ΠN_out, C_in/g·Πk), channel-major then taps as gw
        cols = im2col(x, kernel_size, stride, dilation, pads, out_sizes).reshape(batch, groups, -1, positions)
        cols = cols.transpose(1, 0, 3, 2).reshape(groups, batch * positions, -1)
        return ctx.matmul(g, cols).reshape(c_out, c_group, *kernel_size)
    xp = pad(x, pads)
    gw = np.empty((groups, o_group, c_group, taps), dtype=gy.dtype)
    # one tap's inputs as (g, B·ΠN_out, C_in/g), copied into the same array for every tap (a new one per tap was
    # mapped and unmapped: 2.3 s of page faults for 10⁴ taps on 500²)
    cols = np.empty((groups, batch * positions, c_group), dtype=xp.dtype)
    spread = cols.reshape(groups, batch, *out_sizes, c_group)
    order = (1, 0, *range(3, 3 + len(out_sizes)), 2)
    for index, offsets in enumerate(taps_of(kernel_size)):
        tap = xp[window_index(offsets, dilation, out_sizes, stride)]                 # (B, C_in, *N_out), a view
        np.copyto(spread, tap.reshape(batch, groups, c_group, *out_sizes).transpose(order))
        gw[:, :, :, index] = ctx.matmul(g, cols)
    return gw.reshape(c_out, c_group, *kernel_size)


def bias_grad(gy: np.ndarray) -> np.ndarray:
    """Σ over the batch and positions: additions, no multiply-accumulates."""
    return gy.sum(axis=(0, *range(2, gy.ndim)))


@weight_grad("conv", "depthwise", "pointwise")
def conv_weights(ctx: GradContext, node, xs, y, gy):
    """The weight (and bias) gradient of a conv; with a ``padding_mode``, on the input padded in that mode."""
    x = xs[0]
    w = ctx.weights[0]
    _, stride, dilation, pads, _ = sliding_geometry(ctx, node, x, w.shape[2:])
    groups = x.shape[1] // w.shape[1]
    mode = node.fields.get("padding_mode", "zeros")
    if mode != "zeros":
        x, pads = pad_in_mode(x, pads, mode), [(0, 0)] * len(pads)
    grads = [conv_weight_grad(ctx, x, gy, w.shape[2:], stride, dilation, pads, groups)]
    return grads + [bias_grad(gy)] * (len(ctx.weights) - 1)


@weight_grad("conv_transpose")
def conv_transpose_weights(ctx: GradContext, node, xs, y, gy):
    """``gw[c, o, t] = Σ_{b, i} x[b, c, i] · gy_uncropped[b, o, i·s + t·d]``: the conv weight gradient with the roles
    of x and gy swapped (gy padded back by the crops, as the input gradient reads it), on input positions."""
    x = xs[0]
    _, _, groups, kernel_size, stride, dilation, crops, _, _ = transpose_geometry(ctx, node, x)
    grads = [conv_weight_grad(ctx, gy, x, kernel_size, stride, dilation, crops, groups)]
    return grads + [bias_grad(gy)] * (len(ctx.weights) - 1)
