"""Fully connected layer, on flat features or over the last axis."""

from __future__ import annotations

from .base import Context, footprint, kernel


@kernel("linear")
def linear(ctx: Context, node, xs):
    """y = x @ Wᵀ + b over the last axis, W of shape (out, F_in), as ``torch.nn.Linear``: ``axis: flat`` takes
    (B, F_in) only; ``axis: last`` any (B, …, F_in), every position through the same weights.

    One GEMM of M·K·N = (B·positions) · F_in · out multiply-accumulates.
    """
    x = xs[0]
    if node.fields.get("axis", "flat") == "flat" and x.ndim != 2:
        ctx.fail(f"expects a flat (C,) input, got per-sample shape {tuple(x.shape[1:])}",
                 "put `flatten` or a global pool with `keepdims: false` before it, or use `axis: last`")
    f_in, out = x.shape[-1], node.fields["out"]
    w = ctx.weight((out, f_in), f_in)
    b = ctx.weight((out,), f_in, role="bias") if node.fields.get("bias", True) else None
    y = ctx.matmul(x.reshape(-1, f_in), w.T).reshape(*x.shape[:-1], out)
    if b is not None:
        y += b
    return y


footprint("linear")(lambda ctx, node, xs, y: y.nbytes)  # the GEMM output (bias added in place)
