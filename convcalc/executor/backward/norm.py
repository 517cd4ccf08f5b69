"""VJPs of the normalisation kinds: batch norm, layer norm, group norm and instance norm.

With running statistics (batch norm, instance norm with ``track_running_stats``) the layer is an affine map per
channel: gx = gy·γ/√(var + eps). With statistics from the data, over a set of n elements, x̂ = (x − μ)/σ and
g = gy·γ::

    gx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂))      (means over the set)

(the Jacobian (1/σ)·(I − 11ᵀ/n − x̂x̂ᵀ/n) applied to g; checked against finite differences and torch autograd in
tests/executor/). With ``ctx.gates`` false the statistics are held constant, gx = g/σ: they are global context, as
a squeeze-and-excitation gate, which the receptive-field probe of ``convcalc verify --rf`` leaves out (the
theoretical RF of these kinds is the output's own position; the statistics only add a note).
"""

from __future__ import annotations

import numpy as np

from ..base import nbytes
from ..norm import (DEFAULT_EPS, eps_of, groups_view, layernorm_layout, spatial_axes, standardise,
                    standardised_bytes)
from .base import GradContext, vjp, vjp_footprint


def _channel_shape(x):
    return (x.shape[1],) + (1,) * (x.ndim - 2)


@vjp("batchnorm")
def batchnorm(ctx: GradContext, node, xs, y, gy):
    """Running statistics (inference): an affine map per channel, gx = gy · γ/√(var + eps). Batch statistics
    (``track_running_stats: false``): the full batch-norm backward, mean and variance depending on x."""
    x = xs[0]
    eps = float(node.fields.get("eps") or 0) or DEFAULT_EPS
    affine = node.fields.get("affine", True)
    gamma = ctx.weights[0].astype(np.float64) if affine else np.ones(x.shape[1])
    shape = _channel_shape(x)
    if node.fields.get("track_running_stats", True):
        var = ctx.buffer_arrays[1].astype(np.float64)
        scale = gamma / np.sqrt(var + eps)
        return [gy * scale.astype(gy.dtype).reshape(shape)]
    axes = (0,) + tuple(range(2, x.ndim))
    x64, g64 = x.astype(np.float64), gy.astype(np.float64) * gamma.reshape(shape)
    mean = x64.mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(x64.var(axis=axes, keepdims=True) + eps)
    xhat = (x64 - mean) * inv
    gx = inv * (g64 - g64.mean(axis=axes, keepdims=True) - xhat * (g64 * xhat).mean(axis=axes, keepdims=True))
    return [gx.astype(gy.dtype)]


@vjp_footprint("batchnorm")
def batchnorm_footprint(ctx: GradContext, node, xs, y, gy):
    """gy·scale; with batch statistics, in float64 x, gy·γ, x̂ and three temporaries, then the cast."""
    if node.fields.get("track_running_stats", True):
        return gy.nbytes
    return 6 * nbytes(gy.shape, 8) + gy.nbytes


def _scaled(ctx: GradContext, gy, shape):
    """g = gy·γ in float64 (γ broadcast as ``shape``; gy itself without affine)."""
    g = gy.astype(np.float64)
    return g * ctx.weights[0].astype(np.float64).reshape(shape) if ctx.weights else g


def _through_statistics(ctx: GradContext, x, g, axes, eps):
    """The standardisation's VJP over ``axes`` (the module docstring), or g/σ with the statistics held."""
    xhat, inv = standardise(x, axes, eps)
    if not ctx.gates:
        return g * inv
    return inv * (g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True))


def statistics_bytes(ctx: GradContext, x, axes) -> int:
    """What :func:`_scaled` then :func:`_through_statistics` hold at once, and the cast: g in float64 (two while
    it is cast and scaled), the standardisation's footprint beside it, and through the statistics three more."""
    x64 = nbytes(x.shape, 8)
    return x64 + standardised_bytes(x, axes) + (3 * x64 if ctx.gates else x64) + x.nbytes


@vjp("layernorm")
def layernorm(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    axes, shape = layernorm_layout(node, x)
    g = _scaled(ctx, gy, shape)
    return [_through_statistics(ctx, x, g, axes, eps_of(node)).astype(gy.dtype)]


@vjp_footprint("layernorm")
def layernorm_footprint(ctx: GradContext, node, xs, y, gy):
    return statistics_bytes(ctx, xs[0], layernorm_layout(node, xs[0])[0])


@vjp("groupnorm")
def groupnorm(ctx: GradContext, node, xs, y, gy):
    x = xs[0]
    g = groups_view(ctx, node, _scaled(ctx, gy, _channel_shape(x)))
    gx = _through_statistics(ctx, groups_view(ctx, node, x), g, (2,), eps_of(node))
    return [gx.reshape(x.shape).astype(gy.dtype)]


@vjp_footprint("groupnorm")
def groupnorm_footprint(ctx: GradContext, node, xs, y, gy):
    return statistics_bytes(ctx, groups_view(ctx, node, xs[0]), (2,))


@vjp("instancenorm")
def instancenorm(ctx: GradContext, node, xs, y, gy):
    """As torch in eval mode: through the running statistics when tracked (affine), else through the sample's."""
    x = xs[0]
    shape, eps = _channel_shape(x), eps_of(node)
    g = _scaled(ctx, gy, shape)
    if node.fields.get("track_running_stats", False):
        var = ctx.buffer_arrays[1].astype(np.float64)
        return [(g / np.sqrt(var + eps).reshape(shape)).astype(gy.dtype)]
    return [_through_statistics(ctx, x, g, spatial_axes(ctx, x), eps).astype(gy.dtype)]


@vjp_footprint("instancenorm")
def instancenorm_footprint(ctx: GradContext, node, xs, y, gy):
    """Running statistics: g in float64 (two at once), g/σ, the cast; else the statistics' footprint."""
    x = xs[0]
    if node.fields.get("track_running_stats", False):
        return 3 * nbytes(x.shape, 8) + x.nbytes
    return statistics_bytes(ctx, x, spatial_axes(ctx, x))
