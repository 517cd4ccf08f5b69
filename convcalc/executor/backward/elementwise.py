"""VJPs of the elementwise kinds: the activations, dropout and identity (batch norm: backward/norm.py).

Activation derivatives follow PyTorch's backward formulas (at the kinks: ReLU and ReLU6 pass nothing at 0 and 6,
hardsigmoid nothing at ±3, hardswish x/3 + ½ on [−3, 3], hardtanh nothing at its bounds, PReLU and ELU the
negative side's slope at 0).
"""

from __future__ import annotations

import numpy as np

from ..elementwise import (GELU_TANH, SELU, _erf, _gelu_tanh_inner, _sigmoid, erf_bytes, hardsigmoid_form,
                           hardtanh_bounds, outputs, prelu_shape, softmax_axis, softplus_fields, softplus_of)
from .base import GradContext, vjp, vjp_footprint


def gradients(count: int, masks: int = 0):
    """A VJP footprint of ``count`` arrays the size of the gradient (the result and its expression's temporaries
    alive at once) and ``masks`` boolean ones: the forward's :func:`~convcalc.executor.elementwise.outputs`."""
    return outputs(count, masks)


@vjp("relu", activation=True)
def relu(ctx, node, xs, y, gy):
    return [gy * (xs[0] > 0)]  # a boolean mask multiply: ~8× faster than np.where


vjp_footprint("relu")(gradients(1, 1))  # x > 0, gy·mask


@vjp("relu6", activation=True)
def relu6(ctx, node, xs, y, gy):
    x = xs[0]
    return [gy * ((x > 0) & (x < 6))]


vjp_footprint("relu6")(gradients(1, 3))  # x > 0, x < 6, their and, gy·mask


@vjp("leaky_relu", activation=True)
def leaky_relu(ctx, node, xs, y, gy):
    x = xs[0]
    slope = gy.dtype.type(float(node.fields.get("negative_slope", 0.01)))
    return [np.where(x > 0, gy, gy * slope)]


vjp_footprint("leaky_relu")(gradients(2, 1))  # x > 0, gy·slope, the where


@vjp("sigmoid", activation=True)
def sigmoid(ctx, node, xs, y, gy):
    return [gy * (y * (1 - y))]


vjp_footprint("sigmoid")(gradients(2))  # 1 − y, y·(1 − y), gy·


@vjp("tanh", activation=True)
def tanh(ctx, node, xs, y, gy):
    return [gy * (1 - y * y)]


vjp_footprint("tanh")(gradients(2))  # y², 1 − y², gy·


@vjp("gelu", activation=True)
def gelu(ctx, node, xs, y, gy):
    """d/dx x·Φ(x) = Φ(x) + x·φ(x); the tanh form: ½(1 + t) + ½x(1 − t²)·k(1 + 3c·x²), t = tanh(k(x + c·x³))."""
    x = xs[0]
    if node.fields.get("approximate", "none") == "tanh":
        k, c = (x.dtype.type(v) for v in GELU_TANH)
        t = _gelu_tanh_inner(x)
        half = x.dtype.type(0.5)
        return [gy * (half * (1 + t) + half * x * (1 - t * t) * k * (1 + 3 * c * x * x))]
    cdf = 0.5 * (1 + _erf(x * x.dtype.type(1 / np.sqrt(2))))
    pdf = np.exp(-0.5 * x * x) * x.dtype.type(1 / np.sqrt(2 * np.pi))
    return [gy * (cdf + x * pdf)]


@vjp_footprint("gelu")
def gelu_footprint(ctx, node, xs, y, gy):
    """The tanh form: t and four temporaries; the exact form: x/√2 and erf's (then Φ), the density's two
    temporaries, x·φ, Φ + x·φ, gy·."""
    x = xs[0]
    if node.fields.get("approximate", "none") == "tanh":
        return 5 * x.nbytes
    return max(2 * x.nbytes + erf_bytes(x), 5 * x.nbytes)


@vjp("silu", "swish", activation=True)
def silu(ctx, node, xs, y, gy):
    """d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))."""
    x = xs[0]
    s = _sigmoid(x)
    return [gy * (s * (1 + x * (1 - s)))]


vjp_footprint("silu", "swish")(gradients(4))  # σ (two at once), 1 − σ, x·, 1 +, σ·, gy·


@vjp("hardsigmoid", activation=True)
def hardsigmoid(ctx, node, xs, y, gy):
    """α where the output is not clipped (−3 < x < 3 for torch's), 0 elsewhere."""
    x = xs[0]
    _, _, _, width, low, high = hardsigmoid_form(ctx, node)
    return [np.where((x > low) & (x < high), gy / gy.dtype.type(width), 0).astype(gy.dtype, copy=False)]


