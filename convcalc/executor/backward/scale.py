"""VJPs of the scaling kinds: arithmetic with a constant, the per-channel scale and the per-channel shift."""

from __future__ import annotations

import numpy as np

from ..scale import scalar_value
from .base import vjp, vjp_footprint


@vjp("scalar")
def scalar(ctx, node, xs, y, gy):
    """1 for add and sub, −1 for rsub, v for mul, 1/v for div, −v/x² for rdiv, v·x^(v−1) for pow."""
    x = xs[0]
    op = node.fields["op"]
    v = x.dtype.type(scalar_value(ctx, node))
    if op in ("add", "sub"):
        return [gy]
    if op == "rsub":
        return [-gy]
    if op == "mul":
        return [gy * v]
    if op == "div":
        return [gy / v]
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "rdiv":
            return [gy * (-v / (x * x))]
        return [gy * (v * np.power(x, v - 1))]


vjp_footprint("scalar")(lambda ctx, node, xs, y, gy: 2 * gy.nbytes)  # e.g. x², −v/x², gy·


def _along(array: np.ndarray, node, x: np.ndarray) -> np.ndarray:
    """A (C,) array shaped to broadcast along its axis (channels: axis 1; last: the last)."""
    if node.fields.get("axis", "channels") == "last":
        return array
    return array.reshape((array.size,) + (1,) * (x.ndim - 2))


@vjp("layer_scale")
def layer_scale(ctx, node, xs, y, gy):
    """gy ⊙ γ."""
    gamma = ctx.weights[0] if node.fields.get("learnable", True) else ctx.buffer_arrays[0]
    return [gy * _along(gamma, node, xs[0])]


vjp_footprint("layer_scale")(lambda ctx, node, xs, y, gy: gy.nbytes)


@vjp("bias_add")
def bias_add(ctx, node, xs, y, gy):
    """The identity: an added constant."""
    return [gy]


vjp_footprint("bias_add")(lambda ctx, node, xs, y, gy: 0)  # gy itself
