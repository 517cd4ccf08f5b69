"""VJPs of the pools: window max/min/avg, global and adaptive pools, LP and stochastic pooling.

The windows are the forward's (:func:`~convcalc.executor.pool.window_layout`) and so is each kind's reduction
(:class:`~convcalc.executor.pool.Reduction`, given at registration as in the forward):

* max / min pooling routes each window's gradient to ONE element, the first extreme in row-major tap order (as
  PyTorch's CPU max_pool, which keeps the first maximum it meets); padding never wins (it is ∓inf);
* with ``max_as_sum`` (the receptive-field probe) max/min pooling was a window sum, so every tap gets the gradient;
* average pooling spreads ``gy / divisor`` over the window (the forward's divisor: the window clipped to the
  padded input, or to the real input without ``count_include_pad``);
* adaptive average (and summed) pooling is separable: per axis a small (O × N) matrix, applied transposed;
  adaptive / global max pooling routes to the first extreme of each window;
* lppool: d/dx_i (Σ x^p)^(1/p) = x_i^(p−1) · S^(1/p − 1) (0 where the window sum S is 0);
* stochastic_pool: ``max_as_sum`` → a window sum; ``mode: test`` (Σa²/Σa) exactly: (2a_i − y)/Σa; ``mode:
  train`` is treated deterministically: the gradient goes to the first element of the window equal to the
  value drawn (the sampled element; d/da of a_chosen), with no derivative through the drawing probabilities.
"""

from __future__ import annotations

from itertools import product
from math import prod

import numpy as np

from ..base import few_positions, nbytes, per_axis, window_offsets
from ..pool import MAX, MEAN, MIN, Reduction, Windows, adaptive_windows, window_layout
from .base import GradContext, crop, scatter_columns, scatter_windows, vjp, vjp_footprint


def scatter_taps(windows: Windows, x_shape, per_tap, dtype) -> np.ndarray:
    """The input gradient from each tap's gradient (``per_tap``, row-major; :func:`~.base.scatter_windows`)."""
    return scatter_windows(per_tap, x_shape, windows.kernel, windows.stride, windows.dilation, windows.pads,
                           windows.out_sizes, dtype)


def _first_hits(windows: Windows, xp: np.ndarray, y: np.ndarray, gy: np.ndarray, where=True):
    """Per tap, ``gy`` where that tap is the first in the window equal to ``y`` (and ``where``), else 0."""
    taken = np.zeros(y.shape, dtype=bool)
    for index in windows.taps():
        hit = xp[index] == y
        hit &= ~taken
        hit &= where
        taken |= hit
        yield gy * hit


def first_hits_bytes(windows: Windows, x, y) -> int:
    """What :func:`_first_hits` holds at once: the padded copy of x, four masks the size of y (taken, the last hit
    and the next, a complement) and two routed gradients (the one its consumer adds, the next)."""
    return windows.padded_bytes(x) + 4 * y.size + 2 * y.nbytes


def _few_windows(windows: Windows, x) -> bool:
    """Few windows of many taps: every tap at once (:func:`~convcalc.executor.base.few_positions`)."""
    return few_positions(x.shape[0], x.shape[1], prod(windows.kernel), prod(windows.out_sizes), x.itemsize)


def scatter_stacked(windows: Windows, x_shape, per_window: np.ndarray, dtype) -> np.ndarray:
    """The input gradient from every tap's gradient at once, ``per_window`` in :meth:`Windows.stacked`'s layout
    ``(B, C, *N_out, Πk)`` (:func:`~.base.scatter_columns`)."""
    cols = np.moveaxis(per_window.reshape(*x_shape[:2], -1, per_window.shape[-1]), -1, 2)     # (B, C, Πk, ΠN_out)
    return scatter_columns(cols, x_shape, windows.kernel, windows.stride, windows.dilation, windows.pads,
                           windows.out_sizes, dtype)


