"""Pooling kernels: max / min / average over sliding windows, global and adaptive pooling.

Definitions follow ``torch.nn.MaxPool{1,2,3}d``, ``AvgPool{1,2,3}d`` and ``AdaptiveAvgPool{1,2,3}d``:

* window positions per axis: ``floor_or_ceil((N + 2p − k_eff) / s) + 1`` with ``k_eff = d·(k − 1) + 1``; with
  ``ceil_mode`` a last window that would start inside the right padding is dropped;
* max pooling never picks padding (pads with −inf; min pooling with +inf);
* average pooling divides by the window clipped to the padded input (``count_include_pad``) or by the number of
  real input elements in it (without);
* adaptive output index i along an axis of length N pools ``[floor(i·N/O), ceil((i+1)·N/O))``.

Box reductions (max, min, sum) factor over the axes, so every kernel reduces one axis at a time with one pass
per tap of that axis (Σk passes instead of Πk). No multiply-accumulates: 0 MACs.
With ``max_as_sum`` (the receptive-field probe) max/min pooling sums its window instead, so nothing cancels.
"""

from __future__ import annotations

import numpy as np

from .base import Context, kernel, pad, per_axis, require_rank, window_count

_REDUCE = {"max": np.maximum, "min": np.minimum, "sum": np.add}


def _reduce_windows(x: np.ndarray, axis: int, count: int, step: int, taps: int,
                    dilation: int, op: str) -> np.ndarray:
    """Reduce ``taps`` positions ``start + t·dilation`` of ``x`` along ``axis`` for ``count`` evenly strided
    window starts ``0, step, …`` (one pass per tap)."""
    ufunc = _REDUCE[op]
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


def _window_geometry(ctx: Context, node, x: np.ndarray):
    rank = require_rank(ctx, x)
    sizes = x.shape[2:]
    kernel_size = per_axis(ctx, node, "kernel", rank)
    stride = kernel_size if node.fields.get("stride") is None else per_axis(ctx, node, "stride", rank)
    dilation = per_axis(ctx, node, "dilation", rank, 1) if node.kind != "avgpool" else (1,) * rank
    padding = per_axis(ctx, node, "padding", rank, 0)
    for p, k in zip(padding, kernel_size):
        if 2 * p > k:
            ctx.fail(f"padding {p} is more than half the kernel ({k})",
                     "PyTorch requires padding ≤ kernel/2 for pooling; reduce the padding", "padding")
    ceil_mode = bool(node.fields.get("ceil_mode", False))
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel_size, dilation)]
    out_sizes = [window_count(ctx, axis, n, k, s, (p, p), ceil_mode)
                 for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, padding))]
    # right padding: p, plus what a ceil-mode last window reaches beyond it
    pads = [(p, max(p, (o - 1) * s + k - n - p)) for n, k, s, p, o in zip(sizes, k_eff, stride, padding, out_sizes)]
    return kernel_size, stride, dilation, padding, pads, out_sizes


@kernel("maxpool", "minpool", "avgpool")
def window_pool(ctx: Context, node, xs):
    x = xs[0]
    kernel_size, stride, dilation, padding, pads, out_sizes = _window_geometry(ctx, node, x)
    if node.kind == "avgpool" or ctx.max_as_sum:
        op, fill = "sum", 0
    elif node.kind == "maxpool":
        op, fill = "max", -np.inf
    else:
        op, fill = "min", np.inf
    y = pad(x, pads, fill)
    for axis, (k, s, d, o) in enumerate(zip(kernel_size, stride, dilation, out_sizes)):
        y = _reduce_windows(y, 2 + axis, o, s, k, d, op)
    if node.kind == "avgpool":
        y /= avg_divisor(x.shape[2:], kernel_size, stride, padding, out_sizes,
                         node.fields.get("count_include_pad", True), y.ndim, y.dtype)
    return y


def avg_divisor(x_sizes, kernel_size, stride, padding, out_sizes, include_pad, ndim, dtype) -> np.ndarray:
    """Each average window's divisor, broadcastable to the output: the window clipped to the padded input
    (``count_include_pad``), or to the input itself."""
    divisor = np.ones((1,) * ndim, dtype=np.float64)
    for axis, (n, k, s, p, o) in enumerate(zip(x_sizes, kernel_size, stride, padding, out_sizes)):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)        # the window clipped to the padded input
        if not include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        shape = [1] * ndim
        shape[2 + axis] = o
        divisor = divisor * (end - start).reshape(shape)
    return divisor.astype(dtype)


def adaptive_windows(n: int, o: int) -> list[tuple[int, int]]:
    """Adaptive pooling's windows along one axis: output i of O over N pools [floor(i·N/O), ceil((i+1)·N/O))."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


@kernel("global_avgpool", "global_maxpool")
def global_pool(ctx: Context, node, xs):
    """One value per channel over all spatial positions; (C, 1, …, 1) or (C,) with ``keepdims: false``."""
    x = xs[0]
    require_rank(ctx, x)
    axes = tuple(range(2, x.ndim))
    if node.kind == "global_avgpool":
        y = x.mean(axis=axes, keepdims=True)
    elif ctx.max_as_sum:
        y = x.sum(axis=axes, keepdims=True)
    else:
        y = x.max(axis=axes, keepdims=True)
    if not node.fields.get("keepdims", True):
        y = y.reshape(x.shape[:2])
    return y


@kernel("adaptive_avgpool", "adaptive_maxpool")
def adaptive_pool(ctx: Context, node, xs):
    """Adaptive pooling to ``output_size``: window i of O over N is [floor(i·N/O), ceil((i+1)·N/O))."""
    x = xs[0]
    rank = require_rank(ctx, x)
    out_sizes = per_axis(ctx, node, "output_size", rank)
    average = node.kind == "adaptive_avgpool"
    y = x
    for axis, o in enumerate(out_sizes):
        n, ax = y.shape[2 + axis], 2 + axis
        parts = []
        for start, end in adaptive_windows(n, o):
            window = np.take(y, np.arange(start, end), axis=ax)
            if average:
                part = window.mean(axis=ax, keepdims=True)
            elif ctx.max_as_sum:
                part = window.sum(axis=ax, keepdims=True)
            else:
                part = window.max(axis=ax, keepdims=True)
            parts.append(part)
        y = np.concatenate(parts, axis=ax)
    return y.astype(x.dtype, copy=False)
