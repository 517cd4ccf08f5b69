"""VJPs of the rearrangements: the inverse permutation, and a reshape back (reshape, flatten)."""

from __future__ import annotations

import numpy as np

from ..reshape import permutation
from .base import vjp, vjp_footprint


@vjp("permute")
def permute(ctx, node, xs, y, gy):
    return [np.ascontiguousarray(gy.transpose(np.argsort(permutation(ctx, node, xs[0]))))]


vjp_footprint("permute")(lambda ctx, node, xs, y, gy: gy.nbytes)  # the contiguous copy


@vjp("reshape", "flatten")
def reshape(ctx, node, xs, y, gy):
    return [gy.reshape(xs[0].shape)]


vjp_footprint("reshape", "flatten")(lambda ctx, node, xs, y, gy: 0)  # a view of gy