def _first_hits_at_once(windows: Windows, xp: np.ndarray, x_shape, y: np.ndarray, gy: np.ndarray,
                        where: np.ndarray | None = None) -> np.ndarray:
    """:func:`_first_hits` and their scatter for every tap at once: each window's values gathered
    ``(B·C, Πk, ΠN_out)``, the first tap equal to ``y`` found along the taps, ``gy`` added there (where
    ``where``)."""
    rows = x_shape[0] * x_shape[1]
    padded = xp.shape[2:]
    index = window_offsets(windows.kernel, windows.stride, windows.dilation, windows.out_sizes, padded)
    index = index.reshape(prod(windows.kernel), -1)
    hits = xp.reshape(rows, -1)[:, index] == y.reshape(rows, 1, -1)
    first = index[hits.argmax(axis=1), np.arange(index.shape[1])]                # (B·C, ΠN_out)
    gxp = np.zeros((rows, prod(padded)), dtype=gy.dtype)
    found = hits.any(axis=1)
    if where is not None:
        found &= where.reshape(rows, -1)
    np.add.at(gxp, (np.arange(rows)[:, None], first), gy.reshape(rows, -1) * found)
    return crop(gxp.reshape(*x_shape[:2], *padded), windows.pads, x_shape[2:])


def _at_once_bytes(windows: Windows, x, y) -> int:
    """What :func:`_first_hits_at_once` holds beside the padded copy of x and the padded input gradient: the index
    of every (tap, window) pair, the gathered values and their hits, the first hits' positions, the masks and the
    routed gradient."""
    pairs = prod(windows.kernel) * prod(windows.out_sizes)
    return 8 * pairs + x.shape[0] * x.shape[1] * pairs * (x.itemsize + 1) + 3 * 8 * y.size + 2 * y.nbytes


@vjp("maxpool", reduce=MAX)
@vjp("minpool", reduce=MIN)
@vjp("avgpool", reduce=MEAN)
def window_pool(ctx: GradContext, node, xs, y, gy, reduce: Reduction):
    x = xs[0]
    windows = window_layout(ctx, node, x)
    how = reduce.probed(ctx.max_as_sum)
    at_once = _few_windows(windows, x)
    if how.extreme and at_once:
        return [_first_hits_at_once(windows, windows.padded(x, how.fill), x.shape, y, gy)]
    if how.extreme:
        # y is each window's extreme (exactly one of its elements): the first tap equal to it takes the gradient
        per_tap = _first_hits(windows, windows.padded(x, how.fill), y, gy)
    else:
        g = gy
        if how.average:
            g = gy / windows.divisor(x.shape[2:], node.fields.get("count_include_pad", True), gy.ndim, gy.dtype)
        if at_once:
            return [scatter_columns(g.reshape(*g.shape[:2], 1, -1), x.shape, windows.kernel, windows.stride,
                                    windows.dilation, windows.pads, windows.out_sizes, gy.dtype)]
        per_tap = [g] * prod(windows.kernel)
    return [scatter_taps(windows, x.shape, per_tap, gy.dtype)]


@vjp_footprint("maxpool", reduce=MAX)
@vjp_footprint("minpool", reduce=MIN)
@vjp_footprint("avgpool", reduce=MEAN)
def window_pool_footprint(ctx: GradContext, node, xs, y, gy, reduce: Reduction):
    """The padded input gradient, and the first hits (max/min) or gy over the divisor (avg); for few windows of
    many taps, the index of every (tap, window) pair, and for max/min the padded copy of x, the windows' values
    and their hits, the first hits' positions and the routed gradient."""
    x = xs[0]
    windows = window_layout(ctx, node, x)
    how = reduce.probed(ctx.max_as_sum)
    padded = windows.padded_bytes(x) or x.nbytes
    average = gy.nbytes if how.average else 0
    if _few_windows(windows, x):
        if how.extreme:
            return padded + windows.padded_bytes(x) + _at_once_bytes(windows, x, y)
        return padded + average + 8 * prod(windows.kernel) * prod(windows.out_sizes)
    if how.extreme:
        return padded + first_hits_bytes(windows, x, y)
    return padded + average


