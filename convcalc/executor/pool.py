"""Pooling kernels: max / min / average over sliding windows, global and adaptive pooling, power-average (LP)
and stochastic pooling.

Definitions follow ``torch.nn.MaxPool{1,2,3}d``, ``AvgPool{1,2,3}d``, ``AdaptiveAvgPool{1,2,3}d`` and
``LPPool{1,2,3}d``:

* window positions per axis: ``floor_or_ceil((N + 2p − k_eff) / s) + 1`` with ``k_eff = d·(k − 1) + 1``; with
  ``ceil_mode`` a last window that would start inside the right padding is dropped;
* max pooling never picks padding (pads with −inf; min pooling with +inf);
* average pooling divides by the window clipped to the padded input (``count_include_pad``) or by the number of
  real input elements in it (without);
* adaptive output index i along an axis of length N pools ``[floor(i·N/O), ceil((i+1)·N/O))``;
* LP pooling: ``(Σ x^p)^(1/p)`` per window, no padding (a ceil-mode partial window sums what is inside it);
* stochastic pooling (Zeiler & Fergus 2013), no padding: ``Σa²/Σa`` at test time, in training one element drawn
  with probability ``a_i/Σa``.

Box reductions (max, min, sum) factor over the axes, so the max/min/avg kernel reduces one axis at a time with
one pass per tap of that axis (Σk passes instead of Πk). No multiply-accumulates: 0 MACs.
With ``max_as_sum`` (the receptive-field probe) max/min pooling sums its window instead, so nothing cancels.

The window layout of every sliding-window pool (:func:`window_layout`, shared with the backward pass) and each
kind's reduction (:class:`Reduction`, given at registration: ``@kernel("maxpool", reduce=MAX)``) are written
once here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import (Context, footprint, kernel, nbytes, pad, per_axis, require_rank, strided, taps_of, window_count,
                   window_index)


@dataclass(frozen=True)
class Reduction:
    """How a pool combines the elements of a window.

    ``ufunc`` folds the taps pairwise (sliding windows), ``whole(a, axis=…, keepdims=True)`` reduces axes at once
    (global and adaptive pools), ``arg`` finds the extreme the backward pass routes to (None: every element gets
    a share), ``fill`` is the padding value that never wins, and ``average`` divides by the window count.
    """

    name: str
    ufunc: np.ufunc
    whole: Callable
    arg: Callable | None
    fill: float
    average: bool = False

    @property
    def extreme(self) -> bool:
        return self.arg is not None

    def probed(self, max_as_sum: bool) -> "Reduction":
        """The reduction actually run: a window sum for max/min under ``max_as_sum`` (the receptive-field probe)."""
        return SUM if max_as_sum and self.extreme else self


MAX = Reduction("max", np.maximum, np.max, np.argmax, -np.inf)
MIN = Reduction("min", np.minimum, np.min, np.argmin, np.inf)
MEAN = Reduction("mean", np.add, np.mean, None, 0.0, average=True)
SUM = Reduction("sum", np.add, np.sum, None, 0.0)


@dataclass(frozen=True)
class Windows:
    """The sliding windows of a pool on one input: per axis the kernel, stride, dilation, symmetric padding,
    the (before, after) padding actually applied (after = padding plus what a ceil-mode last window reaches
    beyond it) and the number of windows."""

    kernel: tuple
    stride: tuple
    dilation: tuple
    padding: tuple
    pads: tuple
    out_sizes: tuple

    def padded(self, x: np.ndarray, fill=0.0) -> np.ndarray:
        return pad(x, self.pads, fill)

    def padded_bytes(self, x, itemsize: int | None = None) -> int:
        """Bytes of :meth:`padded`'s copy of ``x`` (0 when nothing is padded: ``x`` itself)."""
        if not any(b or a for b, a in self.pads):
            return 0
        sizes = [n + b + a for n, (b, a) in zip(x.shape[2:], self.pads)]
        return nbytes((*x.shape[:2], *sizes), itemsize or x.itemsize)

    def stacked_bytes(self, x, itemsize: int | None = None) -> int:
        """Bytes of :meth:`stacked`'s result ``(B, C, *N_out, Πk)``."""
        taps = 1
        for k in self.kernel:
            taps *= k
        return nbytes((*x.shape[:2], *self.out_sizes, taps), itemsize or x.itemsize)

    def taps(self):
        """Per tap, in row-major order, the index of that tap of every window in the padded input."""
        for offsets in taps_of(self.kernel):
            yield window_index(offsets, self.dilation, self.out_sizes, self.stride)

    def tap_values(self, xp: np.ndarray) -> list[np.ndarray]:
        """Every tap of every window of the padded ``xp``: one ``(B, C, *N_out)`` view per tap."""
        return [xp[index] for index in self.taps()]

    def stacked(self, x: np.ndarray) -> np.ndarray:
        """Every window of ``x`` (zero-padded) as a trailing axis: ``(B, C, *N_out, Πk)``, taps in row-major order
        (one copy of a sliding-window view, not a NumPy call per tap: a kernel can have 10⁶ taps)."""
        rank = len(self.kernel)
        k_eff = [d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation)]
        view = sliding_window_view(self.padded(x), k_eff, axis=tuple(range(2, 2 + rank)))
        view = view[(slice(None), slice(None)) + tuple(strided(0, n, s) for n, s in zip(self.out_sizes, self.stride))
                    + tuple(slice(None, None, d) for d in self.dilation)]                 # (B, C, *N_out, *k)
        return view.reshape(*x.shape[:2], *self.out_sizes, -1)

    def divisor(self, x_sizes, include_pad: bool, ndim: int, dtype) -> np.ndarray:
        """Each average window's divisor, broadcastable to the output: the window clipped to the padded input
        (``count_include_pad``), or to the input itself."""
        divisor = np.ones((1,) * ndim, dtype=np.float64)
        for axis, (n, k, s, p, o) in enumerate(zip(x_sizes, self.kernel, self.stride, self.padding,
                                                   self.out_sizes)):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)        # the window clipped to the padded input
            if not include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            shape = [1] * ndim
            shape[2 + axis] = o
            divisor = divisor * (end - start).reshape(shape)
        return divisor.astype(dtype)


