"""Elementwise kernels: activations, dropout and identity (batch normalisation: convcalc/executor/norm.py).

None of these multiply-accumulate in the sense of the MAC count (conv/linear-like work), so they count 0 MACs.
Definitions follow the PyTorch modules of the same names (``torch.nn.ReLU``, ``GELU``, ``Hardswish``, …).
"""

from __future__ import annotations

import math

import numpy as np

from .base import kernel

@kernel("relu")
def relu(ctx, node, xs):
    return np.maximum(xs[0], 0)


@kernel("relu6")
def relu6(ctx, node, xs):
    return np.clip(xs[0], 0, 6)


@kernel("leaky_relu")
def leaky_relu(ctx, node, xs):
    x = xs[0]
    slope = x.dtype.type(float(node.fields.get("negative_slope", 0.01)))
    return np.where(x > 0, x, x * slope)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^−x) written as (1 + tanh(x/2)) / 2: no overflow for large |x|
    half = x.dtype.type(0.5)
    y = np.tanh(x * half)
    y += 1
    y *= half
    return y


@kernel("sigmoid")
def sigmoid(ctx, node, xs):
    return _sigmoid(xs[0])


@kernel("tanh")
def tanh(ctx, node, xs):
    return np.tanh(xs[0])


def _erf(x: np.ndarray) -> np.ndarray:
    """erf (NumPy has none). float32: Abramowitz & Stegun 7.1.26, |error| ≤ 1.5e-7, below float32's resolution
    of values near 1; float64: ``math.erf`` element by element (exact, slower)."""
    if x.dtype == np.float64:
        return np.frompyfunc(math.erf, 1, 1)(x).astype(np.float64)
    a1, a2, a3, a4, a5, p = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + p * z)
    y = 1.0 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * np.exp(-z * z)
    return (np.sign(x) * y).astype(x.dtype)


@kernel("gelu")
def gelu(ctx, node, xs):
    """Exact GELU, 0.5·x·(1 + erf(x/√2)) (``torch.nn.GELU()``'s default)."""
    x = xs[0]
    return x * (0.5 * (1 + _erf(x * x.dtype.type(1 / np.sqrt(2)))))


@kernel("silu", "swish")
def silu(ctx, node, xs):
    return xs[0] * _sigmoid(xs[0])


@kernel("hardsigmoid")
def hardsigmoid(ctx, node, xs):
    return np.clip(xs[0] + 3, 0, 6) / xs[0].dtype.type(6)


@kernel("hardswish")
def hardswish(ctx, node, xs):
    x = xs[0]
    return x * np.clip(x + 3, 0, 6) / x.dtype.type(6)


@kernel("dropout", "identity")
def identity(ctx, node, xs):
    """Dropout is the identity at inference; identity passes its input through."""
    return xs[0]
