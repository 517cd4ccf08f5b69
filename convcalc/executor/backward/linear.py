"""VJP of linear (y = x Wᵀ + b over the last axis → gx = gy W)."""

from __future__ import annotations

from .base import GradContext, vjp


@vjp("linear")
def linear(ctx: GradContext, node, xs, y, gy):
    """y = x Wᵀ + b → gx = gy W."""
    return [gy @ ctx.weights[0]]
