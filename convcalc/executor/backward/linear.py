"""VJP of linear (y = x Wᵀ + b over the last axis → gx = gy W)."""

from __future__ import annotations

from .base import GradContext, vjp, vjp_footprint


@vjp("linear")
def linear(ctx: GradContext, node, xs, y, gy):
    """y = x Wᵀ + b → gx = gy W."""
    return [gy @ ctx.weights[0]]


vjp_footprint("linear")(lambda ctx, node, xs, y, gy: xs[0].nbytes)  # gy·W
