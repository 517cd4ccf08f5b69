"""Kernels of the factorised convolutions: separable, depthwise_separable and flattened, each a chain of
convolution stages (:func:`~convcalc.executor.conv.conv_stage`), counting the work every stage really does.

Weights are allocated in this order (``Execution.weights[name]``):

* ``separable``: per axis i, weight ``(C_out,i, C_in,i, 1…k_i…1)`` then its bias;
* ``depthwise_separable``: depthwise ``(C·m, 1, *k)`` (+ bias), the mid layers' arrays, pointwise
  ``(C_out, C·m, 1, …)`` (+ bias);
* ``flattened``: lateral ``(F, C, 1, …)`` (+ bias), then per axis i ``(F, 1, 1…k_i…1)`` (+ bias).

The per-axis stages (:func:`axis_stages`) and the mid layers (:func:`mid_layers`) are shared with the backward
pass. MACs: every GEMM counts M·K·N, every weighted sum its products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spec.graph import Node
from .base import KERNELS, Context, kernel, window_count
from .conv import conv_stage, sliding_geometry


@dataclass(frozen=True)
class Stage:
    """One 1-D convolution of a factorised kind, along one spatial axis: its kernel, stride, dilation and padding
    (neutral on the other axes) and the spatial sizes it reads and writes."""

    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    in_sizes: tuple
    out_sizes: tuple


def _only_axis(values, axis, neutral):
    return tuple(v if a == axis else neutral for a, v in enumerate(values))


def axis_stages(ctx: Context, sizes, kernel_size, stride, dilation, pads) -> list[Stage]:
    """One 1-D conv per spatial axis, in axis order, on input ``sizes``: the full window's geometry split by axis
    (k×1 then 1×k)."""
    stages = []
    sizes = tuple(sizes)
    for axis in range(len(kernel_size)):
        k = _only_axis(kernel_size, axis, 1)
        p = tuple(pads[a] if a == axis else (0, 0) for a in range(len(sizes)))
        s = _only_axis(stride, axis, 1)
        d = _only_axis(dilation, axis, 1)
        out = tuple(window_count(ctx, a, n, dd * (kk - 1) + 1, ss, pp)
                    for a, (n, kk, ss, dd, pp) in enumerate(zip(sizes, k, s, d, p)))
        stages.append(Stage(k, s, d, p, sizes, out))
        sizes = out
    return stages


def _run_stages(ctx: Context, x, stages, channels, groups_of, bias):
    """The stages in order; ``channels[i]`` output channels of stage i, ``groups_of(C_in)`` its groups."""
    for stage, c_out in zip(stages, channels):
        x = conv_stage(ctx, x, c_out, stage.kernel, stage.stride, stage.dilation, stage.pads, stage.out_sizes,
                       groups_of(x.shape[1]), bias)
    return x


@kernel("separable")
def separable(ctx: Context, node, xs):
    """k×1 then 1×k (one 1-D conv per axis): C_in → mid → … → C_out."""
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    c_out = node.fields["out"]
    mid = node.fields.get("mid") or c_out
    channels = [mid] * (len(kernel_size) - 1) + [c_out]
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    return _run_stages(ctx, x, stages, channels, lambda c: 1, node.fields.get("bias", True))


@kernel("flattened")
def flattened(ctx: Context, node, xs):
    """Lateral 1×1 C → F, then a per-channel 1-D conv along each axis (Jin et al. 2014)."""
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    f, bias, rank = node.fields["out"], node.fields.get("bias", True), len(kernel_size)
    y = conv_stage(ctx, x, f, (1,) * rank, (1,) * rank, (1,) * rank, [(0, 0)] * rank, x.shape[2:], 1, bias)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    return _run_stages(ctx, y, stages, [f] * rank, lambda c: c, bias)


def mid_layers(ctx: Context, node, h: np.ndarray, keep: bool = False):
    """Run depthwise_separable's mid layers (each through its own kernel) on ``h``; return the result and, with
    ``keep``, per layer ``(sub_node, input, output, weights, buffers)`` for the backward pass."""
    steps = []
    for index, (kind, fields) in enumerate(node.fields.get("mid", ())):
        fn = KERNELS.get(kind)
        if fn is None:
            ctx.fail(f"the executor has no kernel for the mid layer `{kind}`", "use a kind the executor knows", "mid")
        sub = Node(f"{node.name}.mid{index + 1}", kind, dict(fields), [node.name], node.mark)
        w0, b0 = len(ctx.weights), len(ctx.buffer_arrays)
        out = fn(ctx, sub, [h])
        if out.shape != h.shape:
            ctx.fail(f"mid layer `{kind}` changed the shape to {out.shape[1:]}", "use shape-keeping layers", "mid")
        if keep:
            steps.append((sub, h, out, ctx.weights[w0:], ctx.buffer_arrays[b0:]))
        h = out
    return h, steps


def depthwise_stage(ctx: Context, node, x: np.ndarray):
    """The depthwise k×k stage (C → C·m, groups C); returns its output and the geometry."""
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_in = x.shape[1]
    wide = c_in * node.fields.get("multiplier", 1)
    y = conv_stage(ctx, x, wide, kernel_size, stride, dilation, pads, out_sizes, c_in, node.fields.get("bias", True))
    return y, (kernel_size, stride, dilation, pads, out_sizes)


@kernel("depthwise_separable")
def depthwise_separable(ctx: Context, node, xs):
    """Depthwise k×k (C → C·m, groups C), the mid layers, pointwise 1×1 (C·m → C_out)."""
    y, (kernel_size, _, _, _, out_sizes) = depthwise_stage(ctx, node, xs[0])
    y, _ = mid_layers(ctx, node, y)
    rank = len(kernel_size)
    return conv_stage(ctx, y, node.fields["out"], (1,) * rank, (1,) * rank, (1,) * rank, [(0, 0)] * rank,
                      out_sizes, 1, node.fields.get("bias", True))
