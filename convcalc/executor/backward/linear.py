"""VJPs of linear (y = x Wᵀ + b → gx = gy W) and flatten (a reshape back)."""

from __future__ import annotations

from .base import GradContext, vjp


@vjp("linear")
def linear(ctx: GradContext, node, xs, y, gy):
    """y = x Wᵀ + b → gx = gy W."""
    return [gy @ ctx.weights[0]]


@vjp("flatten")
def flatten(ctx, node, xs, y, gy):
    return [gy.reshape(xs[0].shape)]
