"""VJPs of the resampling kinds. upsample: every mode (nearest, (bi/tri)linear, bicubic) is linear and separable,
one (O × N) matrix per axis built from exactly the forward's source indices and weights (same dtype arithmetic);
the input gradient applies the transposed matrices. pixel_shuffle / pixel_unshuffle: the inverse
rearrangement, i.e. the other kind's forward kernel by the same factor and order. pad: the copied region, and in
reflect, replicate and circular mode the padded positions' gradients added into the pixels they copy."""

from __future__ import annotations

import numpy as np

from ..resample import _cubic_weights, _out_sizes, source_ratio
from ..resample import pad_pairs
from ..resample import pixel_shuffle as shuffle, pixel_unshuffle as unshuffle
from .base import GradContext, unpad, unpad_bytes, vjp, vjp_footprint
from .pool import apply_transposed, transposed_bytes


def axis_matrix(mode: str, n: int, o: int, scale, align: bool, dtype) -> np.ndarray:
    """The (O × N) resampling matrix of one axis, as the forward kernel computes it."""
    real = np.dtype(dtype).type
    ratio = source_ratio(n, o, scale, align, real)
    positions = np.arange(o).astype(dtype)
    rows = np.arange(o)
    matrix = np.zeros((o, n), dtype=np.float64)
    if mode == "nearest":
        index = np.minimum(np.floor(positions * ratio).astype(np.int64), n - 1)
        np.add.at(matrix, (rows, index), 1.0)
        return matrix
    if mode == "bicubic":
        src = positions * ratio if align else (positions + real(0.5)) * ratio - real(0.5)
        base = np.floor(src)
        t = (src - base).astype(np.float64)
        base = base.astype(np.int64)
        for offset, weight in zip(range(-1, 3), _cubic_weights(t)):
            index = np.clip(base + offset, 0, n - 1)
            np.add.at(matrix, (rows, index), weight.astype(dtype).astype(np.float64))
        return matrix
    src = positions * ratio if align else np.maximum((positions + real(0.5)) * ratio - real(0.5), real(0))
    i0 = np.minimum(src.astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = (src - i0.astype(dtype)).astype(dtype)
    np.add.at(matrix, (rows, i0), (real(1) - lam).astype(np.float64))
    np.add.at(matrix, (rows, i1), lam.astype(np.float64))
    return matrix


@vjp("upsample")
def upsample(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    out_sizes, scales = _out_sizes(ctx, node, x.shape[2:])
    mode = node.fields.get("mode", "nearest")
    align = bool(node.fields.get("align_corners", False)) and mode != "nearest"
    g = gy
    for axis, (n, o, scale) in enumerate(zip(x.shape[2:], out_sizes, scales)):
        g = apply_transposed(g, axis_matrix(mode, n, o, scale, align, x.dtype), 2 + axis)
    return [np.ascontiguousarray(g, dtype=gy.dtype)]


@vjp_footprint("upsample")
def upsample_footprint(ctx: GradContext, node, xs, y, gy):
    return transposed_bytes(gy.shape, xs[0].shape[2:], gy.itemsize)


@vjp("pixel_shuffle")
def pixel_shuffle(ctx: GradContext, node, xs, y, gy):
    """The inverse rearrangement: pixel_unshuffle of the gradient by the same factor."""
    return [unshuffle(ctx, node, [gy])]


vjp_footprint("pixel_shuffle", "pixel_unshuffle")(lambda ctx, node, xs, y, gy: gy.nbytes)  # one copy


@vjp("pixel_unshuffle")
def pixel_unshuffle(ctx: GradContext, node, xs, y, gy):
    return [shuffle(ctx, node, [gy])]


@vjp("pad")
def pad(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    return [unpad(gy, x.shape[2:], pad_pairs(ctx, node, x), node.fields.get("mode", "constant"))]


@vjp_footprint("pad")
def pad_footprint(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    return unpad_bytes(gy.shape, x.shape[2:], pad_pairs(ctx, node, x), node.fields.get("mode", "constant"),
                       gy.itemsize)
