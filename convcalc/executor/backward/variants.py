"""VJPs of the convolution variants (issue 4).

* separable / flattened / depthwise_separable: chains of convolution stages; each stage's input gradient is
  :func:`~.conv.conv_input_grad`; mid layers of depthwise_separable are recomputed from the node's kept arrays
  (:meth:`GradContext.replay`) and go through their own VJPs;
* squeeze_excitation: y = x · gate(mean(x)); both the direct term and the gate path are differentiated;
* deformable: exact, through both branches: the d-linear sampling (scatter of the column gradient with the same
  corner weights) and the offset conv (the derivative of the corner weights w.r.t. the sampling coordinate,
  ±1 times the other axes' weights; DCNv2's mask through its sigmoid). At integer coordinates (where ``floor``
  jumps) the one-sided derivative of the cell the forward used is taken, as torchvision does;
* locally_connected / tiled: per-position (per-tile) GEMMs ``Wᵀ · gy`` then col2im;
* lppool: d/dx_i (Σ x^p)^(1/p) = x_i^(p−1) · S^(1/p − 1) (0 where the window sum S is 0);
* stochastic_pool: ``max_as_sum`` → a window sum; ``mode: test`` (Σa²/Σa) exactly: (2a_i − y)/Σa; ``mode:
  train`` is treated deterministically: the gradient goes to the first element of the window equal to the
  value drawn (the sampled element; d/da of a_chosen), with no derivative through the drawing probabilities;
* channel_shuffle / channel_slice / pixel_shuffle / pixel_unshuffle: the inverse rearrangements.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np

from ...spec.graph import Node
from ..base import KERNELS, pad, per_axis, require_rank, window_count
from ..conv import conv_nd
from ..variants import _conv, _geometry, _only_axis, _sub_node, deformable_samples
from .base import GradContext, apply_vjp, crop, scatter_add, taps_of, vjp, window_index
from .conv import conv_input_grad


def _axis_stages(ctx, sizes, kernel_size, stride, dilation, pads):
    """Per axis (the forward's `_axis_stages`): (k, s, d, pads, input sizes) of the 1-D stage along that axis."""
    stages = []
    sizes = list(sizes)
    for axis in range(len(kernel_size)):
        k = _only_axis(kernel_size, axis, 1)
        p = [pads[a] if a == axis else (0, 0) for a in range(len(sizes))]
        s = _only_axis(stride, axis, 1)
        d = _only_axis(dilation, axis, 1)
        out = [window_count(ctx, a, n, dd * (kk - 1) + 1, ss, pp)
               for a, (n, kk, ss, dd, pp) in enumerate(zip(sizes, k, s, d, p))]
        stages.append((s, d, p, tuple(sizes)))
        sizes = out
    return stages


@vjp("separable")
def separable(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    _, kernel_size, stride, dilation, pads, _ = _geometry(ctx, node, x)
    per_stage = 2 if node.fields.get("bias", True) else 1
    stages = _axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    g = gy
    for index in reversed(range(len(stages))):
        s, d, p, sizes = stages[index]
        g = conv_input_grad(g, ctx.weights[index * per_stage], sizes, s, d, p, 1)
    return [g]


@vjp("flattened")
def flattened(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    _, kernel_size, stride, dilation, pads, _ = _geometry(ctx, node, x)
    per_stage = 2 if node.fields.get("bias", True) else 1
    f, rank = node.fields["out"], len(kernel_size)
    stages = _axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    g = gy
    for index in reversed(range(len(stages))):
        s, d, p, sizes = stages[index]
        g = conv_input_grad(g, ctx.weights[(index + 1) * per_stage], sizes, s, d, p, f)
    ones = (1,) * rank
    return [conv_input_grad(g, ctx.weights[0], x.shape[2:], ones, ones, [(0, 0)] * rank, 1)]


@vjp("depthwise_separable")
def depthwise_separable(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    bias, rank = node.fields.get("bias", True), len(kernel_size)
    wide = c_in * node.fields.get("multiplier", 1)
    replay = ctx.replay()
    h = _conv(replay, x, wide, kernel_size, stride, dilation, pads, out_sizes, c_in, bias)
    steps = []
    for index, (kind, fields) in enumerate(node.fields.get("mid", ())):
        sub = _sub_node(node, index, kind, fields)
        w0, b0 = len(replay.weights), len(replay.buffer_arrays)
        out = KERNELS[kind](replay, sub, [h])
        steps.append((sub, h, out, replay.weights[w0:], replay.buffer_arrays[b0:]))
        h = out
    ones = (1,) * rank
    g = conv_input_grad(gy, ctx.weights[len(replay.weights)], out_sizes, ones, ones, [(0, 0)] * rank, 1)
    for sub, h_in, h_out, weights, buffers in reversed(steps):
        g = apply_vjp(ctx.sub(sub, weights, buffers), sub, [h_in], h_out, g)[0]
    return [conv_input_grad(g, ctx.weights[0], x.shape[2:], stride, dilation, pads, c_in)]




# ---- channel mixing -------------------------------------------------------------------------------------------
@vjp("channel_shuffle")
def channel_shuffle(ctx, node, xs, y, gy):
    """Forward: view (B, g, C/g, …) and swap; its inverse views (B, C/g, g, …) and swaps back."""
    x = xs[0]
    groups, channels = node.fields["groups"], x.shape[1]
    rest = x.shape[2:]
    return [np.ascontiguousarray(gy.reshape(x.shape[0], channels // groups, groups, *rest).swapaxes(1, 2)
                                 .reshape(x.shape))]


@vjp("channel_slice")
def channel_slice(ctx, node, xs, y, gy):
    x = xs[0]
    start = node.fields.get("start", 0)
    gx = np.zeros(x.shape, dtype=gy.dtype)
    gx[:, start:start + gy.shape[1]] = gy
    return [gx]


@vjp("squeeze_excitation")
def squeeze_excitation(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    batch, c = x.shape[:2]
    bias = node.fields.get("bias", True)
    step = 2 if bias else 1
    w1, w2 = ctx.weights[0], ctx.weights[step]
    b1 = ctx.weights[1] if bias else None
    b2 = ctx.weights[step + 1] if bias else None
    positions = prod(x.shape[2:])
    pooled = x.reshape(batch, c, -1).mean(axis=2)
    h_pre = pooled @ w1.T + (b1 if bias else 0)
    act = node.fields.get("activation", "relu")
    gate = node.fields.get("gate", "sigmoid")
    act_node = Node(f"{node.name}.{act}", act, {}, [node.name], node.mark)
    gate_node = Node(f"{node.name}.{gate}", gate, {}, [node.name], node.mark)
    fwd = ctx.replay()
    h = KERNELS[act](fwd, act_node, [h_pre])
    g_pre = h @ w2.T + (b2 if bias else 0)
    g = KERNELS[gate](fwd, gate_node, [g_pre])
    spread = (1,) * (x.ndim - 2)
    gx = gy * g.reshape(batch, c, *spread).astype(gy.dtype)
    if not ctx.gates:  # the gate held constant (GradContext.gates): only the direct term
        return [gx]
    g_gate = (gy * x).reshape(batch, c, -1).sum(axis=2)
    g_gpre = apply_vjp(ctx.sub(gate_node), gate_node, [g_pre], g, g_gate)[0]
    g_h = g_gpre @ w2
    g_hpre = apply_vjp(ctx.sub(act_node), act_node, [h_pre], h, g_h)[0]
    g_pooled = (g_hpre @ w1) / gy.dtype.type(positions)
    gx = gx + g_pooled.reshape(batch, c, *spread).astype(gy.dtype)
    return [gx]


# ---- deformable ------------------------------------------------------------------------------------------------
def _deformable_backward(x, offsets, mask, gcols, kernel_size, stride, dilation, pads, out_sizes, offset_groups):
    """The gradient of :func:`~convcalc.executor.variants.deformable_columns` w.r.t. x (through the sampling),
    the offsets and the mask, given ``gcols (B, C, Πk, ΠN_out)``. Same sampling (:func:`deformable_samples`);
    a corner's 1-D weight changes with Δ at slope +1 (upper corner) or −1 (lower), 0 outside."""
    batch, c, *sizes = x.shape
    rank, taps, positions = len(sizes), prod(kernel_size), prod(out_sizes)
    flat = x.reshape(batch, c, prod(sizes))
    masks = mask.reshape(batch, offset_groups, taps, positions) if mask is not None else None
    gx = np.zeros((batch, c, prod(sizes)), dtype=np.float64)
    g_off = np.zeros((batch, offset_groups, taps, rank, positions), dtype=np.float64)
    g_mask = np.zeros((batch, offset_groups, taps, positions), dtype=np.float64) if mask is not None else None
    b_index = np.arange(batch)[:, None, None]
    for t, g, group, corners in deformable_samples(x, offsets, kernel_size, stride, dilation, pads, out_sizes,
                                                   offset_groups):
        channels = np.arange(group.start, group.stop)[None, :, None]
        grad = gcols[:, group, t].astype(np.float64)                               # (B, C/G, ΠN_out)
        if masks is not None:
            m = masks[:, g, t][:, None, :].astype(np.float64)
            sampled = np.zeros(grad.shape)
        else:
            m = 1.0
        for linear, corner in corners:
            factors = [(value, np.where(inside, 1.0 if bit else -1.0, 0)) for value, inside, bit in corner]
            weight = np.ones((batch, positions))
            for value, _ in factors:
                weight = weight * value
            values = flat[b_index, channels, linear[:, None, :]].astype(np.float64)  # (B, C/G, ΠN_out)
            if masks is not None:
                sampled += values * weight[:, None, :]
            scatter_idx = (np.arange(batch)[:, None, None] * c + channels) * prod(sizes) + linear[:, None, :]
            scatter_add(gx, np.broadcast_to(scatter_idx, grad.shape), grad * m * weight[:, None, :])
            along = (grad * m * values).sum(axis=1)                                 # (B, ΠN_out)
            for a in range(rank):
                d_weight = factors[a][1]
                for b2, (value, _) in enumerate(factors):
                    if b2 != a:
                        d_weight = d_weight * value
                g_off[:, g, t, a] += along * d_weight
        if masks is not None:
            g_mask[:, g, t] += (grad * sampled).sum(axis=1)
    return gx.reshape(x.shape), g_off, g_mask


@vjp("deformable")
def deformable(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    fields = node.fields
    c_out, groups = fields["out"], fields.get("groups", 1)
    g_off, modulated, rank = fields.get("offset_groups", 1), bool(fields.get("modulated", False)), len(out_sizes)
    taps = prod(kernel_size)
    n_off = rank * g_off * taps
    w_off, b_off, w = ctx.weights[0], ctx.weights[1], ctx.weights[2]
    off = conv_nd(ctx, x, w_off, b_off, stride, dilation, pads, out_sizes, 1)
    offsets = off[:, :n_off]
    mask = 1 / (1 + np.exp(-off[:, n_off:])) if modulated else None
    batch, fan_in = x.shape[0], c_in // groups * taps
    wt = w.reshape(groups, c_out // groups, fan_in).transpose(0, 2, 1)
    gcols = np.matmul(wt, gy.reshape(batch, groups, c_out // groups, prod(out_sizes)))
    gcols = gcols.reshape(batch, c_in, taps, prod(out_sizes))
    gx, g_offsets, g_mask = _deformable_backward(x, offsets, mask, gcols, kernel_size, stride, dilation, pads,
                                                 out_sizes, g_off)
    g_conv = g_offsets.reshape(batch, n_off, *out_sizes)
    if modulated:
        m = mask.astype(np.float64).reshape(batch, -1, *out_sizes)
        g_logits = g_mask.reshape(m.shape) * m * (1 - m)
        g_conv = np.concatenate([g_conv, g_logits], axis=1)
    gx = gx + conv_input_grad(g_conv.astype(w_off.dtype), w_off, x.shape[2:], stride, dilation, pads, 1)
    return [gx.astype(gy.dtype)]


# ---- unshared and tiled ----------------------------------------------------------------------------------------
def _col2im(gcols, x_shape, kernel_size, stride, dilation, pads, out_sizes):
    """The transpose of the forward's ``_im2col``: ``gcols (B, C·Πk, *N_out)`` (channel-major, then taps)."""
    batch, c, *sizes = x_shape
    gcols = gcols.reshape(batch, c, prod(kernel_size), *out_sizes)
    gxp = np.zeros((batch, c, *(n + b + a for n, (b, a) in zip(sizes, pads))), dtype=gcols.dtype)
    for t, offsets in enumerate(taps_of(kernel_size)):
        gxp[window_index(offsets, dilation, out_sizes, stride)] += gcols[:, :, t]
    return crop(gxp, pads, sizes)


@vjp("locally_connected")
def locally_connected(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    c_out, batch, positions = node.fields["out"], x.shape[0], prod(out_sizes)
    fan_in = c_in * prod(kernel_size)
    w = ctx.weights[0].reshape(positions, c_out, fan_in)
    g = gy.reshape(batch, c_out, positions).transpose(2, 1, 0)                     # (P, C_out, B)
    gcols = np.matmul(w.transpose(0, 2, 1), g).transpose(2, 1, 0)                    # (B, fan_in, P)
    return [_col2im(gcols, x.shape, kernel_size, stride, dilation, pads, out_sizes)]


@vjp("tiled")
def tiled(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    c_in, kernel_size, stride, dilation, pads, out_sizes = _geometry(ctx, node, x)
    c_out, groups, batch = node.fields["out"], node.fields.get("groups", 1), x.shape[0]
    tiles = tuple(min(t, o) for t, o in zip(per_axis(ctx, node, "tile", len(out_sizes)), out_sizes))
    c_group, o_group = c_in // groups, c_out // groups
    fan_in = c_group * prod(kernel_size)
    w = ctx.weights[0]
    g = gy.reshape(batch, groups, o_group, *out_sizes)
    gcols = np.zeros((batch, groups, fan_in, *out_sizes), dtype=gy.dtype)
    for tile in product(*(range(t) for t in tiles)):
        where = (Ellipsis,) + tuple(slice(r, None, t) for r, t in zip(tile, tiles))
        part = g[where]
        shape = part.shape[3:]
        wt = w[tile].reshape(groups, o_group, fan_in).transpose(0, 2, 1)
        gcols[where] = np.matmul(wt, part.reshape(batch, groups, o_group, -1)).reshape(batch, groups, fan_in, *shape)
    # the forward's columns are (B, C·Πk, …) channel-major; grouped as (B, g, C/g·Πk, …): the same order
    return [_col2im(gcols.reshape(batch, c_in * prod(kernel_size), *out_sizes), x.shape, kernel_size, stride,
                    dilation, pads, out_sizes)]


# ---- pooling ---------------------------------------------------------------------------------------------------
def _window_layout(ctx, node, x):
    """The forward ``_windows`` geometry: kernel, stride, output sizes and the ceil-mode extra right padding."""
    rank = require_rank(ctx, x)
    kernel_size = per_axis(ctx, node, "kernel", rank)
    stride = kernel_size if node.fields.get("stride") is None else per_axis(ctx, node, "stride", rank)
    ceil_mode = bool(node.fields.get("ceil_mode", False))
    out_sizes = [window_count(ctx, a, n, k, s, (0, 0), ceil_mode)
                 for a, (n, k, s) in enumerate(zip(x.shape[2:], kernel_size, stride))]
    extra = [(0, max(0, (o - 1) * s + k - n)) for n, k, s, o in zip(x.shape[2:], kernel_size, stride, out_sizes)]
    return kernel_size, stride, out_sizes, extra


def _tap_values(xp, kernel_size, stride, out_sizes):
    return [xp[window_index(tap, (1,) * len(kernel_size), out_sizes, stride)] for tap in taps_of(kernel_size)]


def _scatter_taps(per_tap, x, kernel_size, stride, out_sizes, extra):
    gxp = np.zeros((*x.shape[:2], *(n + a for n, (_, a) in zip(x.shape[2:], extra))), dtype=per_tap[0].dtype)
    for g, tap in zip(per_tap, taps_of(kernel_size)):
        gxp[window_index(tap, (1,) * len(kernel_size), out_sizes, stride)] += g
    return crop(gxp, extra, x.shape[2:])


@vjp("lppool")
def lppool(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    p = float(node.fields["p"])
    kernel_size, stride, out_sizes, extra = _window_layout(ctx, node, x)
    x64 = x.astype(np.float64)
    taps = _tap_values(pad(x64, extra), kernel_size, stride, out_sizes)
    total = sum(v ** p for v in taps)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(total != 0, np.abs(total) ** (1.0 / p - 1.0), 0.0) * gy
        per_tap = [np.where(total != 0, factor * v ** (p - 1), 0.0) for v in taps]
    return [_scatter_taps(per_tap, x, kernel_size, stride, out_sizes, extra).astype(gy.dtype)]


@vjp("stochastic_pool")
def stochastic_pool(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    kernel_size, stride, out_sizes, extra = _window_layout(ctx, node, x)
    taps = _tap_values(pad(x, extra), kernel_size, stride, out_sizes)
    if ctx.max_as_sum:
        per_tap = [gy] * len(taps)
    elif node.fields.get("mode", "test") == "test":
        total = sum(taps)
        safe = np.where(total > 0, total, 1)
        per_tap = [np.where(total > 0, gy * (2 * v - y) / safe, 0).astype(gy.dtype) for v in taps]
    else:
        total = sum(taps)
        taken = np.zeros(y.shape, dtype=bool)
        per_tap = []
        for v in taps:
            hit = (v == y) & ~taken & (total > 0)
            taken |= hit
            per_tap.append(np.where(hit, gy, 0).astype(gy.dtype))
    return [_scatter_taps(per_tap, x, kernel_size, stride, out_sizes, extra)]


# ---- sub-pixel rearrangement -------------------------------------------------------------------------------
@vjp("pixel_shuffle")
def pixel_shuffle(ctx: GradContext, node, xs, y, gy):
    """The inverse rearrangement: pixel_unshuffle of the gradient by the same factor."""
    return [KERNELS["pixel_unshuffle"](ctx, node, [gy])]


@vjp("pixel_unshuffle")
def pixel_unshuffle(ctx: GradContext, node, xs, y, gy):
    return [KERNELS["pixel_shuffle"](ctx, node, [gy])]