def _route_first_extreme(x_window: np.ndarray, g: np.ndarray, arg) -> np.ndarray:
    """Gradient of an extreme (``arg``: ``np.argmax`` or ``np.argmin``) over the flattened trailing axes of
    ``x_window (B, C, …)``: ``g (B, C)`` at the first extreme, zero elsewhere."""
    batch, channels = x_window.shape[:2]
    flat = x_window.reshape(batch, channels, -1)
    where = arg(flat, axis=2)
    out = np.zeros_like(flat)
    np.put_along_axis(out, where[:, :, None], g.reshape(batch, channels, 1), axis=2)
    return out.reshape(x_window.shape)


@vjp("global_avgpool", reduce=MEAN)
@vjp("global_maxpool", reduce=MAX)
def global_pool(ctx: GradContext, node, xs, y, gy, reduce: Reduction):
    x = xs[0]
    sizes = x.shape[2:]
    how = reduce.probed(ctx.max_as_sum)
    g = gy.reshape(x.shape[:2] + (1,) * len(sizes))
    if how.extreme:
        return [_route_first_extreme(x, g.reshape(x.shape[:2]), how.arg)]
    if how.average:
        g = g / gy.dtype.type(np.prod(sizes))
    return [np.broadcast_to(g, x.shape).copy()]


vjp_footprint("global_avgpool", "global_maxpool")(lambda ctx, node, xs, y, gy: xs[0].nbytes)  # the spread


def apply_transposed(g: np.ndarray, matrix: np.ndarray, ax: int) -> np.ndarray:
    """``g`` with axis ``ax`` (size O) mapped through ``matrixᵀ`` (matrix O × N): the VJP of ``y = matrix @ x``
    along that axis."""
    out = np.tensordot(g, matrix.astype(g.dtype, copy=False), axes=([ax], [0]))   # axis ax moved last, size N
    return np.moveaxis(out, -1, ax)


@vjp("adaptive_avgpool", reduce=MEAN)
@vjp("adaptive_maxpool", reduce=MAX)
def adaptive_pool(ctx: GradContext, node, xs, y, gy, reduce: Reduction):
    x = xs[0]
    rank = x.ndim - 2
    out_sizes = per_axis(ctx, node, "output_size", rank)
    windows = [adaptive_windows(n, o) for n, o in zip(x.shape[2:], out_sizes)]
    how = reduce.probed(ctx.max_as_sum)
    if not how.extreme:
        g = gy
        for axis, (n, spans) in enumerate(zip(x.shape[2:], windows)):
            matrix = np.zeros((len(spans), n))
            for i, (start, end) in enumerate(spans):
                matrix[i, start:end] = 1.0 / (end - start) if how.average else 1.0
            g = apply_transposed(g, matrix, 2 + axis)
        return [np.ascontiguousarray(g)]
    return [_route_adaptive_extremes(x, gy, windows, how.arg)]


def _width_groups(spans) -> list[tuple[np.ndarray, np.ndarray]]:
    """One axis's windows grouped by width (two widths at most): (the outputs, (outputs × width) input indices)."""
    starts, ends = spans.bounds()
    widths = ends - starts
    return [(pick, starts[pick][:, None] + np.arange(width, dtype=np.int64))
            for width in np.unique(widths) for pick in (np.flatnonzero(widths == width),)]


