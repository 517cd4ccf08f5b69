"""Deformable convolution (Dai et al. 2017; v2 with a modulation mask, Zhu et al. 2019), as torchvision's
``deform_conv2d`` generalised to 1/2/3-D: an offset conv predicts a displacement per tap (and with
``modulated`` a mask logit), the input is sampled d-linearly at the displaced taps, and the main conv runs on the
samples.

Weights, in allocation order (``Execution.weights[name]``): offset conv ``(C_off, C_in, *k)``, its bias
``(C_off,)``, main ``(C_out, C_in/g, *k)`` (+ bias). MACs: the offset conv and the main GEMM count M·K·N; the
sampling counts one MAC per corner per sampled value (2^d) and one per mask multiply (v2). The sampling
(:func:`deformable_samples`) and the offset branch (:func:`offsets_and_mask`) are shared with the backward pass.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np

from .base import Context, footprint, kernel, nbytes
from .conv import check_groups, conv_nd_bytes, conv_stage, sliding_geometry


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


def samples_bytes(batch: int, rank: int, positions: int) -> int:
    """What :func:`deformable_samples` holds while its consumer reads a tap: two taps' worth (the one read, and
    the next being built) of, in float64 per ``(B, ΠN_out)``, the coordinates, floors and fractions per axis and
    per corner the flat index and per axis the weight and the mask; and the position grids."""
    per_tap = (3 * rank + 2 ** rank * (1 + rank)) * 8 + 2 ** rank * rank
    return 2 * per_tap * batch * positions + 2 * rank * positions * 8


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


def offsets_and_mask(ctx: Context, node, x: np.ndarray):
    """The geometry ``(kernel, stride, dilation, pads, out_sizes)``, the offset groups, and the offsets
    ``(B, G·Πk·d, *N_out)`` and mask ``(B, G·Πk, *N_out)`` (None unless ``modulated``) that the offset conv
    (C_in → C_off, with bias; allocated, or replayed) predicts."""
    geometry = sliding_geometry(ctx, node, x)
    kernel_size, stride, dilation, pads, out_sizes = geometry
    fields = node.fields
    c_in, c_out, groups = x.shape[1], fields["out"], fields.get("groups", 1)
    g_off, modulated = fields.get("offset_groups", 1), bool(fields.get("modulated", False))
    check_groups(ctx, c_in, c_out, groups)
    if c_in % g_off:
        ctx.fail(f"the input channels ({c_in}) are not divisible by offset_groups ({g_off})",
                 "choose dividing offset_groups", "offset_groups")
    taps = prod(kernel_size)
    n_off = len(out_sizes) * g_off * taps
    off = conv_stage(ctx, x, n_off + (g_off * taps if modulated else 0), kernel_size, stride, dilation, pads,
                     out_sizes, 1, True)
    mask = 1 / (1 + np.exp(-off[:, n_off:])) if modulated else None    # DCNv2: sigmoid of the mask logits
    return geometry, g_off, off[:, :n_off], mask


@kernel("deformable")
def deformable(ctx: Context, node, xs):
    """Offset conv (C_in → C_off, bias) → d-linear sampling at the offsets → main conv on the samples."""
    x = xs[0]
    (kernel_size, stride, dilation, pads, out_sizes), g_off, offsets, mask = offsets_and_mask(ctx, node, x)
    c_in, c_out, groups = x.shape[1], node.fields["out"], node.fields.get("groups", 1)
    cols = deformable_columns(ctx, x, offsets, mask, kernel_size, stride, dilation, pads, out_sizes, g_off)
    fan_in = c_in // groups * prod(kernel_size)
    w = ctx.weight((c_out, c_in // groups, *kernel_size), fan_in)
    b = ctx.weight((c_out,), fan_in, role="bias") if node.fields.get("bias", True) else None
    batch = x.shape[0]
    y = ctx.matmul(w.reshape(groups, c_out // groups, fan_in),
                   cols.reshape(batch, groups, fan_in, prod(out_sizes)))
    y = y.reshape(batch, c_out, *out_sizes)
    return y + b.reshape(c_out, *([1] * len(out_sizes))) if b is not None else y


def footprint_sizes(ctx: Context, node, x):
    """What the footprints of the kernel and its VJP read: the geometry, and (B, C_in, the offset groups G, Πk,
    ΠN_out, the rank, the offset conv's output channels (rank + the mask's 1) · G · Πk)."""
    geometry = sliding_geometry(ctx, node, x)
    kernel_size, out_sizes = geometry[0], geometry[4]
    g_off, taps, rank = node.fields.get("offset_groups", 1), prod(kernel_size), len(out_sizes)
    n_conv = (rank + (1 if node.fields.get("modulated", False) else 0)) * g_off * taps
    return geometry, (x.shape[0], x.shape[1], g_off, taps, prod(out_sizes), rank, n_conv)


@footprint("deformable")
def deformable_footprint(ctx: Context, node, xs, y):
    """The offset conv (its output O, then the mask's sigmoid: three temporaries of the mask's size M and M); the
    sampled columns ``(B, C, Πk, ΠN_out)``, the sampling's per-tap arrays, one gathered group and its weighted
    copy; the main GEMM's output and + bias."""
    x = xs[0]
    (kernel_size, stride, _, pads, out_sizes), (batch, c_in, g_off, taps, positions, rank, n_conv) = \
        footprint_sizes(ctx, node, x)
    fields = node.fields
    offset = conv_nd_bytes(x.shape, (n_conv, c_in, *kernel_size), stride, pads, out_sizes, 1, x.itemsize)
    mask = nbytes((batch, g_off * taps, positions), x.itemsize) if fields.get("modulated", False) else 0
    offsets = nbytes((batch, n_conv, positions), x.itemsize)
    cols = nbytes((batch, c_in, taps, positions), x.itemsize)
    group = nbytes((batch, c_in // g_off, positions), x.itemsize)
    sampling = samples_bytes(batch, rank, positions) + 2 * group + nbytes((batch, positions), x.itemsize)
    return max(offset, offsets + 4 * mask) + cols + max(sampling, 2 * y.nbytes)
