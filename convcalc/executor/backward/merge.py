"""VJPs of the merges: add (the gradient to every input), concat (split along the channels) and the broadcasting
multiply (the product of the other inputs, summed over the broadcast axes)."""

from __future__ import annotations

import numpy as np

from .base import reduce_to, vjp


@vjp("add")
def add(ctx, node, xs, y, gy):
    return [gy] * len(xs)


@vjp("concat")
def concat(ctx, node, xs, y, gy):
    bounds = np.cumsum([x.shape[1] for x in xs])[:-1]
    return np.split(gy, bounds, axis=1)


@vjp("multiply")
def multiply(ctx, node, xs, y, gy):
    """Broadcasting product (per-sample shapes aligned on the right, as the forward): gx_i = gy · Π_{j≠i} x_j,
    summed over the axes x_i was broadcast along. With ``ctx.gates`` false, an input broadcast along every
    spatial axis gets no gradient."""
    rank = max(x.ndim for x in xs) - 1
    aligned = [x.reshape(x.shape[0], *([1] * (rank - (x.ndim - 1))), *x.shape[1:]) for x in xs]
    grads = []
    for i, x in enumerate(aligned):
        if not ctx.gates and rank > 1 and all(n == 1 for n in x.shape[2:]):
            grads.append(None)  # a gate broadcast over every position, held constant (GradContext.gates)
            continue
        g = gy
        for j, other in enumerate(aligned):
            if j != i:
                g = g * other
        grads.append(reduce_to(g, x.shape).reshape(xs[i].shape))
    return grads
