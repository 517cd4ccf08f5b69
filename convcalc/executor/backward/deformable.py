"""VJP of the deformable convolution, exact through both branches: the d-linear sampling (a scatter of the column
gradient with the same corner weights, :func:`~convcalc.executor.deformable.deformable_samples`) and the offset
conv (the derivative of the corner weights w.r.t. the sampling coordinate, ±1 times the other axes' weights;
DCNv2's mask through its sigmoid). At integer coordinates (where ``floor`` jumps) the one-sided derivative of the
cell the forward used is taken, as torchvision does. The offsets are recomputed by the forward's
:func:`~convcalc.executor.deformable.offsets_and_mask` from the node's kept arrays."""

from __future__ import annotations

from math import prod

import numpy as np

from ..base import FOOTPRINTS, nbytes
from ..deformable import deformable_columns, deformable_samples, footprint_sizes, offsets_and_mask, samples_bytes
from .base import GradContext, scatter_add, train_step, vjp, vjp_footprint
from .conv import _COUNTER, conv_input_grad, conv_input_grad_bytes, conv_weight_grad


def _deformable_backward(x, offsets, mask, gcols, kernel_size, stride, dilation, pads, out_sizes, offset_groups,
                         ctx=_COUNTER, input_side: bool = True):
    """The gradient of :func:`~convcalc.executor.deformable.deformable_columns` w.r.t. x (through the sampling),
    the offsets and the mask, given ``gcols (B, C, Πk, ΠN_out)``. Same sampling (:func:`deformable_samples`);
    a corner's 1-D weight changes with Δ at slope +1 (upper corner) or −1 (lower), 0 outside.

    ``ctx`` counts the products (the training pass): per sampled value g·mask (v2), per corner its scatter into
    x's gradient (only with ``input_side``) and its product with x for the corner weight's gradient, per corner
    and axis of each sampling point the offset gradient's product, per sampled value the mask's g·sample (v2);
    the sample itself, recomputed for the mask gradient, is forward work and not counted."""
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
            gv = grad * masks[:, g, t][:, None, :].astype(np.float64)
            ctx.macs(gv.size)
            sampled = np.zeros(grad.shape)
        else:
            gv = grad
        for linear, corner in corners:
            factors = [(value, np.where(inside, 1.0 if bit else -1.0, 0)) for value, inside, bit in corner]
            weight = np.ones((batch, positions))
            for value, _ in factors:
                weight = weight * value
            values = flat[b_index, channels, linear[:, None, :]].astype(np.float64)  # (B, C/G, ΠN_out)
            if masks is not None:
                sampled += values * weight[:, None, :]
            if input_side:
                scatter_idx = (np.arange(batch)[:, None, None] * c + channels) * prod(sizes) + linear[:, None, :]
                scatter_add(gx, np.broadcast_to(scatter_idx, grad.shape), gv * weight[:, None, :])
                ctx.macs(gv.size)
            along = (gv * values).sum(axis=1)                                       # (B, ΠN_out)
            ctx.macs(gv.size)
            for a in range(rank):
                d_weight = factors[a][1]
                for b2, (value, _) in enumerate(factors):
                    if b2 != a:
                        d_weight = d_weight * value
                g_off[:, g, t, a] += along * d_weight
                ctx.macs(along.size)
        if masks is not None:
            g_mask[:, g, t] += (grad * sampled).sum(axis=1)
            ctx.macs(grad.size)
    return gx.reshape(x.shape), g_off, g_mask