def window_layout(ctx: Context, node, x: np.ndarray) -> Windows:
    """The windows of a sliding-window pool (max, min, avg, lp, stochastic) on ``x``. A kind without a
    ``padding`` or ``dilation`` field (avgpool has no dilation; lppool and stochastic_pool neither) reads 0 and 1;
    no ``stride`` means the kernel."""
    rank = require_rank(ctx, x)
    sizes = x.shape[2:]
    kernel_size = per_axis(ctx, node, "kernel", rank)
    stride = kernel_size if node.fields.get("stride") is None else per_axis(ctx, node, "stride", rank)
    dilation = per_axis(ctx, node, "dilation", rank, 1)
    padding = per_axis(ctx, node, "padding", rank, 0)
    for p, k in zip(padding, kernel_size):
        if 2 * p > k:
            ctx.fail(f"padding {p} is more than half the kernel ({k})",
                     "PyTorch requires padding ≤ kernel/2 for pooling; reduce the padding", "padding")
    ceil_mode = bool(node.fields.get("ceil_mode", False))
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
    out_sizes = [window_count(ctx, axis, n, k, s, (p, p), ceil_mode)
                 for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, padding))]
    pads = [(p, max(p, (o - 1) * s + k - n - p)) for n, k, s, p, o in zip(sizes, k_eff, stride, padding, out_sizes)]
    return Windows(tuple(kernel_size), tuple(stride), tuple(dilation), tuple(padding), tuple(pads), tuple(out_sizes))


def _reduce_windows(x: np.ndarray, axis: int, count: int, step: int, taps: int, dilation: int,
                    ufunc: np.ufunc) -> np.ndarray:
    """Reduce ``taps`` positions ``start + t·dilation`` of ``x`` along ``axis`` for ``count`` evenly strided
    window starts ``0, step, …`` (one pass per tap)."""
    index = [slice(None)] * x.ndim
    acc = None
    for t in range(taps):
        start = t * dilation
        index[axis] = slice(start, start + (count - 1) * step + 1, step)
        part = x[tuple(index)]
        if acc is None:
            acc = part.copy()
        else:
            ufunc(acc, part, out=acc)
    return acc


@kernel("maxpool", reduce=MAX)
@kernel("minpool", reduce=MIN)
@kernel("avgpool", reduce=MEAN)
def window_pool(ctx: Context, node, xs, reduce: Reduction):
    x = xs[0]
    windows = window_layout(ctx, node, x)
    how = reduce.probed(ctx.max_as_sum)
    y = windows.padded(x, how.fill)
    for axis, (k, s, d, o) in enumerate(zip(windows.kernel, windows.stride, windows.dilation, windows.out_sizes)):
        y = _reduce_windows(y, 2 + axis, o, s, k, d, how.ufunc)
    if how.average:
        y /= windows.divisor(x.shape[2:], node.fields.get("count_include_pad", True), y.ndim, y.dtype)
    return y


