"""Elementwise kernels: activations, dropout and identity (batch normalisation: convcalc/executor/norm.py).

None of these multiply-accumulate in the sense of the MAC count (conv/linear-like work), so they count 0 MACs.
Definitions follow the PyTorch modules of the same names (``torch.nn.ReLU``, ``GELU``, ``Hardswish``, ``PReLU``,
``ELU``, ``SELU``, ``Mish``, ``Softplus``, ``Hardtanh``, ``Softmax``, …). PReLU allocates its slopes as torch's
``weight``, shape (num_parameters,).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .base import footprint, kernel, nbytes


def _channel_shape(x: np.ndarray) -> tuple[int, ...]:
    return (x.shape[1],) + (1,) * (x.ndim - 2)


def outputs(count: int, masks: int = 0):
    """A footprint of ``count`` arrays the size of the output (the result and the temporaries of its expression
    alive at once) and ``masks`` boolean ones."""

    def footprint_of(ctx, node, xs, y, *gy):  # (a VJP's gy: the output's shape)
        return count * y.nbytes + masks * y.size

    return footprint_of


@kernel("relu")
def relu(ctx, node, xs):
    return np.maximum(xs[0], 0)


footprint("relu")(outputs(1))


@kernel("relu6")
def relu6(ctx, node, xs):
    return np.clip(xs[0], 0, 6)


footprint("relu6")(outputs(1))


@kernel("leaky_relu")
def leaky_relu(ctx, node, xs):
    x = xs[0]
    slope = x.dtype.type(float(node.fields.get("negative_slope", 0.01)))
    return np.where(x > 0, x, x * slope)


footprint("leaky_relu")(outputs(2, 1))  # x > 0, x·slope, the where


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


footprint("sigmoid")(outputs(2))  # x/2, its tanh


@kernel("tanh")
def tanh(ctx, node, xs):
    return np.tanh(xs[0])


footprint("tanh")(outputs(1))


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


def erf_bytes(x) -> int:
    """What :func:`_erf` holds at once, beyond its argument. float64: the object array of ``math.erf``'s results
    (8 bytes a pointer, 24 a Python float, 2 for the allocator's pools) and their float64 copy. float32: in
    float64, |x|, 1/(1 + p·|x|), the polynomial, −|x|·|x| and its exp (with |x| in float32 as it is cast)."""
    if x.dtype == np.float64:
        return nbytes(x.shape, 8 + 24 + 2 + 8)
    return x.nbytes + nbytes(x.shape, 5 * 8)


GELU_TANH = (math.sqrt(2 / math.pi), 0.044715)  # torch.nn.GELU(approximate="tanh"): √(2/π)·(x + 0.044715·x³)


def _gelu_tanh_inner(x: np.ndarray) -> np.ndarray:
    k, c = (x.dtype.type(v) for v in GELU_TANH)
    return np.tanh(k * (x + c * (x * x * x)))


@kernel("gelu")
def gelu(ctx, node, xs):
    """Exact GELU, 0.5·x·(1 + erf(x/√2)) (``torch.nn.GELU()``'s default), or with ``approximate: tanh``
    0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (``torch.nn.GELU(approximate="tanh")``)."""
    x = xs[0]
    if node.fields.get("approximate", "none") == "tanh":
        return x * (0.5 * (1 + _gelu_tanh_inner(x)))
    return x * (0.5 * (1 + _erf(x * x.dtype.type(1 / np.sqrt(2)))))


@footprint("gelu")
def gelu_footprint(ctx, node, xs, y):
    """The tanh form: three output-sized temporaries at once; the exact form: x/√2, erf's, and two more."""
    x = xs[0]
    if node.fields.get("approximate", "none") == "tanh":
        return 3 * y.nbytes
    return max(x.nbytes + erf_bytes(x) + x.nbytes, 3 * y.nbytes)


@kernel("silu", "swish")
def silu(ctx, node, xs):
    return xs[0] * _sigmoid(xs[0])


footprint("silu", "swish")(outputs(2))  # σ(x) (two at once), x·σ(x)


def hardsigmoid_form(ctx, node) -> tuple[float, float, float, float, float, float]:
    """max(0, min(1, α·x + β)) written as clip(x + β/α, lo, hi) / (1/α) with {lo, hi} = {0, 1/α}: for α = 1/6,
    β = 1/2 the same float operations as torch's relu6(x + 3)/6. Returns (β/α, lo, hi, 1/α) and the open interval
    of x where the output is not clipped (its gradient is α there), computed exactly from the fields."""
    alpha = Fraction(node.fields.get("alpha", Fraction(1, 6)))
    beta = Fraction(node.fields.get("beta", Fraction(1, 2)))
    if alpha == 0:
        ctx.fail("`alpha` is 0: the output would not depend on the input", "give a non-zero alpha", "alpha")
    width, shift = 1 / alpha, beta / alpha
    lo, hi = min(width, 0), max(width, 0)
    return tuple(float(v) for v in (shift, lo, hi, width, lo - shift, hi - shift))


@kernel("hardsigmoid")
def hardsigmoid(ctx, node, xs):
    """max(0, min(1, α·x + β)): ``torch.nn.Hardsigmoid`` (α = 1/6, β = 1/2) or ONNX HardSigmoid."""
    x = xs[0]
    shift, lo, hi, width, _, _ = hardsigmoid_form(ctx, node)
    return np.clip(x + x.dtype.type(shift), lo, hi) / x.dtype.type(width)


footprint("hardsigmoid")(outputs(2))  # x + β/α, clipped, divided


@kernel("hardswish")
def hardswish(ctx, node, xs):
    x = xs[0]
    return x * np.clip(x + 3, 0, 6) / x.dtype.type(6)


footprint("hardswish")(outputs(2))  # x + 3, clipped, times x, divided


@kernel("dropout", "identity")
def identity(ctx, node, xs):
    """Dropout is the identity at inference; identity passes its input through."""
    return xs[0]


footprint("dropout", "identity")(outputs(0))  # the input itself


@kernel("prelu")
def prelu(ctx, node, xs):
    """x if x > 0 else a·x (``torch.nn.PReLU``): ``weight`` of shape (num_parameters,), one slope shared or one per
    channel (axis 1 of the batch)."""
    x = xs[0]
    n = int(node.fields.get("num_parameters", 1))
    if x.ndim < 2 or n not in (1, x.shape[1]):
        ctx.fail(f"`num_parameters` is {n}, but the input has {x.shape[1] if x.ndim > 1 else 0} channels",
                 "use 1 or the number of channels", "num_parameters")
    weight = ctx.weight((n,), 1, role="scale")
    slope = weight.reshape(prelu_shape(x, n))
    return np.where(x > 0, x, x * slope)


footprint("prelu")(outputs(2, 1))  # x > 0, x·a, the where


def prelu_shape(x: np.ndarray, n: int) -> tuple[int, ...]:
    """The slopes' broadcast shape: one value, or one per channel of axis 1."""
    return (1,) * x.ndim if n == 1 else _channel_shape(x)


SELU = (1.6732632423543772848170429916717, 1.0507009873554804934193349852946)  # torch.nn.SELU's (α, λ)


@kernel("elu", selu=False)
@kernel("selu", selu=True)
def elu(ctx, node, xs, selu: bool):
    """x if x > 0 else α·(exp(x) − 1) (``torch.nn.ELU``); SELU is λ times it with torch's α and λ."""
    x = xs[0]
    alpha, scale = SELU if selu else (float(node.fields.get("alpha", 1)), 1.0)
    y = np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))
    return y * x.dtype.type(scale) if selu else y


