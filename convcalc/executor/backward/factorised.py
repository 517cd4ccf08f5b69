"""VJPs of the factorised convolutions (separable, flattened, depthwise_separable): chains of convolution stages,
each stage's input gradient :func:`~.conv.conv_input_grad` with the stage's geometry from the forward's
:func:`~convcalc.executor.factorised.axis_stages`; the mid layers of depthwise_separable are recomputed from the
node's kept arrays (:meth:`GradContext.replay`) and go through their own VJPs."""

from __future__ import annotations

from ..conv import sliding_geometry
from ..factorised import axis_stages, depthwise_stage, mid_layers
from .base import GradContext, apply_vjp, vjp
from .conv import conv_input_grad


def _back_through_stages(ctx: GradContext, gy, stages, first_weight: int, groups: int):
    """The input gradient of the per-axis stages, the last first; stage i's weight is array
    ``first_weight + i·(1 + bias)`` of the node."""
    per_stage = 2 if ctx.node.fields.get("bias", True) else 1
    g = gy
    for index in reversed(range(len(stages))):
        stage = stages[index]
        g = conv_input_grad(g, ctx.weights[first_weight + index * per_stage], stage.in_sizes, stage.stride,
                            stage.dilation, stage.pads, groups)
    return g


@vjp("separable")
def separable(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    return [_back_through_stages(ctx, gy, stages, 0, 1)]


@vjp("flattened")
def flattened(ctx: GradContext, node, xs, y, gy):
    """The per-channel stages (groups F) back to the lateral 1×1's output, then the lateral conv."""
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    per_stage = 2 if node.fields.get("bias", True) else 1
    rank = len(kernel_size)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    g = _back_through_stages(ctx, gy, stages, per_stage, node.fields["out"])
    ones = (1,) * rank
    return [conv_input_grad(g, ctx.weights[0], x.shape[2:], ones, ones, [(0, 0)] * rank, 1)]


@vjp("depthwise_separable")
def depthwise_separable(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    replay = ctx.replay()
    h, (kernel_size, stride, dilation, pads, out_sizes) = depthwise_stage(replay, node, x)
    _, steps = mid_layers(replay, node, h, keep=True)
    rank = len(kernel_size)
    ones = (1,) * rank
    g = conv_input_grad(gy, ctx.weights[len(replay.weights)], out_sizes, ones, ones, [(0, 0)] * rank, 1)
    for sub, h_in, h_out, weights, buffers in reversed(steps):
        g = apply_vjp(ctx.sub(sub, weights, buffers), sub, [h_in], h_out, g)[0]
    return [conv_input_grad(g, ctx.weights[0], x.shape[2:], stride, dilation, pads, x.shape[1])]
