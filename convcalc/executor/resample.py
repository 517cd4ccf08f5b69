"""Resampling kernels: upsample by a scale or to a size, nearest, (bi/tri)linear or bicubic, as ``F.interpolate``;
sub-pixel rearrangement (pixel_shuffle, pixel_unshuffle), as ``torch.nn.PixelShuffle`` / ``PixelUnshuffle`` (order
``crd``) or ONNX DepthToSpace mode DCR / SpaceToDepth (order ``dcr``); explicit padding, as ``F.pad``.

PyTorch's rules (``aten/src/ATen/native/UpSample.h``), re-derived here per axis, with the ratio computed in the
array's dtype as PyTorch does:

* output size: ``size``, or ``floor(N · scale)`` with N and the scale as doubles, as PyTorch computes it
  (``torch.nn.functional.interpolate``; 50 × 2.3 is 114.99999999999999 in double, so 114);
* ratio (input pixels per output pixel): ``1 / scale`` when a scale is given, else ``N / N_out``; with
  ``align_corners`` (linear only) ``(N − 1) / (N_out − 1)`` (0 when N_out = 1);
* nearest: source index ``min(floor(o · ratio), N − 1)``;
* linear: source coordinate ``o · ratio`` with ``align_corners``, else ``max((o + ½) · ratio − ½, 0)``; it blends
  ``i0 = floor(src)`` and ``i0 + 1`` (clamped to N − 1) with weights ``1 − λ`` and ``λ = src − i0``.

Linear interpolation along every spatial axis (linear, bilinear, trilinear for 1/2/3-D) is separable, so each
axis is resampled in turn. Neither interpolation nor rearrangement is counted as multiply-accumulates (0 MACs).
"""

from __future__ import annotations

from math import floor, inf, isfinite

import numpy as np

from .base import (Context, check_pad_mode, footprint, kernel, nbytes, pad_in_mode, padding_pairs, per_axis,
                   require_rank)


def _out_sizes(ctx: Context, node, sizes) -> tuple[list[int], list]:
    scale, size = node.fields.get("scale"), node.fields.get("size")
    if (scale is None) == (size is None):
        ctx.fail("give exactly one of `scale` and `size`", "write e.g. `scale: 2` or `size: [28, 28]`")
    if size is not None:
        out = list(per_axis(ctx, node, "size", len(sizes)))
        scales = [None] * len(sizes)
    else:
        scales = list(per_axis(ctx, node, "scale", len(sizes)))
        out = []
        for axis, (n, s) in enumerate(zip(sizes, scales)):
            try:
                product = float(n) * float(s)  # Python floats are doubles, as torch's sizes times its scale
            except OverflowError:
                product = inf
            if not isfinite(product):
                ctx.fail(f"output size along spatial axis {axis} overflows a double", "use a smaller scale or size")
            out.append(floor(product))
    for axis, o in enumerate(out):
        if o < 1:
            ctx.fail(f"output size along spatial axis {axis} is {o}", "use a larger scale or size")
    return out, scales


#: Keys' cubic convolution parameter, PyTorch's choice for bicubic
CUBIC_A = -0.75


def _cubic_weights(t: np.ndarray) -> list[np.ndarray]:
    """Weights of the four taps floor(src) − 1 … floor(src) + 2 at fraction t (PyTorch's get_cubic_upsample_
    coefficients: Keys 1981 with a = −0.75)."""
    a = CUBIC_A

    def near(x):  # |x| ≤ 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _cubic_axis(y: np.ndarray, ax: int, n: int, o: int, positions: np.ndarray, ratio, align: bool) -> np.ndarray:
    """Bicubic resampling along one axis (separable; PyTorch's upsample_bicubic2d): source
    ``o·ratio`` with align_corners, else ``(o + ½)·ratio − ½`` (not clamped at 0, unlike linear); the four taps
    are clamped to [0, N − 1] (border replication)."""
    real = y.dtype.type
    src = positions * ratio if align else (positions + real(0.5)) * ratio - real(0.5)
    base = np.floor(src)
    t = (src - base).astype(np.float64)
    base = base.astype(np.int64)
    shape = [1] * y.ndim
    shape[ax] = o
    out = None
    for offset, weight in zip(range(-1, 3), _cubic_weights(t)):
        index = np.clip(base + offset, 0, n - 1)
        part = np.take(y, index, axis=ax) * weight.astype(y.dtype).reshape(shape)
        out = part if out is None else out + part
    return out