vjp_footprint("hardsigmoid")(gradients(2, 3))  # two bounds, their and, gy/w, the where


@vjp("hardswish", activation=True)
def hardswish(ctx, node, xs, y, gy):
    x = xs[0]
    slope = np.where(x < -3, 0, np.where(x <= 3, x / x.dtype.type(3) + x.dtype.type(0.5), 1)).astype(gy.dtype)
    return [gy * slope]


vjp_footprint("hardswish")(gradients(4, 2))  # two bounds, x/3, + ½, two wheres, the cast, gy·


@vjp("dropout", "identity")
def identity(ctx, node, xs, y, gy):
    return [gy]


vjp_footprint("dropout", "identity")(gradients(0))  # gy itself


@vjp("prelu", activation=True)
def prelu(ctx, node, xs, y, gy):
    """1 where x > 0, the slope a elsewhere."""
    x = xs[0]
    weight = ctx.weights[0]
    return [np.where(x > 0, gy, gy * weight.reshape(prelu_shape(x, weight.size)))]


vjp_footprint("prelu")(gradients(2, 1))  # x > 0, gy·a, the where


@vjp("elu", activation=True, selu=False)
@vjp("selu", activation=True, selu=True)
def elu(ctx, node, xs, y, gy, selu: bool):
    """1 where x > 0, α·exp(x) elsewhere; SELU: λ times it."""
    x = xs[0]
    alpha, scale = SELU if selu else (float(node.fields.get("alpha", 1)), 1.0)
    slope = np.where(x > 0, x.dtype.type(1), x.dtype.type(alpha) * np.exp(np.minimum(x, 0)))
    return [gy * (slope * x.dtype.type(scale) if selu else slope)]


vjp_footprint("elu", "selu")(gradients(4, 1))  # x > 0, min, exp, α·, the where, λ·, gy·


@vjp("mish", activation=True)
def mish(ctx, node, xs, y, gy):
    """d/dx x·tanh(sp(x)) = tanh(sp(x)) + x·(1 − tanh²(sp(x)))·σ(x), sp = softplus."""
    x = xs[0]
    t = np.tanh(softplus_of(x))
    return [gy * (t + x * (1 - t * t) * _sigmoid(x))]


vjp_footprint("mish")(gradients(6))  # softplus, t, t², 1 − t², x·, σ (two), ·σ, t +, gy·


@vjp("softplus", activation=True)
def softplus(ctx, node, xs, y, gy):
    """σ(β·x), and 1 where β·x > threshold (the identity there, as torch's backward)."""
    x = xs[0]
    beta, threshold = softplus_fields(ctx, node)
    bx = x * x.dtype.type(beta)
    return [np.where(bx > threshold, gy, gy * _sigmoid(bx))]


vjp_footprint("softplus")(gradients(5, 1))  # β·x, > threshold, σ (two), gy·σ, the where


@vjp("hardtanh", activation=True)
def hardtanh(ctx, node, xs, y, gy):
    """1 strictly between the bounds, 0 elsewhere (torch's hardtanh_backward)."""
    x = xs[0]
    low, high = hardtanh_bounds(ctx, node)
    return [gy * ((x > low) & (x < high))]


vjp_footprint("hardtanh")(gradients(1, 3))  # two bounds, their and, gy·mask


@vjp("softmax")
def softmax(ctx, node, xs, y, gy):
    """gx = y ⊙ (gy − Σ_axis gy ⊙ y). With ``open_activations`` (the receptive-field probe), its structural
    influence instead, non-negative: over channels the gradient passes position by position, unchanged, as
    through every opened activation; over the last axis each position receives the sum of the gradient along it
    (every output there depends on every input there), which is what the analytic RF says."""
    axis = softmax_axis(ctx, node, xs[0])
    if ctx.open_activations:
        if axis == 1:
            return [gy]
        return [np.broadcast_to(gy.sum(axis=axis, keepdims=True), gy.shape).copy()]
    return [y * (gy - (gy * y).sum(axis=axis, keepdims=True))]


@vjp_footprint("softmax")
def softmax_footprint(ctx, node, xs, y, gy):
    """Opened: nothing over the channels, the broadcast sum's copy over the last axis; else gy·y, gy − Σ, y·."""
    if ctx.open_activations:
        return 0 if softmax_axis(ctx, node, xs[0]) == 1 else gy.nbytes
    return 2 * gy.nbytes
