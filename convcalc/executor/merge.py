"""Merging kernels: channel concat, and the broadcasting elementwise merges add, subtract, multiply, divide."""

from __future__ import annotations

import numpy as np

from .base import Context, footprint, kernel


def _names(node, shapes) -> str:
    return " and ".join(f"`{name}` {tuple(shape)}" for name, shape in zip(node.inputs, shapes))


def aligned(ctx: Context, node, xs, verb: str) -> list[np.ndarray]:
    """The inputs with their per-sample shapes aligned on the right (NumPy broadcasting), checked to broadcast."""
    rank = max(x.ndim for x in xs) - 1
    out = [x.reshape(x.shape[0], *([1] * (rank - (x.ndim - 1))), *x.shape[1:]) for x in xs]
    try:
        np.broadcast_shapes(*(x.shape for x in out))
    except ValueError:
        ctx.fail(f"cannot {verb} {_names(node, [x.shape[1:] for x in xs])}",
                 "sizes must be equal or 1 on every axis", "inputs")
    return out


@kernel("add")
def add(ctx: Context, node, xs):
    """Elementwise sum of the inputs, broadcasting as NumPy does (a size of 1 against any size)."""
    xs = aligned(ctx, node, xs, "add")
    y = xs[0] + xs[1]
    for x in xs[2:]:
        y = y + x
    return y


@footprint("add")
def chain_footprint(ctx: Context, node, xs, y):
    """The running result, and the next one beside it from the third input on."""
    return (2 if len(xs) > 2 else 1) * y.nbytes


@kernel("subtract", op=np.subtract, verb="subtract")
@kernel("divide", op=np.divide, verb="divide")
def binary(ctx: Context, node, xs, op, verb):
    """``a − b`` or ``a / b`` of two inputs, broadcasting as NumPy does (torch.sub, torch.div)."""
    a, b = aligned(ctx, node, xs, verb)
    return op(a, b)


footprint("subtract", "divide")(lambda ctx, node, xs, y: y.nbytes)


@kernel("concat")
def concat(ctx, node, xs):
    """Concatenation along the channel axis (axis 1 of the batched arrays)."""
    if any(x.ndim != xs[0].ndim or x.shape[2:] != xs[0].shape[2:] for x in xs[1:]):
        ctx.fail(f"cannot concat {_names(node, [x.shape[1:] for x in xs])}: spatial sizes differ",
                 "pad, crop or resample one path so the spatial sizes match", "inputs")
    return np.concatenate(xs, axis=1)


footprint("concat")(lambda ctx, node, xs, y: y.nbytes)


@kernel("multiply")
def multiply(ctx, node, xs):
    """Elementwise product with NumPy broadcasting of the per-sample shapes (aligned on the right), e.g. an SE
    gate (C, 1, 1) times a map (C, H, W)."""
    xs = aligned(ctx, node, xs, "broadcast")
    y = xs[0] * xs[1]
    for x in xs[2:]:
        y = y * x
    return y


footprint("multiply")(chain_footprint)