def _route_adaptive_extremes(x: np.ndarray, gy: np.ndarray, windows, arg) -> np.ndarray:
    """The input gradient of an adaptive max (min) pool: each output's gradient at the first extreme of its window
    (C order over the window's axes), summed where windows overlap. Per combination of the axes' width groups (at
    most 2^d), one gather of all its windows, shape (B, C, k₁, w₁, …, k_d, w_d), one ``arg`` over the flattened
    widths and one ``np.add.at``. (A window at a time was a Python step per output: 300,000 outputs took 3 s.)"""
    gx = np.zeros_like(x, dtype=gy.dtype)
    d, (batch, channels) = len(windows), x.shape[:2]
    for combo in product(*(_width_groups(spans) for spans in windows)):
        picks, indexes = [pick for pick, _ in combo], [index for _, index in combo]
        grid = []
        for a, index in enumerate(indexes):  # axis a's (k, w) indices at dims 2a, 2a + 1 of the gather
            shape = [1] * (2 * d)
            shape[2 * a: 2 * a + 2] = index.shape
            grid.append(index.reshape(shape))
        gathered = x[(slice(None), slice(None), *grid)]
        order = [0, 1, *(2 + 2 * a for a in range(d)), *(3 + 2 * a for a in range(d))]  # the widths last
        gathered = gathered.transpose(order)
        ks, ws = gathered.shape[2:2 + d], gathered.shape[2 + d:]
        where = arg(gathered.reshape(batch, channels, *ks, -1), axis=-1)  # the first extreme, C order
        offsets = np.unravel_index(where, ws)
        at = [np.arange(batch).reshape(-1, *[1] * (d + 1)), np.arange(channels).reshape(1, -1, *[1] * d)]
        for a, (index, offset) in enumerate(zip(indexes, offsets)):
            shape = [1] * d
            shape[a] = -1
            at.append(index[:, 0].reshape(shape) + offset)  # window start + the extreme's offset
        np.add.at(gx, tuple(at), gy[(slice(None), slice(None), *np.ix_(*picks))])
    return gx


def transposed_bytes(shape, sizes, itemsize: int) -> int:
    """The footprint of applying one (O × N) matrix per axis with :func:`apply_transposed`, from a gradient of
    ``shape`` to spatial ``sizes``: per axis the gradient so far (from the second axis on), the matrix in float64
    and in the gradient's dtype, tensordot's transposed copy and its result; then the contiguous copy."""
    shape, held, most = list(shape), 0, 0
    for axis, n in enumerate(sizes):
        before, o = nbytes(shape, itemsize), shape[2 + axis]
        shape[2 + axis] = n
        after = nbytes(shape, itemsize)
        most = max(most, held + before + after + o * n * (8 + itemsize))
        held = after
    return max(most, 2 * held)


@vjp_footprint("adaptive_avgpool", reduce=MEAN)
@vjp_footprint("adaptive_maxpool", reduce=MAX)
def adaptive_pool_footprint(ctx: GradContext, node, xs, y, gy, reduce: Reduction):
    """Averages: the transposed matrices; extremes (:func:`_route_adaptive_extremes`): the input gradient; one
    width-group combination's gather, whose taps per axis are at most Σ of the window widths ≤ N + O, and its
    transposed copy; and per output (int64) the extreme's index, its d offsets, the d + 2 scatter indices and the
    picked gradient."""
    x = xs[0]
    if not reduce.probed(ctx.max_as_sum).extreme:
        return transposed_bytes(gy.shape, x.shape[2:], gy.itemsize)
    out_sizes = per_axis(ctx, node, "output_size", x.ndim - 2)
    d = len(out_sizes)
    gathered = nbytes((*x.shape[:2], *(n + o for n, o in zip(x.shape[2:], out_sizes))), x.itemsize)
    return x.nbytes + 2 * gathered + (2 * d + 4) * nbytes(gy.shape, 8)


