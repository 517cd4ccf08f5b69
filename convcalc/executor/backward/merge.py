"""VJPs of the merges: concat (split along the channels) and the broadcasting elementwise merges, each input's
gradient summed over the axes it was broadcast along: add (the gradient itself), subtract (±), multiply (the product
of the other inputs), divide (1/b and −a/b²)."""

from __future__ import annotations

import numpy as np

from .base import reduce_to, vjp, vjp_footprint


def aligned(xs) -> list[np.ndarray]:
    """The inputs with their per-sample shapes aligned on the right, as the forward broadcasts them."""
    rank = max(x.ndim for x in xs) - 1
    return [x.reshape(x.shape[0], *([1] * (rank - (x.ndim - 1))), *x.shape[1:]) for x in xs]


def summed_to(ctx, g, x_aligned, x) -> np.ndarray | None:
    """A broadcast output's gradient summed back to an input's (aligned) shape, in the input's own shape; None for
    a gate broadcast along every spatial axis when ``ctx.gates`` is false (held constant: global context, left out
    of the receptive field as the analytic RF does)."""
    if not ctx.gates and x_aligned.ndim >= 3 and all(n == 1 for n in x_aligned.shape[2:]) \
            and any(n != 1 for n in g.shape[2:]):
        return None
    return g if x.shape == g.shape else reduce_to(g, x_aligned.shape).reshape(x.shape)


@vjp("add")
def add(ctx, node, xs, y, gy):
    """The gradient to every input, summed over the axes it was broadcast along."""
    return [summed_to(ctx, gy, a, x) for a, x in zip(aligned(xs), xs)]


@vjp_footprint("add")
def add_footprint(ctx, node, xs, y, gy):
    """gy itself to an input of its shape; a broadcast input gets gy summed to its shape."""
    return sum(x.nbytes for x in xs if x.shape != gy.shape)


@vjp("subtract")
def subtract(ctx, node, xs, y, gy):
    """a − b: gy to a, −gy to b, each summed over its broadcast axes."""
    a, b = aligned(xs)
    return [summed_to(ctx, gy, a, xs[0]), summed_to(ctx, -gy, b, xs[1])]


vjp_footprint("subtract")(lambda ctx, node, xs, y, gy: gy.nbytes + sum(x.nbytes for x in xs))  # −gy, the sums


@vjp("divide")
def divide(ctx, node, xs, y, gy):
    """a / b: gy / b to a, −gy·a / b² to b, each summed over its broadcast axes."""
    a, b = aligned(xs)
    return [summed_to(ctx, gy / b, a, xs[0]), summed_to(ctx, -gy * a / (b * b), b, xs[1])]


# gy/b, −gy, ·a, b², their quotient; each summed to its input
vjp_footprint("divide")(lambda ctx, node, xs, y, gy: 4 * gy.nbytes + sum(x.nbytes for x in xs))


@vjp("concat")
def concat(ctx, node, xs, y, gy):
    bounds = np.cumsum([x.shape[1] for x in xs])[:-1]
    return np.split(gy, bounds, axis=1)


vjp_footprint("concat")(lambda ctx, node, xs, y, gy: 0)  # views of gy


@vjp("multiply")
def multiply(ctx, node, xs, y, gy):
    """Broadcasting product (per-sample shapes aligned on the right, as the forward): gx_i = gy · Π_{j≠i} x_j,
    summed over the axes x_i was broadcast along. With ``ctx.gates`` false, an input broadcast along every
    spatial axis gets no gradient."""
    rank = max(x.ndim for x in xs) - 1
    shaped = aligned(xs)
    grads = []
    for i, x in enumerate(shaped):
        if not ctx.gates and rank > 1 and all(n == 1 for n in x.shape[2:]):
            grads.append(None)  # a gate broadcast over every position, held constant (GradContext.gates)
            continue
        g = gy
        for j, other in enumerate(shaped):
            if j != i:
                g = g * other
        grads.append(reduce_to(g, x.shape).reshape(xs[i].shape))
    return grads


@vjp_footprint("multiply")
def multiply_footprint(ctx, node, xs, y, gy):
    """Every input's gradient, and the running product (two at once) of the one being formed."""
    return sum(x.nbytes for x in xs) + 2 * gy.nbytes
