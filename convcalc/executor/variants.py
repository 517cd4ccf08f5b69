"""Kernels of the convolution variants (issue 4), each from its definition, counting the work it really does.

Weights are allocated in this order (``Execution.weights[name]``):

* ``separable``: per axis i, weight ``(C_out,i, C_in,i, 1…k_i…1)`` then its bias;
* ``depthwise_separable``: depthwise ``(C·m, 1, *k)`` (+ bias), the mid layers' arrays, pointwise
  ``(C_out, C·m, 1, …)`` (+ bias);
* ``flattened``: lateral ``(F, C, 1, …)`` (+ bias), then per axis i ``(F, 1, 1…k_i…1)`` (+ bias);
* ``squeeze_excitation``: FC1 ``(S, C)`` (+ bias ``(S,)``), FC2 ``(C, S)`` (+ bias ``(C,)``);
* ``deformable``: offset conv ``(C_off, C_in, *k)``, its bias ``(C_off,)``, main ``(C_out, C_in/g, *k)`` (+ bias);
* ``locally_connected``: ``(*N_out, C_out, C_in, *k)``, bias ``(C_out, *N_out)`` or ``(C_out,)``;
* ``tiled``: ``(*t, C_out, C_in/g, *k)`` (t clipped to the output size), bias ``(*t, C_out)``.

Shape rules are re-derived here (the conv rule per axis, TensorFlow's ``same``), sharing nothing with the cost
model. MACs: every GEMM counts M·K·N (:meth:`Context.matmul`), every weighted sum its products
(:meth:`Context.fma`); deformable sampling counts one MAC per corner per sampled value (2^d) and one per mask
multiply (v2).
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..spec.graph import Node
from .base import KERNELS, Context, kernel, pad, padding_pairs, per_axis, require_rank, window_count
from .conv import conv_nd


def _geometry(ctx: Context, node, x: np.ndarray):
    """(c_in, kernel, stride, dilation, pads, out_sizes) of a conv-like variant on ``x``."""
    rank = require_rank(ctx, x)
    sizes = x.shape[2:]
    kernel_size = per_axis(ctx, node, "kernel", rank)
    stride = per_axis(ctx, node, "stride", rank, 1)
    dilation = per_axis(ctx, node, "dilation", rank, 1)
    k_eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    pads = padding_pairs(ctx, node, sizes, k_eff, stride)
    out_sizes = tuple(window_count(ctx, axis, n, k, s, p)
                      for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, pads)))
    return x.shape[1], kernel_size, stride, dilation, pads, out_sizes


def _conv(ctx: Context, x, c_out, kernel_size, stride, dilation, pads, out_sizes, groups, bias):
    """Allocate one conv stage's weights and run it."""
    c_in = x.shape[1]
    fan_in = c_in // groups * prod(kernel_size)
    w = ctx.weight((c_out, c_in // groups, *kernel_size), fan_in)
    b = ctx.weight((c_out,), fan_in, role="bias") if bias else None
    return conv_nd(ctx, x, w, b, stride, dilation, pads, out_sizes, groups)


def _only_axis(values, axis, neutral):
    return tuple(v if a == axis else neutral for a, v in enumerate(values))


def _axis_stages(ctx, x, kernel_size, stride, dilation, pads, channels, groups_of, bias):
    """One 1-D conv per spatial axis, in axis order; ``channels[i]`` output channels, ``groups_of(c_in)``."""
    for axis in range(len(kernel_size)):
        sizes = list(x.shape[2:])
        k = _only_axis(kernel_size, axis, 1)
        p = [pads[a] if a == axis else (0, 0) for a in range(len(sizes))]
        s = _only_axis(stride, axis, 1)
        d = _only_axis(dilation, axis, 1)
        out = tuple(window_count(ctx, a, n, dd * (kk - 1) + 1, ss, pp)
                    for a, (n, kk, ss, dd, pp) in enumerate(zip(sizes, k, s, d, p)))
        x = _conv(ctx, x, channels[axis], k, s, d, p, out, groups_of(x.shape[1]), bias)
    return x


@kernel("separable")
def separable(ctx: Context, node, xs):
    """k×1 then 1×k (one 1-D conv per axis): C_in → mid → … → C_out."""
    x = xs[0]
    _, kernel_size, stride, dilation, pads, _ = _geometry(ctx, node, x)
    c_out = node.fields["out"]
    mid = node.fields.get("mid") or c_out
    channels = [mid] * (len(kernel_size) - 1) + [c_out]
    return _axis_stages(ctx, x, kernel_size, stride, dilation, pads, channels, lambda c: 1,
                        node.fields.get("bias", True))


@kernel("flattened")
def flattened(ctx: Context, node, xs):
    """Lateral 1×1 C → F, then a per-channel 1-D conv along each axis (Jin et al. 2014)."""
    x = xs[0]
    _, kernel_size, stride, dilation, pads, _ = _geometry(ctx, node, x)
    f, bias, rank = node.fields["out"], node.fields.get("bias", True), len(kernel_size)
    y = _conv(ctx, x, f, (1,) * rank, (1,) * rank, (1,) * rank, [(0, 0)] * rank, x.shape[2:], 1, bias)
    return _axis_stages(ctx, y, kernel_size, stride, dilation, pads, [f] * rank, lambda c: c, bias)


def _sub_node(node, index: int, kind: str, fields: dict) -> Node:
    return Node(f"{node.name}.mid{index + 1}", kind, dict(fields), [node.name], node.mark)


@kernel("depthwise_separable")
def depthwise_separable(ctx: Context, node, xs):
    """Depthwise k×k (C → C·m, groups C), the mid layers, pointwise 1×1 (C·m → C_out)."""
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    bias, rank = node.fields.get("bias", True), len(kernel_size)
    wide = c_in * node.fields.get("multiplier", 1)
    y = _conv(ctx, x, wide, kernel_size, stride, dilation, pads, out_sizes, c_in, bias)
    for index, (kind, fields) in enumerate(node.fields.get("mid", ())):
        fn = KERNELS.get(kind)
        if fn is None:
            ctx.fail(f"the executor has no kernel for the mid layer `{kind}`", "use a kind the executor knows", "mid")
        y = fn(ctx, _sub_node(node, index, kind, fields), [y])
        if y.shape[1:] != (wide, *out_sizes):
            ctx.fail(f"mid layer `{kind}` changed the shape to {y.shape[1:]}", "use shape-keeping layers", "mid")
    return _conv(ctx, y, node.fields["out"], (1,) * rank, (1,) * rank, (1,) * rank, [(0, 0)] * rank, out_sizes,
                 1, bias)


# ---- channel mixing -------------------------------------------------------------------------------------------
@kernel("channel_shuffle")
def channel_shuffle(ctx: Context, node, xs):
    """torch.nn.ChannelShuffle: view (B, g, C/g, …), swap the two channel axes, flatten."""
    x = xs[0]
    groups, channels = node.fields["groups"], x.shape[1]
    if channels % groups:
        ctx.fail(f"the channels ({channels}) are not divisible by groups ({groups})",
                 f"choose groups dividing {channels}", "groups")
    rest = x.shape[2:]
    return np.ascontiguousarray(x.reshape(x.shape[0], groups, channels // groups, *rest).swapaxes(1, 2)
                                .reshape(x.shape))


@kernel("channel_slice")
def channel_slice(ctx: Context, node, xs):
    x = xs[0]
    start = node.fields.get("start", 0)
    stop = node.fields.get("stop")
    stop = x.shape[1] if stop is None else stop
    if not 0 <= start < stop <= x.shape[1]:
        ctx.fail(f"channels [{start}, {stop}) are not a non-empty range of the {x.shape[1]} input channels",
                 "use 0 ≤ start < stop ≤ C", "stop")
    return x[:, start:stop].copy()


@kernel("squeeze_excitation")
def squeeze_excitation(ctx: Context, node, xs):
    """Mean over positions → FC C→S → activation → FC S→C → gate → x · gate."""
    x = xs[0]
    require_rank(ctx, x)
    batch, c = x.shape[:2]
    s = node.fields.get("squeeze")
    if s is None:
        r = node.fields.get("reduction", 16)
        if c % r:
            ctx.fail(f"the channels ({c}) are not divisible by the reduction ({r})", "give `squeeze:`", "reduction")
        s = c // r
    bias = node.fields.get("bias", True)
    pooled = x.reshape(batch, c, -1).mean(axis=2)                        # (B, C)
    h = _dense(ctx, pooled, s, bias)
    h = _apply(ctx, node, node.fields.get("activation", "relu"), h)
    g = _dense(ctx, h, c, bias)
    g = _apply(ctx, node, node.fields.get("gate", "sigmoid"), g)
    return x * g.reshape(batch, c, *([1] * (x.ndim - 2)))


def _dense(ctx: Context, x, out: int, bias: bool):
    w = ctx.weight((out, x.shape[1]), x.shape[1])
    b = ctx.weight((out,), x.shape[1], role="bias") if bias else None
    y = ctx.matmul(x[:, None, :], w.T[None])[:, 0]                       # (B, 1, in) @ (1, in, out)
    return y + b if b is not None else y


def _apply(ctx: Context, node, kind: str, x):
    return KERNELS[kind](ctx, Node(f"{node.name}.{kind}", kind, {}, [node.name], node.mark), [x])


# ---- deformable ------------------------------------------------------------------------------------------------
def deformable_samples(x: np.ndarray, offsets: np.ndarray, kernel_size, stride, dilation, pads, out_sizes,
                       offset_groups: int):
    """The d-linear sampling behind a deformable conv, shared by the forward kernel and its VJP.

    Tap t of output o along axis a reads ``o·s − p_b + t·dil + Δ``, Δ from ``offsets (B, G·Πk·d, *N_out)``
    (channel ``g·Πk·d + t·d + a``, torchvision's layout); corners outside the input read 0. Yields, per tap t and
    offset group g, ``(t, g, channels, corners)``: ``channels`` the group's channel slice and ``corners`` one
    ``(linear, factors)`` per corner of the interpolation cell, with ``linear (B, ΠN_out)`` the flat input index
    (clipped; its weight is 0 outside) and ``factors`` per axis ``(weight, inside, bit)``: the 1-D weight
    (``frac`` for the upper corner, ``1 − frac`` for the lower, 0 outside), where the corner is inside, and which
    corner it is.
    """
    batch, c, *sizes = x.shape
    rank, taps, positions = len(sizes), prod(kernel_size), prod(out_sizes)
    c_group = c // offset_groups
    strides = [prod(sizes[a + 1:]) for a in range(rank)]
    grids = np.meshgrid(*(np.arange(o) for o in out_sizes), indexing="ij")
    offsets = offsets.reshape(batch, offset_groups, taps, rank, positions)
    for t, tap in enumerate(product(*(range(k) for k in kernel_size))):
        base = [(grid.reshape(-1) * s - pb + tt * d) for grid, s, (pb, _), tt, d in
                zip(grids, stride, pads, tap, dilation)]
        for g in range(offset_groups):
            where = [base[a][None] + offsets[:, g, t, a] for a in range(rank)]        # (B, ΠN_out) per axis
            low = [np.floor(w) for w in where]
            frac = [w - lo for w, lo in zip(where, low)]
            corners = []
            for corner in product((0, 1), repeat=rank):
                linear = np.zeros((batch, positions), dtype=np.int64)
                factors = []
                for a, bit in enumerate(corner):
                    index = low[a].astype(np.int64) + bit
                    inside = (index >= 0) & (index < sizes[a])
                    factors.append((np.where(inside, frac[a] if bit else 1 - frac[a], 0), inside, bit))
                    linear += np.clip(index, 0, sizes[a] - 1) * strides[a]
                corners.append((linear, factors))
            yield t, g, slice(g * c_group, (g + 1) * c_group), corners


def deformable_columns(ctx: Context, x: np.ndarray, offsets: np.ndarray, mask: np.ndarray | None, kernel_size,
                       stride, dilation, pads, out_sizes, offset_groups: int) -> np.ndarray:
    """Sample ``x (B, C, *N)`` at the displaced taps (:func:`deformable_samples`): columns ``(B, C, Πk, ΠN_out)``.
    ``mask (B, G·Πk, *N_out)`` (v2) multiplies each sampled value."""
    batch, c, *sizes = x.shape
    taps, positions = prod(kernel_size), prod(out_sizes)
    flat = x.reshape(batch, c, prod(sizes))
    cols = np.zeros((batch, c, taps, positions), dtype=x.dtype)
    b_index = np.arange(batch)[:, None, None]
    for t, g, group, corners in deformable_samples(x, offsets, kernel_size, stride, dilation, pads, out_sizes,
                                                   offset_groups):
        channels = np.arange(group.start, group.stop)[None, :, None]
        acc = cols[:, group, t]                                                   # (B, C/G, ΠN_out) view
        for linear, factors in corners:
            weight = np.ones((batch, positions), dtype=x.dtype)
            for value, _, _ in factors:
                weight = weight * value.astype(x.dtype)
            values = flat[b_index, channels, linear[:, None, :]]                      # (B, C/G, ΠN_out)
            ctx.fma(acc, values, weight[:, None, :])
        if mask is not None:
            m = mask.reshape(batch, offset_groups, taps, positions)[:, g, t][:, None, :]
            acc *= m
            ctx.macs(acc.size)
    return cols


@kernel("deformable")
def deformable(ctx: Context, node, xs):
    """Offset conv (C_in → C_off, bias) → d-linear sampling at the offsets → main conv on the samples."""
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    fields = node.fields
    c_out, groups = fields["out"], fields.get("groups", 1)
    g_off, modulated, rank = fields.get("offset_groups", 1), bool(fields.get("modulated", False)), len(out_sizes)
    for channels, what, key in ((c_in, "input channels", "groups"), (c_out, "output channels", "groups")):
        if channels % groups:
            ctx.fail(f"the {what} ({channels}) are not divisible by groups ({groups})", "choose dividing groups", key)
    if c_in % g_off:
        ctx.fail(f"the input channels ({c_in}) are not divisible by offset_groups ({g_off})",
                 "choose dividing offset_groups", "offset_groups")
    taps = prod(kernel_size)
    n_off = rank * g_off * taps
    off = _conv(ctx, x, n_off + (g_off * taps if modulated else 0), kernel_size, stride, dilation, pads,
                out_sizes, 1, True)
    offsets = off[:, :n_off]
    mask = 1 / (1 + np.exp(-off[:, n_off:])) if modulated else None    # DCNv2: sigmoid of the mask logits
    cols = deformable_columns(ctx, x, offsets, mask, kernel_size, stride, dilation, pads, out_sizes, g_off)
    fan_in = c_in // groups * taps
    w = ctx.weight((c_out, c_in // groups, *kernel_size), fan_in)
    b = ctx.weight((c_out,), fan_in, role="bias") if fields.get("bias", True) else None
    batch = x.shape[0]
    y = ctx.matmul(w.reshape(groups, c_out // groups, fan_in),
                   cols.reshape(batch, groups, fan_in, prod(out_sizes)))
    y = y.reshape(batch, c_out, *out_sizes)
    return y + b.reshape(c_out, *([1] * rank)) if b is not None else y


# ---- unshared and tiled ----------------------------------------------------------------------------------------
def _im2col(x, kernel_size, stride, dilation, pads, out_sizes) -> np.ndarray:
    """Columns ``(B, C·Πk, *N_out)`` of ``x`` (channel-major, then taps in row-major order)."""
    batch, c = x.shape[:2]
    rank = len(kernel_size)
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
    win = sliding_window_view(pad(x, pads), k_eff, axis=tuple(range(2, 2 + rank)))
    win = win[(slice(None), slice(None)) + tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out_sizes, stride))
              + tuple(slice(None, None, d) for d in dilation)]                    # (B, C, *N_out, *k)
    order = (0, 1) + tuple(range(2 + rank, 2 + 2 * rank)) + tuple(range(2, 2 + rank))
    return np.ascontiguousarray(win.transpose(order)).reshape(batch, c * prod(kernel_size), *out_sizes)


@kernel("locally_connected")
def locally_connected(ctx: Context, node, xs):
    """One kernel per output position: y[b, :, o] = W[o] @ cols[b, :, o] (a GEMM per position)."""
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    c_out, batch, positions = node.fields["out"], x.shape[0], prod(out_sizes)
    fan_in = c_in * prod(kernel_size)
    w = ctx.weight((*out_sizes, c_out, c_in, *kernel_size), fan_in)
    cols = _im2col(x, kernel_size, stride, dilation, pads, out_sizes).reshape(batch, fan_in, positions)
    y = ctx.matmul(w.reshape(positions, c_out, fan_in), cols.transpose(2, 1, 0))  # (P, C_out, B)
    y = y.transpose(2, 1, 0).reshape(batch, c_out, *out_sizes)
    mode = node.fields.get("bias", "element")
    if mode == "element":
        y = y + ctx.weight((c_out, *out_sizes), fan_in, role="bias")
    elif mode == "channel":
        y = y + ctx.weight((c_out,), fan_in, role="bias").reshape(c_out, *([1] * len(out_sizes)))
    return y


@kernel("tiled")
def tiled(ctx: Context, node, xs):
    """Π t kernels: output position o uses kernel (o mod t) per axis; one grouped GEMM per kernel."""
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    c_out, groups, batch = node.fields["out"], node.fields.get("groups", 1), x.shape[0]
    for channels, what in ((c_in, "input"), (c_out, "output")):
        if channels % groups:
            ctx.fail(f"{what} channels ({channels}) are not divisible by groups ({groups})", "choose dividing groups",
                     "groups")
    tiles = tuple(min(t, o) for t, o in zip(per_axis(ctx, node, "tile", len(out_sizes)), out_sizes))
    c_group, o_group = c_in // groups, c_out // groups
    fan_in = c_group * prod(kernel_size)
    w = ctx.weight((*tiles, c_out, c_group, *kernel_size), fan_in)
    b = ctx.weight((*tiles, c_out), fan_in, role="bias") if node.fields.get("bias", True) else None
    cols = _im2col(x, kernel_size, stride, dilation, pads, out_sizes).reshape(batch, groups, fan_in, *out_sizes)
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


# ---- pooling ---------------------------------------------------------------------------------------------------
def _windows(ctx: Context, node, x: np.ndarray):
    """Every window of a pad-free pooling as a trailing axis: ``(B, C, *N_out, Πk)``, zero beyond the input
    for a ceil-mode last window (which never starts outside it)."""
    rank = require_rank(ctx, x)
    kernel_size = per_axis(ctx, node, "kernel", rank)
    stride = kernel_size if node.fields.get("stride") is None else per_axis(ctx, node, "stride", rank)
    ceil_mode = bool(node.fields.get("ceil_mode", False))
    out_sizes = [window_count(ctx, a, n, k, s, (0, 0), ceil_mode)
                 for a, (n, k, s) in enumerate(zip(x.shape[2:], kernel_size, stride))]
    extra = [(0, max(0, (o - 1) * s + k - n)) for n, k, s, o in zip(x.shape[2:], kernel_size, stride, out_sizes)]
    xp = pad(x, extra)
    parts = [xp[(slice(None), slice(None)) + tuple(slice(t, t + (o - 1) * s + 1, s)
                                                   for t, o, s in zip(tap, out_sizes, stride))]
             for tap in product(*(range(k) for k in kernel_size))]
    return np.stack(parts, axis=-1)


@kernel("lppool")
def lppool(ctx: Context, node, xs):
    """torch.nn.LPPool: (Σ x^p)^(1/p) per window, as sign(s)·|s|^(1/p) (PyTorch's form)."""
    x = xs[0]
    p = float(node.fields["p"])
    total = np.sum(_windows(ctx, node, x.astype(np.float64) ** p), axis=-1)
    return (np.sign(total) * np.abs(total) ** (1.0 / p)).astype(x.dtype)


@kernel("stochastic_pool")
def stochastic_pool(ctx: Context, node, xs):
    """Zeiler & Fergus 2013. test: Σa²/Σa; train: one a_i drawn with probability a_i/Σa (ctx.rng). Needs a ≥ 0."""
    x = xs[0]
    if x.size and x.min() < 0 and not ctx.max_as_sum:
        ctx.fail(f"stochastic pooling needs non-negative input, but the smallest value is {float(x.min()):g}",
                 "put a relu (or another non-negative activation) before it")
    windows = _windows(ctx, node, x)
    total = windows.sum(axis=-1)
    if ctx.max_as_sum:  # the receptive-field probe: every tap counts, nothing cancels
        return total
    if node.fields.get("mode", "test") == "test":
        safe = np.where(total > 0, total, 1)
        return np.where(total > 0, (windows * windows).sum(axis=-1) / safe, 0).astype(x.dtype)
    u = ctx.rng.random(total.shape) * total
    running = np.cumsum(windows, axis=-1)
    pick = np.minimum((running <= u[..., None]).sum(axis=-1), windows.shape[-1] - 1)
    chosen = np.take_along_axis(windows, pick[..., None], axis=-1)[..., 0]
    return np.where(total > 0, chosen, 0).astype(x.dtype)


# ---- sub-pixel rearrangement -------------------------------------------------------------------------------
@kernel("pixel_shuffle")
def pixel_shuffle(ctx: Context, node, xs):
    """torch.nn.PixelShuffle, d-D: (B, C·r^d, *N) → view (B, C, r, …, r, *N) → (B, C, N_1, r, N_2, r, …)."""
    x = xs[0]
    rank = require_rank(ctx, x)
    r = node.fields["factor"]
    batch, channels, *sizes = x.shape
    if channels % r ** rank:
        ctx.fail(f"the channels ({channels}) are not divisible by r^d = {r ** rank}", "adjust the channels", "factor")
    y = x.reshape(batch, channels // r ** rank, *([r] * rank), *sizes)
    order = (0, 1) + tuple(i for a in range(rank) for i in (2 + rank + a, 2 + a))
    return np.ascontiguousarray(y.transpose(order)).reshape(batch, channels // r ** rank, *(n * r for n in sizes))


@kernel("pixel_unshuffle")
def pixel_unshuffle(ctx: Context, node, xs):
    """torch.nn.PixelUnshuffle, d-D: (B, C, *N·r) → view (B, C, N_1, r, N_2, r, …) → (B, C·r^d, *N)."""
    x = xs[0]
    rank = require_rank(ctx, x)
    r = node.fields["factor"]
    batch, channels, *sizes = x.shape
    if any(n % r for n in sizes):
        ctx.fail(f"the spatial sizes {tuple(sizes)} are not divisible by the factor {r}", "pad the input", "factor")
    y = x.reshape(batch, channels, *(v for n in sizes for v in (n // r, r)))
    order = (0, 1) + tuple(3 + 2 * a for a in range(rank)) + tuple(2 + 2 * a for a in range(rank))
    return np.ascontiguousarray(y.transpose(order)).reshape(batch, channels * r ** rank, *(n // r for n in sizes))