def source_ratio(n: int, o: int, scale, align: bool, real):
    """Input positions per output position along one axis, in PyTorch's convention: (N − 1)/(O − 1) with
    align_corners, else 1/scale when a scale was given, else N/O."""
    if align:
        return real((n - 1) / (o - 1)) if o > 1 else real(0)
    if scale is not None:
        return real(1.0 / float(scale))
    return real(n / o)


@kernel("upsample")
def upsample(ctx: Context, node, xs):
    x = xs[0]
    rank = require_rank(ctx, x)
    out_sizes, scales = _out_sizes(ctx, node, x.shape[2:])
    mode = node.fields.get("mode", "nearest")
    if mode == "bicubic" and rank != 2:  # as torch: upsample_bicubic2d only
        ctx.fail(f"`bicubic` works on 2-D (C, H, W) input, got {rank}-D", "use `bilinear` (linear per axis)", "mode")
    align = bool(node.fields.get("align_corners", False)) and mode != "nearest"
    real = x.dtype.type
    y = x
    for axis, (o, scale) in enumerate(zip(out_sizes, scales)):
        n, ax = x.shape[2 + axis], 2 + axis
        ratio = source_ratio(n, o, scale, align, real)
        positions = np.arange(o).astype(x.dtype)
        if mode == "nearest":
            index = np.minimum(np.floor(positions * ratio).astype(np.int64), n - 1)
            y = np.take(y, index, axis=ax)
            continue
        if mode == "bicubic":
            y = _cubic_axis(y, ax, n, o, positions, ratio, align)
            continue
        if align:
            src = positions * ratio
        else:
            src = np.maximum((positions + real(0.5)) * ratio - real(0.5), real(0))
        i0 = np.minimum(src.astype(np.int64), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        lam = (src - i0.astype(x.dtype)).astype(x.dtype)
        shape = [1] * y.ndim
        shape[ax] = o
        lam = lam.reshape(shape)
        y = np.take(y, i0, axis=ax) * (real(1) - lam) + np.take(y, i1, axis=ax) * lam
    return np.ascontiguousarray(y, dtype=x.dtype) if y is not x else y.copy()


@footprint("upsample")
def upsample_footprint(ctx: Context, node, xs, y):
    """Per axis, the array being resampled and the result: nearest takes once; linear holds three resampled arrays
    at once (two weighted taps and their sum), bicubic four (the sum so far, the last weighted tap, the next tap
    and its weighted copy)."""
    x = xs[0]
    out_sizes, _ = _out_sizes(ctx, node, x.shape[2:])
    alive = {"nearest": 1, "bicubic": 4}.get(node.fields.get("mode", "nearest"), 3)
    shape, held, most = list(x.shape), 0, 0
    for axis, o in enumerate(out_sizes):
        shape[2 + axis] = o
        step = nbytes(shape, x.itemsize)
        most = max(most, held + alive * step)
        held = step
    return max(most, y.nbytes)


# ---- sub-pixel rearrangement -------------------------------------------------------------------------------
def phase_axes(rank: int, order: str) -> tuple[bool, int]:
    """Where the r^d sub-pixel phases sit in the channel axis: ``crd`` (torch) channel·r^d + phase, so the channel
    view is (C, r, …, r); ``dcr`` (ONNX DepthToSpace DCR, SpaceToDepth) phase·C + channel, the view (r, …, r, C).
    Returns (phases first, the axis of C in the view after the batch)."""
    return (order == "dcr"), (1 + rank if order == "dcr" else 1)


@kernel("pixel_shuffle")
def pixel_shuffle(ctx: Context, node, xs):
    """torch.nn.PixelShuffle, d-D: (B, C·r^d, *N) → view (B, C, r, …, r, *N) → (B, C, N_1, r, N_2, r, …); with
    ``order: dcr`` the channels are viewed as (r, …, r, C) (ONNX DepthToSpace: reshape [b, r, r, C, h, w],
    transpose [0, 3, 4, 1, 5, 2])."""
    x = xs[0]
    rank = require_rank(ctx, x)
    r = node.fields["factor"]
    batch, channels, *sizes = x.shape
    if channels % r ** rank:
        ctx.fail(f"the channels ({channels}) are not divisible by r^d = {r ** rank}", "adjust the channels", "factor")
    c = channels // r ** rank
    phases_first, c_axis = phase_axes(rank, node.fields.get("order", "crd"))
    if phases_first:
        y = x.reshape(batch, *([r] * rank), c, *sizes)           # axes: b, r_1 … r_d, C, N_1 … N_d
        phase = [1 + a for a in range(rank)]
    else:
        y = x.reshape(batch, c, *([r] * rank), *sizes)           # axes: b, C, r_1 … r_d, N_1 … N_d
        phase = [2 + a for a in range(rank)]
    order = (0, c_axis) + tuple(i for a in range(rank) for i in (2 + rank + a, phase[a]))
    return np.ascontiguousarray(y.transpose(order)).reshape(batch, c, *(n * r for n in sizes))


footprint("pixel_shuffle", "pixel_unshuffle")(lambda ctx, node, xs, y: y.nbytes)  # one contiguous copy


@kernel("pixel_unshuffle")
def pixel_unshuffle(ctx: Context, node, xs):
    """torch.nn.PixelUnshuffle, d-D: (B, C, *N·r) → view (B, C, N_1, r, N_2, r, …) → (B, C·r^d, *N); with
    ``order: dcr`` the phases come before the channel (ONNX SpaceToDepth: transpose [0, 3, 5, 1, 2, 4])."""
    x = xs[0]
    rank = require_rank(ctx, x)
    r = node.fields["factor"]
    batch, channels, *sizes = x.shape
    if any(n % r for n in sizes):
        ctx.fail(f"the spatial sizes {tuple(sizes)} are not divisible by the factor {r}", "pad the input", "factor")
    y = x.reshape(batch, channels, *(v for n in sizes for v in (n // r, r)))   # b, C, N_1, r, N_2, r, …
    phases = tuple(3 + 2 * a for a in range(rank))
    blocks = tuple(2 + 2 * a for a in range(rank))
    phases_first, _ = phase_axes(rank, node.fields.get("order", "crd"))
    order = (0,) + (phases + (1,) if phases_first else (1,) + phases) + blocks
    return np.ascontiguousarray(y.transpose(order)).reshape(batch, channels * r ** rank, *(n // r for n in sizes))


# ---- explicit padding --------------------------------------------------------------------------------------------
def pad_pairs(ctx: Context, node, x: np.ndarray) -> list[tuple[int, int]]:
    """``padding`` as (before, after) per spatial axis (an int, per-axis ints or pairs), checked against the mode."""
    sizes = x.shape[2:]
    ones = (1,) * len(sizes)
    pairs = padding_pairs(ctx, node, sizes, ones, ones)
    check_pad_mode(ctx, sizes, pairs, node.fields.get("mode", "constant"))
    return pairs


@kernel("pad")
def pad(ctx: Context, node, xs):
    """torch.nn.functional.pad of the spatial axes: numpy.pad in the mode (constant with ``value``, reflect, edge =
    replicate, wrap = circular), negative widths cropping first."""
    x = xs[0]
    require_rank(ctx, x)
    mode = node.fields.get("mode", "constant")
    value = float(node.fields.get("value", 0))
    if value and mode != "constant":
        ctx.fail(f"`value` applies to constant mode only, not {mode}", "remove `value`", "value")
    return pad_in_mode(x, pad_pairs(ctx, node, x), mode, value)


@footprint("pad")
def pad_footprint(ctx: Context, node, xs, y):
    """numpy.pad's result (filled in place, in every mode)."""
    return y.nbytes