@vjp("lppool")
def lppool(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    p = float(node.fields["p"])
    windows = window_layout(ctx, node, x)
    x64 = x.astype(np.float64)
    if _few_windows(windows, x):
        values = windows.stacked(x64)                                                     # (B, C, *N_out, Πk)
        total = (values ** p).sum(axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(total != 0, np.abs(total) ** (1.0 / p - 1.0), 0.0) * gy[..., None]
            per_window = np.where(total != 0, factor * values ** (p - 1), 0.0)
        return [scatter_stacked(windows, x.shape, per_window, np.float64).astype(gy.dtype)]
    taps = windows.tap_values(windows.padded(x64))
    total = sum(v ** p for v in taps)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(total != 0, np.abs(total) ** (1.0 / p - 1.0), 0.0) * gy
        per_tap = [np.where(total != 0, factor * v ** (p - 1), 0.0) for v in taps]
    return [scatter_taps(windows, x.shape, per_tap, np.float64).astype(gy.dtype)]


@vjp_footprint("lppool")
def lppool_footprint(ctx: GradContext, node, xs, y, gy):
    """In float64: x, its padded copy, the window sums (and two partial sums), the factor, every tap's gradient
    (and one tap's two temporaries), the padded input gradient; then its cast."""
    x = xs[0]
    windows = window_layout(ctx, node, x)
    padded = windows.padded_bytes(x, 8) or nbytes(x.shape, 8)
    taps = prod(windows.kernel)
    out64 = nbytes(y.shape, 8)
    if _few_windows(windows, x):
        # every tap at once: the stacked windows, their power, the factor times another power, the gradients and
        # their copy in the scatter's layout; the scatter's index
        return nbytes(x.shape, 8) + 2 * padded + 5 * taps * out64 + 5 * out64 + 8 * taps * prod(y.shape[2:]) \
            + x.nbytes
    return nbytes(x.shape, 8) + 2 * padded + (taps + 5) * out64 + x.nbytes


@vjp("stochastic_pool")
def stochastic_pool(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    windows = window_layout(ctx, node, x)
    xp = windows.padded(x)
    if _few_windows(windows, x):
        if ctx.max_as_sum:
            return [scatter_stacked(windows, x.shape, gy[..., None], gy.dtype)]
        values = windows.stacked(x)                                                       # (B, C, *N_out, Πk)
        total = values.sum(axis=-1)
        if node.fields.get("mode", "test") == "test":
            safe = np.where(total > 0, total, 1)[..., None]
            per_window = np.where(total[..., None] > 0, gy[..., None] * (2 * values - y[..., None]) / safe, 0)
            return [scatter_stacked(windows, x.shape, per_window.astype(gy.dtype), gy.dtype)]
        return [_first_hits_at_once(windows, xp, x.shape, y, gy, where=total > 0)]
    taps = windows.tap_values(xp)
    if ctx.max_as_sum:
        per_tap = [gy] * len(taps)
    elif node.fields.get("mode", "test") == "test":
        total = sum(taps)
        safe = np.where(total > 0, total, 1)
        per_tap = [np.where(total > 0, gy * (2 * v - y) / safe, 0).astype(gy.dtype) for v in taps]
    else:  # the drawn element: the first in its window equal to the value drawn
        per_tap = _first_hits(windows, xp, y, gy, where=sum(taps) > 0)
    return [scatter_taps(windows, x.shape, per_tap, gy.dtype)]


@vjp_footprint("stochastic_pool")
def stochastic_pool_footprint(ctx: GradContext, node, xs, y, gy):
    """The padded copy and the padded input gradient; test mode: the window sums (two at once), the safe divisor,
    every tap's gradient and one tap's three temporaries; train mode: the first hits and their window sums."""
    x = xs[0]
    windows = window_layout(ctx, node, x)
    base = windows.padded_bytes(x) + (windows.padded_bytes(x) or x.nbytes)
    if _few_windows(windows, x):
        # every tap at once: the scatter's index; the stacked windows (and their padded copy) with, in test mode,
        # four temporaries of their size and the cast, or the first hits at once
        pairs = prod(windows.kernel) * prod(y.shape[2:])
        stacked = windows.stacked_bytes(x)
        if ctx.max_as_sum:
            return base + 8 * pairs + y.nbytes
        if node.fields.get("mode", "test") == "test":
            return base + 8 * pairs + windows.padded_bytes(x) + 6 * stacked + 4 * y.nbytes
        return base + windows.padded_bytes(x) + stacked + y.nbytes + _at_once_bytes(windows, x, y)
    if ctx.max_as_sum:
        return base
    if node.fields.get("mode", "test") == "test":
        return base + (len(list(windows.taps())) + 6) * y.nbytes
    return base + first_hits_bytes(windows, x, y) + 2 * y.nbytes + y.size
