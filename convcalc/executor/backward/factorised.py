"""VJPs of the factorised convolutions (separable, flattened, depthwise_separable): chains of convolution stages,
each stage's input gradient :func:`~.conv.conv_input_grad` with the stage's geometry from the forward's
:func:`~convcalc.executor.factorised.axis_stages`; the mid layers of depthwise_separable are recomputed from the
node's kept arrays (:meth:`GradContext.replay`) and go through their own VJPs."""

from __future__ import annotations

from ..base import FOOTPRINTS, nbytes, stand_in
from ..conv import conv_nd, conv_nd_bytes, sliding_geometry
from ..factorised import Stage, axis_stages, depthwise_stage, mid_layers, mid_nodes
from .base import VJP_FOOTPRINTS, GradContext, apply_vjp, passes_through, train_step, vjp, vjp_footprint
from .conv import _COUNTER, bias_grad, conv_input_grad, conv_input_grad_bytes, conv_weight_grad


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


def stages_back_bytes(gy_shape, stages, channels_in, groups: int, itemsize: int) -> int:
    """The footprint of :func:`_back_through_stages`: at each stage, the gradient it reads (from the second on)
    next to the stage's :func:`conv_input_grad_bytes`; ``channels_in[i]`` the input channels of stage i."""
    batch, c_out = gy_shape[:2]
    shape, held, most = tuple(gy_shape), 0, 0
    for stage, c_in in reversed(list(zip(stages, channels_in))):
        w_shape = (c_out, c_in // groups, *stage.kernel)
        most = max(most, held + conv_input_grad_bytes(shape, w_shape, stage.in_sizes, stage.stride,
                                                      stage.dilation, stage.pads, groups, itemsize, not held))
        shape, c_out = (batch, c_in, *stage.in_sizes), c_in
        held = nbytes(shape, itemsize)
    return most


@vjp("separable")
def separable(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    return [_back_through_stages(ctx, gy, stages, 0, 1)]


@vjp_footprint("separable")
def separable_footprint(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    mid = node.fields.get("mid") or node.fields["out"]
    return stages_back_bytes(gy.shape, stages, [x.shape[1]] + [mid] * (len(stages) - 1), 1, gy.itemsize)


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


@vjp_footprint("flattened")
def flattened_footprint(ctx: GradContext, node, xs, y, gy):
    """The per-channel stages, then, holding their (cropped) gradient, its copy and the lateral 1×1's GEMM."""
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    f = node.fields["out"]
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    lateral = nbytes((x.shape[0], f, *x.shape[2:]), gy.itemsize)
    return max(stages_back_bytes(gy.shape, stages, [f] * len(stages), f, gy.itemsize), 2 * lateral + x.nbytes)


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


@vjp_footprint("depthwise_separable")
def depthwise_separable_footprint(ctx: GradContext, node, xs, y, gy):
    """The replayed forward keeps h and every mid layer's output; beside them, the replay's conv and the mid
    kernels' footprints, then the pointwise gradient (one GEMM) held through the mid VJPs and the depthwise one."""
    x = xs[0]
    kernel_size, stride, dilation, pads, out_sizes = sliding_geometry(ctx, node, x)
    c_in, batch = x.shape[1], x.shape[0]
    wide = c_in * node.fields.get("multiplier", 1)
    h = (batch, wide, *out_sizes)
    size = nbytes(h, gy.itemsize)
    subs = mid_nodes(node)
    kept = size * (1 + len(subs))
    most = conv_nd_bytes(x.shape, (wide, 1, *kernel_size), stride, pads, out_sizes, c_in, gy.itemsize)
    stand = stand_in(h, gy.dtype)
    for sub in subs:
        forward, backward = FOOTPRINTS.get(sub.kind), VJP_FOOTPRINTS.get(sub.kind)
        if forward is None or backward is None:
            ctx.fail(f"the executor has no footprint for the mid layer `{sub.kind}`", "use a kind it knows", "mid")
        back = 0 if passes_through(ctx, sub) else backward(ctx, sub, [stand], stand, stand)
        most = max(most, forward(ctx, sub, [stand], stand), size + back)
    depthwise = conv_input_grad_bytes(h, (wide, 1, *kernel_size), x.shape[2:], stride, dilation, pads, c_in,
                                      gy.itemsize)
    return kept + max(most, size + size, size + depthwise)


# ---- training steps (convcalc/executor/backward/train.py) ---------------------------------------------------------
def _train_chain(ctx: GradContext, wctx: GradContext, x, gy, chain, input_grad: bool, trainable: bool):
    """A chain of conv stages ``(stage, weight, bias, groups)``: the stage inputs replayed (forward work, not
    counted), then from the last stage back each weight gradient (when ``trainable``) and each stage's input
    gradient when the layer's is needed or, in a trainable layer, an earlier stage has weights to train."""
    inputs, h = [], x
    for stage, w, b, groups in chain:
        inputs.append(h)
        h = conv_nd(_COUNTER, h, w, b, stage.stride, stage.dilation, stage.pads, stage.out_sizes, groups)
    g, grads = gy, []
    for index in reversed(range(len(chain))):
        stage, w, b, groups = chain[index]
        if trainable:
            grads[:0] = [conv_weight_grad(wctx, inputs[index], g, stage.kernel, stage.stride, stage.dilation,
                                          stage.pads, groups)] + ([bias_grad(g)] if b is not None else [])
        if not (input_grad or (trainable and index > 0)):
            return None, grads
        g = conv_input_grad(g, w, stage.in_sizes, stage.stride, stage.dilation, stage.pads, groups, ctx)
    return g, grads


def _weights_of(ctx: GradContext, count: int, bias: bool):
    """The node's arrays as (weight, bias or None) per stage, in allocation order."""
    arrays, pairs = list(ctx.weights), []
    for _ in range(count):
        w = arrays.pop(0)
        pairs.append((w, arrays.pop(0) if bias else None))
    return pairs


@train_step("separable")
def separable_train(ctx, wctx, node, xs, y, gy, input_grad, trainable):
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    stages = axis_stages(ctx, x.shape[2:], kernel_size, stride, dilation, pads)
    pairs = _weights_of(ctx, len(stages), node.fields.get("bias", True))
    gx, _ = _train_chain(ctx, wctx, x, gy, [(s, w, b, 1) for s, (w, b) in zip(stages, pairs)], input_grad,
                         trainable)
    return [gx]


@train_step("flattened")
def flattened_train(ctx, wctx, node, xs, y, gy, input_grad, trainable):
    """The lateral 1×1 (groups 1), then the per-axis stages (groups F)."""
    x = xs[0]
    kernel_size, stride, dilation, pads, _ = sliding_geometry(ctx, node, x)
    rank, f = len(kernel_size), node.fields["out"]
    ones, sizes = (1,) * rank, tuple(x.shape[2:])
    lateral = Stage(ones, ones, ones, tuple([(0, 0)] * rank), sizes, sizes)
    stages = axis_stages(ctx, sizes, kernel_size, stride, dilation, pads)
    pairs = _weights_of(ctx, 1 + len(stages), node.fields.get("bias", True))
    chain = [(lateral, *pairs[0], 1)] + [(s, w, b, f) for s, (w, b) in zip(stages, pairs[1:])]
    gx, _ = _train_chain(ctx, wctx, x, gy, chain, input_grad, trainable)
    return [gx]


@train_step("depthwise_separable")
def depthwise_separable_train(ctx, wctx, node, xs, y, gy, input_grad, trainable):
    """Pointwise (its weight gradient on the replayed mid output, its input gradient: the depthwise stage has
    weights before it), the mid layers through their own VJPs (elementwise), then the depthwise stage."""
    x = xs[0]
    replay = ctx.replay()
    h, (kernel_size, stride, dilation, pads, out_sizes) = depthwise_stage(replay, node, x)
    h_mid, steps = mid_layers(replay, node, h, keep=True)
    rank, c_in = len(kernel_size), x.shape[1]
    ones, bias = (1,) * rank, node.fields.get("bias", True)
    w_point = ctx.weights[len(replay.weights)]
    if trainable:
        conv_weight_grad(wctx, h_mid, gy, ones, ones, ones, [(0, 0)] * rank, 1)
    g = conv_input_grad(gy, w_point, out_sizes, ones, ones, [(0, 0)] * rank, 1, ctx)
    for sub, h_in, h_out, weights, buffers in reversed(steps):
        g = apply_vjp(ctx.sub(sub, weights, buffers), sub, [h_in], h_out, g)[0]
    if trainable:
        conv_weight_grad(wctx, x, g, kernel_size, stride, dilation, pads, c_in)
    if not input_grad:
        return [None]
    return [conv_input_grad(g, ctx.weights[0], x.shape[2:], stride, dilation, pads, c_in, ctx)]
