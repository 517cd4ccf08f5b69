"""Scaling and shifting kernels: arithmetic with a constant (``scalar``), a per-channel scale (``layer_scale``) and
a per-channel shift (``bias_add``). No multiply-accumulates: 0 MACs.

The per-channel arrays have shape (C,), C being axis 1 of the batch (``axis: channels``) or the last axis
(``axis: last``); a learnable one is a weight (γ: role ``scale``, ones mode 1; β: role ``bias``, ones mode 0), a
non-learnable one a buffer (γ: role ``var``, ones mode 1; β: role ``mean``, ones mode 0), so all-ones mode makes
both the identity. torchvision's ConvNeXt keeps γ as (C, 1, 1); the importers hand it over reshaped to (C,).
"""

from __future__ import annotations

import numpy as np

from .base import Context, footprint, kernel


def scalar_value(ctx: Context, node) -> float:
    op, value = node.fields["op"], float(node.fields["value"])
    if value == 0 and op in ("mul", "div", "rdiv", "pow"):
        ctx.fail(f"`{op}` with value 0 makes the output constant or infinite", "give a non-zero value", "value")
    return value


#: op → y(x, v)
SCALAR_OPS = {
    "add": lambda x, v: x + v, "sub": lambda x, v: x - v, "mul": lambda x, v: x * v, "div": lambda x, v: x / v,
    "rsub": lambda x, v: v - x, "rdiv": lambda x, v: v / x, "pow": np.power,
}


@kernel("scalar")
def scalar(ctx: Context, node, xs):
    """x + v, x − v, x·v, x / v, v − x, v / x or x^v (torch's operators with a Python number; ``torch.pow``): a
    non-integer power of a negative number is NaN and v / 0 infinite, as in torch."""
    x = xs[0]
    v = x.dtype.type(scalar_value(ctx, node))
    with np.errstate(divide="ignore", invalid="ignore"):
        return SCALAR_OPS[node.fields["op"]](x, v)


footprint("scalar")(lambda ctx, node, xs, y: y.nbytes)


def channel_array(ctx: Context, node, x: np.ndarray, weight_role: str, buffer_role: str) -> np.ndarray:
    """The (C,) array of a per-channel kind, allocated as a weight (``learnable``) or a buffer, and reshaped to
    broadcast along its axis."""
    last = node.fields.get("axis", "channels") == "last"
    c = x.shape[-1] if last else x.shape[1]
    if node.fields.get("learnable", True):
        array = ctx.weight((c,), c, role=weight_role)
    else:
        array = ctx.buffer((c,), role=buffer_role)
    return array if last else array.reshape((c,) + (1,) * (x.ndim - 2))


@kernel("layer_scale")
def layer_scale(ctx: Context, node, xs):
    """γ ⊙ x, one γ per channel (ConvNeXt's layer scale)."""
    return xs[0] * channel_array(ctx, node, xs[0], "scale", "var")


footprint("layer_scale")(lambda ctx, node, xs, y: y.nbytes)


@kernel("bias_add")
def bias_add(ctx: Context, node, xs):
    """x + β, one β per channel."""
    return xs[0] + channel_array(ctx, node, xs[0], "bias", "mean")


footprint("bias_add")(lambda ctx, node, xs, y: y.nbytes)