@vjp("deformable")
def deformable(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    (kernel_size, stride, dilation, pads, out_sizes), g_off, offsets, mask = offsets_and_mask(ctx.replay(), node, x)
    c_in, c_out, groups = x.shape[1], node.fields["out"], node.fields.get("groups", 1)
    taps, n_off = prod(kernel_size), offsets.shape[1]
    w_off, w = ctx.weights[0], ctx.weights[2]
    batch, fan_in = x.shape[0], c_in // groups * taps
    wt = w.reshape(groups, c_out // groups, fan_in).transpose(0, 2, 1)
    gcols = np.matmul(wt, gy.reshape(batch, groups, c_out // groups, prod(out_sizes)))
    gcols = gcols.reshape(batch, c_in, taps, prod(out_sizes))
    gx, g_offsets, g_mask = _deformable_backward(x, offsets, mask, gcols, kernel_size, stride, dilation, pads,
                                                 out_sizes, g_off)
    g_conv = g_offsets.reshape(batch, n_off, *out_sizes)
    if mask is not None:
        m = mask.astype(np.float64).reshape(batch, -1, *out_sizes)
        g_logits = g_mask.reshape(m.shape) * m * (1 - m)
        g_conv = np.concatenate([g_conv, g_logits], axis=1)
    gx = gx + conv_input_grad(g_conv.astype(w_off.dtype), w_off, x.shape[2:], stride, dilation, pads, 1)
    return [gx.astype(gy.dtype)]


@vjp_footprint("deformable")
def deformable_footprint(ctx: GradContext, node, xs, y, gy):
    """The replayed offset branch (the forward's footprint bounds it), the column gradient, in float64 the input,
    offset and mask gradients; per tap and corner, the sampling's arrays, six float64 arrays of one group's size
    and the scatter's two full-size float64 sums; at the end the offset gradients' copies and the offset conv's
    input gradient beside the float64 input gradient."""
    x = xs[0]
    (kernel_size, stride, dilation, pads, out_sizes), (batch, c_in, g_off, taps, positions, rank, n_conv) = \
        footprint_sizes(ctx, node, x)
    replay = FOOTPRINTS["deformable"](ctx, node, xs, y)
    offsets = nbytes((batch, n_conv, positions), gy.itemsize)  # the replay's offsets and mask, held throughout
    cols = nbytes((batch, c_in, taps, positions), gy.itemsize)
    gx64 = nbytes(x.shape, 8)
    grads = nbytes((batch, n_conv, positions), 8)
    group = nbytes((batch, c_in // g_off, positions), 8)
    corner = samples_bytes(batch, rank, positions) + 6 * group + 2 * gx64 + 4 * nbytes((batch, positions), 8)
    offset_grad = conv_input_grad_bytes((batch, n_conv, *out_sizes), (n_conv, c_in, *kernel_size), x.shape[2:],
                                        stride, dilation, pads, 1, gy.itemsize)
    end = 3 * grads + offset_grad + gx64 + x.nbytes
    return max(replay, offsets + cols + gx64 + grads + max(corner, end))


@train_step("deformable")
def deformable_train(ctx: GradContext, wctx: GradContext, node, xs, y, gy, input_grad, trainable):
    """The main conv's weight gradient on the replayed columns and its column gradient Wᵀ·gy; the sampling's
    gradient (the scatter into x only for the input gradient); the offset conv's weight gradient and, for the
    input gradient only, its input gradient."""
    x = xs[0]
    replay = ctx.replay()
    (kernel_size, stride, dilation, pads, out_sizes), g_off, offsets, mask = offsets_and_mask(replay, node, x)
    c_in, c_out, groups = x.shape[1], node.fields["out"], node.fields.get("groups", 1)
    taps, n_off, positions = prod(kernel_size), offsets.shape[1], prod(out_sizes)
    w_off, w = ctx.weights[0], ctx.weights[2]
    batch, fan_in = x.shape[0], c_in // groups * taps
    g = gy.reshape(batch, groups, c_out // groups, positions)
    if trainable:
        cols = deformable_columns(_COUNTER, x, offsets, mask, kernel_size, stride, dilation, pads, out_sizes, g_off)
        wctx.matmul(g, cols.reshape(batch, groups, fan_in, positions).transpose(0, 1, 3, 2))
    gcols = ctx.matmul(w.reshape(groups, c_out // groups, fan_in).transpose(0, 2, 1), g)
    gcols = gcols.reshape(batch, c_in, taps, positions)
    gx, g_offsets, g_mask = _deformable_backward(x, offsets, mask, gcols, kernel_size, stride, dilation, pads,
                                                 out_sizes, g_off, ctx, input_grad)
    g_conv = g_offsets.reshape(batch, n_off, *out_sizes)
    if mask is not None:
        m = mask.astype(np.float64).reshape(batch, -1, *out_sizes)
        g_conv = np.concatenate([g_conv, g_mask.reshape(m.shape) * m * (1 - m)], axis=1)
    g_conv = g_conv.astype(w_off.dtype)
    if trainable:
        conv_weight_grad(wctx, x, g_conv, kernel_size, stride, dilation, pads, 1)
    if not input_grad:
        return [None]
    gx = gx + conv_input_grad(g_conv, w_off, x.shape[2:], stride, dilation, pads, 1, ctx)
    return [gx.astype(gy.dtype)]