@footprint("maxpool", reduce=MAX)
@footprint("minpool", reduce=MIN)
@footprint("avgpool", reduce=MEAN)
def window_pool_footprint(ctx: Context, node, xs, y, reduce: Reduction):
    """The padded copy, then per axis the reduced array next to the one it reduces (and the divisor's few
    float64 rows)."""
    x = xs[0]
    windows = window_layout(ctx, node, x)
    shape, held, most = list(x.shape), windows.padded_bytes(x), 0
    for axis, o in enumerate(windows.out_sizes):
        shape[2 + axis] = o
        if axis + 1 < len(windows.out_sizes):  # the axes not reduced yet keep their padding
            shape[3 + axis] = x.shape[3 + axis] + sum(windows.pads[axis + 1])
        reduced = nbytes(shape, x.itemsize)
        most = max(most, held + reduced)
        held = reduced
    return most + (2 * nbytes(windows.out_sizes, 8) if reduce.average else 0)


def adaptive_windows(n: int, o: int) -> "AdaptiveSpans":
    """Adaptive pooling's windows along one axis: output i of O over N pools [floor(i·N/O), ceil((i+1)·N/O)), as a
    sequence worked out when indexed (a list of O tuples cost ~100 bytes per output: 10^8 outputs, 10 GB)."""
    return AdaptiveSpans(n, o)