footprint("elu", "selu")(outputs(2, 1))  # x > 0, min(x, 0) and its expm1, α·, the where, λ·


def softplus_of(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow."""
    return np.logaddexp(x.dtype.type(0), x)


@kernel("mish")
def mish(ctx, node, xs):
    """x·tanh(softplus(x)) (``torch.nn.Mish``)."""
    return xs[0] * np.tanh(softplus_of(xs[0]))


footprint("mish")(outputs(2))  # softplus, tanh, x·


def softplus_fields(ctx, node) -> tuple[float, float]:
    beta = float(node.fields.get("beta", 1))
    if beta == 0:
        ctx.fail("`beta` is 0, and softplus divides by it", "give a non-zero beta", "beta")
    return beta, float(node.fields.get("threshold", 20))


@kernel("softplus")
def softplus(ctx, node, xs):
    """log(1 + exp(β·x))/β, and x itself where β·x > threshold (``torch.nn.Softplus``)."""
    x = xs[0]
    beta, threshold = softplus_fields(ctx, node)
    bx = x * x.dtype.type(beta)
    return np.where(bx > threshold, x, softplus_of(bx) / x.dtype.type(beta))


footprint("softplus")(outputs(3, 1))  # β·x, > threshold, softplus, /β, the where


def hardtanh_bounds(ctx, node) -> tuple[float, float]:
    low, high = float(node.fields.get("min_val", -1)), float(node.fields.get("max_val", 1))
    if low >= high:
        ctx.fail(f"`min_val` ({low:g}) is not below `max_val` ({high:g})", "give min_val < max_val", "max_val")
    return low, high


@kernel("hardtanh")
def hardtanh(ctx, node, xs):
    """min(max(x, min_val), max_val) (``torch.nn.Hardtanh``)."""
    low, high = hardtanh_bounds(ctx, node)
    return np.clip(xs[0], low, high)


footprint("hardtanh")(outputs(1))


def softmax_axis(ctx, node, x: np.ndarray) -> int:
    """The batched axis of the softmax: 1 for ``channels``, the last for ``last`` (they coincide on (B, C))."""
    axis = 1 if node.fields.get("axis", "channels") == "channels" else x.ndim - 1
    if x.ndim < 2 or x.shape[axis] == 1:
        ctx.fail(f"the softmax axis has size {x.shape[axis] if x.ndim > 1 else 0}: the output would be constant",
                 "softmax over an axis with several values", "axis")
    return axis


@kernel("softmax")
def softmax(ctx, node, xs):
    """exp(x_i) / Σ_j exp(x_j) along the axis (``torch.nn.Softmax(dim)``), the maximum subtracted first."""
    x = xs[0]
    axis = softmax_axis(ctx, node, x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


footprint("softmax")(outputs(2))  # x − max, exp (divided in place)
