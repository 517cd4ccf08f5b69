"""VJPs of the elementwise kinds: the activations, dropout and identity (batch norm: backward/norm.py).

Activation derivatives follow PyTorch's backward formulas (at the kinks: ReLU and ReLU6 pass nothing at 0 and 6,
hardsigmoid nothing at ±3, hardswish x/3 + ½ on [−3, 3]).
"""

from __future__ import annotations

import numpy as np

from ..elementwise import _erf, _sigmoid
from .base import vjp


@vjp("relu", activation=True)
def relu(ctx, node, xs, y, gy):
    return [gy * (xs[0] > 0)]  # a boolean mask multiply: ~8× faster than np.where


@vjp("relu6", activation=True)
def relu6(ctx, node, xs, y, gy):
    x = xs[0]
    return [gy * ((x > 0) & (x < 6))]


@vjp("leaky_relu", activation=True)
def leaky_relu(ctx, node, xs, y, gy):
    x = xs[0]
    slope = gy.dtype.type(float(node.fields.get("negative_slope", 0.01)))
    return [np.where(x > 0, gy, gy * slope)]


@vjp("sigmoid", activation=True)
def sigmoid(ctx, node, xs, y, gy):
    return [gy * (y * (1 - y))]


@vjp("tanh", activation=True)
def tanh(ctx, node, xs, y, gy):
    return [gy * (1 - y * y)]


@vjp("gelu", activation=True)
def gelu(ctx, node, xs, y, gy):
    """d/dx x·Φ(x) = Φ(x) + x·φ(x)."""
    x = xs[0]
    cdf = 0.5 * (1 + _erf(x * x.dtype.type(1 / np.sqrt(2))))
    pdf = np.exp(-0.5 * x * x) * x.dtype.type(1 / np.sqrt(2 * np.pi))
    return [gy * (cdf + x * pdf)]


@vjp("silu", "swish", activation=True)
def silu(ctx, node, xs, y, gy):
    """d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))."""
    x = xs[0]
    s = _sigmoid(x)
    return [gy * (s * (1 + x * (1 - s)))]


@vjp("hardsigmoid", activation=True)
def hardsigmoid(ctx, node, xs, y, gy):
    x = xs[0]
    return [np.where((x > -3) & (x < 3), gy / gy.dtype.type(6), 0).astype(gy.dtype, copy=False)]


@vjp("hardswish", activation=True)
def hardswish(ctx, node, xs, y, gy):
    x = xs[0]
    slope = np.where(x < -3, 0, np.where(x <= 3, x / x.dtype.type(3) + x.dtype.type(0.5), 1)).astype(gy.dtype)
    return [gy * slope]


@vjp("dropout", "identity")
def identity(ctx, node, xs, y, gy):
    return [gy]
