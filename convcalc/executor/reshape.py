"""Rearrangement kernels: permute, reshape and flatten of the per-sample axes (the batch stays axis 0).

Definitions: ``x.permute(0, *(d + 1 for d in dims))``; ``x.reshape(B, *shape)`` row-major, one −1 inferred;
``torch.flatten(x, start + 1, end + 1)``. None multiply-accumulates (0 MACs).
"""

from __future__ import annotations

from math import prod

import numpy as np

from .base import Context, footprint, kernel


def permutation(ctx: Context, node, x: np.ndarray) -> tuple[int, ...]:
    """``dims`` checked against the per-sample rank, as the batched permutation (0, dims + 1)."""
    dims, rank = tuple(node.fields["dims"]), x.ndim - 1
    if sorted(dims) != list(range(rank)):
        ctx.fail(f"`dims` {list(dims)} is not a permutation of the {rank} per-sample axes {tuple(x.shape[1:])}",
                 f"list each of 0 … {rank - 1} once", "dims")
    return (0, *(d + 1 for d in dims))


@kernel("permute")
def permute(ctx: Context, node, xs):
    x = xs[0]
    return np.ascontiguousarray(x.transpose(permutation(ctx, node, x)))


footprint("permute")(lambda ctx, node, xs, y: y.nbytes)  # the contiguous copy


def target_shape(ctx: Context, node, x: np.ndarray) -> tuple[int, ...]:
    """``shape`` with its −1 inferred, checked against the per-sample element count."""
    shape, total = list(node.fields["shape"]), prod(x.shape[1:])
    known = prod(n for n in shape if n != -1)
    if shape.count(-1) > 1 or 0 in shape:
        ctx.fail(f"`shape` {shape} needs positive sizes and at most one -1", "give every size but one", "shape")
    if -1 in shape:
        if total % known:
            ctx.fail(f"cannot reshape {total} elements to {shape}", "choose sizes dividing the count", "shape")
        shape[shape.index(-1)] = total // known
    if prod(shape) != total:
        ctx.fail(f"cannot reshape {tuple(x.shape[1:])} ({total} elements) to {tuple(shape)}",
                 "the sizes must multiply to the element count", "shape")
    return tuple(shape)


@kernel("reshape")
def reshape(ctx: Context, node, xs):
    x = xs[0]
    return np.ascontiguousarray(x).reshape(x.shape[0], *target_shape(ctx, node, x))


footprint("reshape", "flatten")(lambda ctx, node, xs, y: 0)  # a view of the (contiguous) input


def flattened_shape(ctx: Context, node, x: np.ndarray) -> tuple[int, ...]:
    """The shape of ``torch.flatten(x, start + 1, end + 1)`` (``end`` negative: from the end), per sample."""
    sizes = x.shape[1:]
    rank = len(sizes)
    start, end = node.fields.get("start", 0), node.fields.get("end", -1)
    end = end + rank if end < 0 else end
    if not 0 <= start <= end < rank:
        ctx.fail(f"cannot flatten axes {node.fields.get('start', 0)} … {node.fields.get('end', -1)} of "
                 f"{tuple(sizes)}", f"use 0 ≤ start ≤ end < {rank}", "start")
    return (*sizes[:start], prod(sizes[start:end + 1]), *sizes[end + 1:])


@kernel("flatten")
def flatten(ctx, node, xs):
    """torch.flatten(x, start + 1, end + 1), C order; the defaults are ``torch.nn.Flatten()``: (B, C·ΠN)."""
    x = xs[0]
    return np.ascontiguousarray(x).reshape(x.shape[0], *flattened_shape(ctx, node, x))