class AdaptiveSpans:
    """``spans[i]`` = ``(start, end)`` of output i's window; :meth:`bounds` gives them all as two int64 arrays."""

    __slots__ = ("n", "o")

    def __init__(self, n: int, o: int):
        self.n, self.o = n, o

    def __len__(self) -> int:
        return self.o

    def __getitem__(self, i: int) -> tuple[int, int]:
        if not 0 <= i < self.o:
            raise IndexError(i)
        return i * self.n // self.o, -(-(i + 1) * self.n // self.o)

    def __iter__(self):
        return (self[i] for i in range(self.o))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of every window, 16 bytes per output."""
        i = np.arange(self.o, dtype=np.int64)
        return i * self.n // self.o, -(-(i + 1) * self.n // self.o)

    def widest(self) -> int:
        if not self.o:
            return 0
        starts, ends = self.bounds()
        return int((ends - starts).max())


def pool_axis(how: "Reduction", y: np.ndarray, ax: int, spans: AdaptiveSpans) -> np.ndarray:
    """Adaptive pooling along axis ``ax``: the windows grouped by width (two widths at most), each group one
    ``np.take`` of its windows' indices, shape (…, windows, width, …), and one reduction over the width. (A
    reduction per window made an array object per output: 3,000,000 outputs took 886 MB and 14 s.)"""
    starts, ends = spans.bounds()
    widths = ends - starts
    result = None
    for width in np.unique(widths):
        pick = np.flatnonzero(widths == width)
        index = starts[pick][:, None] + np.arange(width, dtype=np.int64)
        pooled = how.whole(np.take(y, index, axis=ax), axis=ax + 1)
        if result is None:
            shape = list(pooled.shape)
            shape[ax] = len(spans)
            result = np.empty(shape, pooled.dtype)
        np.moveaxis(result, ax, 0)[pick] = np.moveaxis(pooled, ax, 0)
    return result


@kernel("global_avgpool", reduce=MEAN)
@kernel("global_maxpool", reduce=MAX)
def global_pool(ctx: Context, node, xs, reduce: Reduction):
    """One value per channel over all spatial positions; (C, 1, …, 1) or (C,) with ``keepdims: false``."""
    x = xs[0]
    require_rank(ctx, x)
    y = reduce.probed(ctx.max_as_sum).whole(x, axis=tuple(range(2, x.ndim)), keepdims=True)
    if not node.fields.get("keepdims", True):
        y = y.reshape(x.shape[:2])
    return y


@footprint("global_avgpool", "global_maxpool")
def global_pool_footprint(ctx: Context, node, xs, y):
    return y.nbytes


@kernel("adaptive_avgpool", reduce=MEAN)
@kernel("adaptive_maxpool", reduce=MAX)
def adaptive_pool(ctx: Context, node, xs, reduce: Reduction):
    """Adaptive pooling to ``output_size``: window i of O over N is [floor(i·N/O), ceil((i+1)·N/O))."""
    x = xs[0]
    rank = require_rank(ctx, x)
    out_sizes = per_axis(ctx, node, "output_size", rank)
    how = reduce.probed(ctx.max_as_sum)
    y = x
    for axis, o in enumerate(out_sizes):
        y = pool_axis(how, y, 2 + axis, adaptive_windows(y.shape[2 + axis], o))
    return y.astype(x.dtype, copy=False)


@footprint("adaptive_avgpool", "adaptive_maxpool")
def adaptive_pool_footprint(ctx: Context, node, xs, y):
    """Per axis (:func:`pool_axis`): the array being pooled; the windows' bounds, widths and one width group's
    indices (int64: at most 4 per output plus the group's taps); the group's ``np.take`` copy, whose taps are at
    most Σ of the window widths ≤ N + O; its reduction and the result."""
    x = xs[0]
    out_sizes = per_axis(ctx, node, "output_size", x.ndim - 2)
    shape, held, most = list(x.shape), 0, 0
    for axis, o in enumerate(out_sizes):
        n = shape[2 + axis]
        shape[2 + axis] = n + o
        taken = nbytes(shape, x.itemsize)
        shape[2 + axis] = o
        pooled = nbytes(shape, x.itemsize)
        most = max(most, held + 8 * (4 * o + n + o) + taken + 2 * pooled)
        held = pooled
    return most


@kernel("lppool")
def lppool(ctx: Context, node, xs):
    """torch.nn.LPPool: (Σ x^p)^(1/p) per window, as sign(s)·|s|^(1/p) (PyTorch's form)."""
    x = xs[0]
    p = float(node.fields["p"])
    total = np.sum(window_layout(ctx, node, x).stacked(x.astype(np.float64) ** p), axis=-1)
    return (np.sign(total) * np.abs(total) ** (1.0 / p)).astype(x.dtype)


@footprint("lppool")
def lppool_footprint(ctx: Context, node, xs, y):
    """In float64: x and x^p (the cast, then the power), the padded copy and the stacked windows; then the window
    sums and the three temporaries of sign(s)·|s|^(1/p), and the result in the run's dtype."""
    x = xs[0]
    windows = window_layout(ctx, node, x)
    x64 = nbytes(x.shape, 8)
    stacked = windows.stacked_bytes(x, 8)
    out64 = nbytes(y.shape, 8)
    return max(2 * x64, x64 + windows.padded_bytes(x, 8) + stacked, stacked + out64, 4 * out64 + y.nbytes)


@kernel("stochastic_pool")
def stochastic_pool(ctx: Context, node, xs):
    """Zeiler & Fergus 2013. test: Σa²/Σa; train: one a_i drawn with probability a_i/Σa (ctx.rng). Needs a ≥ 0."""
    x = xs[0]
    if x.size and x.min() < 0 and not ctx.max_as_sum:
        ctx.fail(f"stochastic pooling needs non-negative input, but the smallest value is {float(x.min()):g}",
                 "put a relu (or another non-negative activation) before it")
    windows = window_layout(ctx, node, x).stacked(x)
    total = windows.sum(axis=-1)
    if ctx.max_as_sum:  # the receptive-field probe: every tap counts, nothing cancels
        return total
    if node.fields.get("mode", "test") == "test":
        safe = np.where(total > 0, total, 1)
        return np.where(total > 0, (windows * windows).sum(axis=-1) / safe, 0).astype(x.dtype)
    u = ctx.rng.random(total.shape) * total
    running = np.cumsum(windows, axis=-1)
    pick = np.minimum((running <= u[..., None]).sum(axis=-1), windows.shape[-1] - 1)
    chosen = np.take_along_axis(windows, pick[..., None], axis=-1)[..., 0]
    return np.where(total > 0, chosen, 0).astype(x.dtype)


@footprint("stochastic_pool")
def stochastic_pool_footprint(ctx: Context, node, xs, y):
    """The padded copy and the stacked windows S, then S with the window sums; test mode: S² and five output-sized
    arrays (two masks among them); train mode: the running sums, their comparison mask, and the float64 draw,
    threshold, counts and picks."""
    x = xs[0]
    windows = window_layout(ctx, node, x)
    stacked = windows.stacked_bytes(x)
    first = windows.padded_bytes(x) + stacked
    if ctx.max_as_sum:
        return max(first, stacked + y.nbytes)
    if node.fields.get("mode", "test") == "test":
        return max(first, 2 * stacked + 5 * y.nbytes)
    return max(first, 2 * stacked + windows.stacked_bytes(x, 1) + 4 * nbytes(y.shape, 8) + 3 * y.nbytes)
