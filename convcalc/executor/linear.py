"""Fully connected layer and flatten."""

from __future__ import annotations

import numpy as np

from .base import Context, kernel


@kernel("linear")
def linear(ctx: Context, node, xs):
    """y = x @ Wᵀ + b for x of shape (B, F_in) and W of shape (out, F_in), as ``torch.nn.Linear``.

    One GEMM of M·K·N = B · F_in · out multiply-accumulates.
    """
    x = xs[0]
    if x.ndim != 2:
        ctx.fail(f"expects a flat (C,) input, got per-sample shape {tuple(x.shape[1:])}",
                 "put `flatten` or a global pool with `keepdims: false` before it")
    f_in, out = x.shape[1], node.fields["out"]
    w = ctx.weight((out, f_in), f_in)
    b = ctx.weight((out,), f_in, role="bias") if node.fields.get("bias", True) else None
    y = ctx.matmul(x, w.T)
    if b is not None:
        y += b
    return y


@kernel("flatten")
def flatten(ctx, node, xs):
    """(B, C, *N) → (B, C·ΠN), C order, as ``torch.nn.Flatten()``."""
    x = xs[0]
    return np.ascontiguousarray(x).reshape(x.shape[0], -1)
