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
from .base import FOOTPRINTS, KERNELS, Context, footprint, kernel, nbytes, stand_in, window_count
from .conv import conv_nd_bytes, conv_stage, sliding_geometry


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


def stages_bytes(x_shape, stages, channels, groups_of, itemsize: int) -> int:
    """The footprint of :func:`_run_stages`: at each stage its input (the previous stage's output, from the second
    on) next to the stage's conv."""
    batch, c, *_ = x_shape
    most, held = 0, 0
    for stage, c_out in zip(stages, channels):
        groups = groups_of(c)
        work = conv_nd_bytes((batch, c, *stage.in_sizes), (c_out, c // groups, *stage.kernel), stage.stride,
                             stage.pads, stage.out_sizes, groups, itemsize)
        most = max(most, held + work)
        c, held = c_out, nbytes((batch, c_out, *stage.out_sizes), itemsize)
    return most


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


@footprint("separable")
def separable_footprint(ctx: Context, node, xs, y):
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    c_out = node.fields["out"]
    channels = [node.fields.get("mid") or c_out] * (len(kernel_size) - 1) + [c_out]
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    return stages_bytes(x.shape, stages, channels, lambda c: 1, x.itemsize)


@kernel("flattened")
def flattened(ctx: Context, node, xs):
    """Lateral 1×1 C → F, then a per-channel 1-D conv along each axis (Jin et al. 2014)."""
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    f, bias, rank = node.fields["out"], node.fields.get("bias", True), len(kernel_size)
    y = conv_stage(ctx, x, f, (1,) * rank, (1,) * rank, (1,) * rank, [(0, 0)] * rank, x.shape[2:], 1, bias)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    return _run_stages(ctx, y, stages, [f] * rank, lambda c: c, bias)


@footprint("flattened")
def flattened_footprint(ctx: Context, node, xs, y):
    """The lateral 1×1's output (a GEMM, no copy of x), held through the per-axis stages."""
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    f = node.fields["out"]
    lateral = nbytes((x.shape[0], f, *x.shape[2:]), x.itemsize)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    return lateral + stages_bytes((x.shape[0], f, *x.shape[2:]), stages, [f] * len(kernel_size), lambda c: c,
                                  x.itemsize)


def mid_layers(ctx: Context, node, h: np.ndarray, keep: bool = False):
    """Run depthwise_separable's mid layers (each through its own kernel) on ``h``; return the result and, with
    ``keep``, per layer ``(sub_node, input, output, weights, buffers)`` for the backward pass."""
    steps = []
    for sub in mid_nodes(node):
        kind = sub.kind
        fn = KERNELS.get(kind)
        if fn is None:
            ctx.fail(f"the executor has no kernel for the mid layer `{kind}`", "use a kind the executor knows", "mid")
        w0, b0 = len(ctx.weights), len(ctx.buffer_arrays)
        out = fn(ctx, sub, [h])
        if out.shape != h.shape:
            ctx.fail(f"mid layer `{kind}` changed the shape to {out.shape[1:]}", "use shape-keeping layers", "mid")
        if keep:
            steps.append((sub, h, out, ctx.weights[w0:], ctx.buffer_arrays[b0:]))
        h = out
    return h, steps


def mid_nodes(node) -> list[Node]:
    """The mid layers of ``node`` as the nodes :func:`mid_layers` runs."""
    return [Node(f"{node.name}.mid{index + 1}", kind, dict(fields), [node.name], node.mark)
            for index, (kind, fields) in enumerate(node.fields.get("mid", ()))]


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


@footprint("depthwise_separable")
def depthwise_separable_footprint(ctx: Context, node, xs, y):
    """The depthwise stage; then, holding its output h (and from the second on the last mid layer's), the mid
    layers' own footprints; then the pointwise conv."""
    x = xs[0]
    kernel_size, stride, _, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_in, batch, rank = x.shape[1], x.shape[0], len(kernel_size)
    wide = c_in * node.fields.get("multiplier", 1)
    h = (batch, wide, *out_sizes)
    most = conv_nd_bytes(x.shape, (wide, 1, *kernel_size), stride, pads, out_sizes, c_in, x.itemsize)
    for index, sub in enumerate(mid_nodes(node)):
        fn = FOOTPRINTS.get(sub.kind)
        if fn is None:
            ctx.fail(f"the executor has no footprint for the mid layer `{sub.kind}`", "use a kind it knows", "mid")
        held = nbytes(h, x.itemsize) * (2 if index else 1)  # the depthwise output stays referenced throughout
        most = max(most, held + fn(ctx, sub, [stand_in(h, x.dtype)], stand_in(h, x.dtype)))
    pointwise = conv_nd_bytes(h, (node.fields["out"], wide, *(1,) * rank), (1,) * rank, [(0, 0)] * rank,
                              out_sizes, 1, x.itemsize)
    return max(most, nbytes(h, x.itemsize) + pointwise)
