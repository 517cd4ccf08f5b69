"""Merging kernels: residual add, channel concat, broadcasting multiply."""

from __future__ import annotations

import numpy as np

from .base import Context, kernel


def _names(node, shapes) -> str:
    return " and ".join(f"`{name}` {tuple(shape)}" for name, shape in zip(node.inputs, shapes))


@kernel("add")
def add(ctx: Context, node, xs):
    """Elementwise sum of inputs of one shape."""
    first = xs[0]
    if any(x.shape != first.shape for x in xs[1:]):
        ctx.fail(f"cannot add {_names(node, [x.shape[1:] for x in xs])}", "all inputs need the same shape",
                 "inputs")
    y = first + xs[1]
    for x in xs[2:]:
        y += x
    return y


@kernel("concat")
def concat(ctx, node, xs):
    """Concatenation along the channel axis (axis 1 of the batched arrays)."""
    if any(x.ndim != xs[0].ndim or x.shape[2:] != xs[0].shape[2:] for x in xs[1:]):
        ctx.fail(f"cannot concat {_names(node, [x.shape[1:] for x in xs])}: spatial sizes differ",
                 "pad, crop or resample one path so the spatial sizes match", "inputs")
    return np.concatenate(xs, axis=1)


@kernel("multiply")
def multiply(ctx, node, xs):
    """Elementwise product with NumPy broadcasting of the per-sample shapes (aligned on the right), e.g. an SE
    gate (C, 1, 1) times a map (C, H, W)."""
    rank = max(x.ndim for x in xs) - 1
    aligned = [x.reshape(x.shape[0], *([1] * (rank - (x.ndim - 1))), *x.shape[1:]) for x in xs]
    try:
        np.broadcast_shapes(*(x.shape for x in aligned))
    except ValueError:
        ctx.fail(f"cannot broadcast {_names(node, [x.shape[1:] for x in xs])}",
                 "sizes must be equal or 1 on every axis", "inputs")
    y = aligned[0] * aligned[1]
    for x in aligned[2:]:
        y = y * x
    return y
