"""VJP of linear (y = x Wᵀ + b over the last axis → gx = gy W)."""

from __future__ import annotations

from .base import GradContext, vjp, vjp_footprint, weight_grad


@vjp("linear")
def linear(ctx: GradContext, node, xs, y, gy):
    """y = x Wᵀ + b → gx = gy W (one GEMM, counted)."""
    w = ctx.weights[0]
    return [ctx.matmul(gy.reshape(-1, w.shape[0]), w).reshape(xs[0].shape)]


@weight_grad("linear")
def linear_weights(ctx: GradContext, node, xs, y, gy):
    """gW = gyᵀ x over every row (batch and positions): one GEMM (out × rows) @ (rows × F_in); gb = Σ gy."""
    w = ctx.weights[0]
    rows = gy.reshape(-1, w.shape[0])
    grads = [ctx.matmul(rows.T, xs[0].reshape(-1, w.shape[1]))]
    return grads + [rows.sum(axis=0)] * (len(ctx.weights) - 1)


vjp_footprint("linear")(lambda ctx, node, xs, y, gy: xs[0].nbytes)  # gy·W
