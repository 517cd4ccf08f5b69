"""VJPs of the channel rearrangements: the inverse permutation (channel_shuffle) and a zero-filled scatter back
into the sliced range (channel_slice)."""

from __future__ import annotations

import numpy as np

from .base import vjp, vjp_footprint


@vjp("channel_shuffle")
def channel_shuffle(ctx, node, xs, y, gy):
    """Forward: view (B, g, C/g, …) and swap; its inverse views (B, C/g, g, …) and swaps back."""
    x = xs[0]
    groups, channels = node.fields["groups"], x.shape[1]
    rest = x.shape[2:]
    return [np.ascontiguousarray(gy.reshape(x.shape[0], channels // groups, groups, *rest).swapaxes(1, 2)
                                 .reshape(x.shape))]


vjp_footprint("channel_shuffle")(lambda ctx, node, xs, y, gy: gy.nbytes)  # the copy


@vjp("channel_slice")
def channel_slice(ctx, node, xs, y, gy):
    x = xs[0]
    start = node.fields.get("start", 0)
    gx = np.zeros(x.shape, dtype=gy.dtype)
    gx[:, start:start + gy.shape[1]] = gy
    return [gx]


vjp_footprint("channel_slice")(lambda ctx, node, xs, y, gy: xs[0].nbytes)  # the zeros
