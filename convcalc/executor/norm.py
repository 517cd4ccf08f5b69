"""Normalisation kernels: batch norm (inference form), layer norm, group norm and instance norm.

Each follows the PyTorch module in eval mode (``torch.nn.BatchNorm{1,2,3}d``, ``torch.nn.LayerNorm`` and
torchvision's ``LayerNorm2d``, ``torch.nn.GroupNorm``, ``torch.nn.InstanceNorm{1,2,3}d``): y = (x − μ)/√(σ² + eps)
with the biased variance, then y·γ + β. Arrays are allocated in the modules' ``state_dict`` order: weight γ, then
bias β (``ctx.weight``), then the running mean and the running variance (``ctx.buffer``). None of them
multiply-accumulates in the sense of the MAC count, so they count 0 MACs.
"""

from __future__ import annotations

import numpy as np

from .base import Context, footprint, kernel, nbytes

DEFAULT_EPS = 1e-5  # torch's default, for a node built without the key (the spec fills it in)


def _channel_shape(x: np.ndarray) -> tuple[int, ...]:
    return (x.shape[1],) + (1,) * (x.ndim - 2)


@kernel("batchnorm")
def batchnorm(ctx: Context, node, xs):
    """Inference-mode batch norm: y = (x − mean) / √(var + eps) · γ + β per channel (axis 1).

    With ``track_running_stats`` the running mean/variance are buffers (random positive variance in random mode,
    mean 0 and variance 1 − eps in ones mode, which makes the layer the identity); without, PyTorch normalises with
    the batch's own statistics (biased variance) even in eval mode, and so does this kernel.
    """
    x = xs[0]
    if x.ndim < 2:
        ctx.fail("expects a (C, …) input with a channel axis", "batch norm needs channels")
    c = x.shape[1]
    eps = float(node.fields.get("eps", DEFAULT_EPS))  # `eps: 0` means 0
    gamma = beta = None
    if node.fields.get("affine", True):
        gamma = ctx.weight((c,), c, role="scale")
        beta = ctx.weight((c,), c, role="shift")
    if node.fields.get("track_running_stats", True):
        mean, var = running_statistics(ctx, c, eps)
    else:
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axis=axes, dtype=np.float64)
        var = x.var(axis=axes, dtype=np.float64)
    return _per_channel(x, mean, var, eps, gamma, beta)


@footprint("batchnorm")
def batchnorm_footprint(ctx: Context, node, xs, y):
    """x·scale (shifted in place); with batch statistics, before it the variance's float64 deviations."""
    if node.fields.get("track_running_stats", True):
        return y.nbytes
    return max(nbytes(y.shape, 8), y.nbytes)


def running_statistics(ctx: Context, channels: int, eps: float):
    """The running mean and variance buffers (ones mode: mean 0 and variance 1 − eps, so that the layer is the
    identity, √((1 − eps) + eps) = 1)."""
    mean = ctx.buffer((channels,), role="mean")
    var = ctx.buffer((channels,), role="var")
    if ctx.weights_mode == "ones":
        var -= np.asarray(eps, dtype=var.dtype)
    return mean, var


def _per_channel(x, mean, var, eps, gamma, beta):
    """y = x·scale + shift per channel (axis 1), the statistics folded with γ and β in float64."""
    scale = 1.0 / np.sqrt(var.astype(np.float64) + eps)
    shift = -mean.astype(np.float64) * scale
    if gamma is not None:
        scale, shift = scale * gamma, shift * gamma + beta
    shape = _channel_shape(x)
    y = x * scale.astype(x.dtype).reshape(shape)
    y += shift.astype(x.dtype).reshape(shape)
    return y


# ---- the sample's own statistics ---------------------------------------------------------------------------------
def standardise(x: np.ndarray, axes: tuple[int, ...], eps: float):
    """(xhat, 1/σ) in float64: xhat = (x − μ)·(1/σ) with μ and the biased σ² over ``axes`` (kept as size 1)."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    centred = x64 - mean
    inv = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    return centred * inv, inv


def standardised_bytes(x, axes) -> int:
    """What :func:`standardise` and :func:`apply_affine` hold at once: three float64 arrays the size of x (x itself,
    the centred values and their squares; then x̂, x̂·γ and + β) and two of the statistics (one value per set:
    the mean, the mean square)."""
    statistics = nbytes([1 if a in axes else n for a, n in enumerate(x.shape)], 8)
    return 3 * nbytes(x.shape, 8) + 2 * statistics


def eps_of(node) -> float:
    return float(node.fields.get("eps", DEFAULT_EPS))  # `eps: 0` means 0


def affine_arrays(ctx: Context, n: int, affine: bool, bias: bool = True):
    """γ (and β) of ``n`` elements, in that order, or None."""
    gamma = ctx.weight((n,), n, role="scale") if affine else None
    beta = ctx.weight((n,), n, role="shift") if affine and bias else None
    return gamma, beta


def apply_affine(xhat, gamma, beta, shape, dtype):
    """xhat·γ + β with γ, β broadcast as ``shape``, in ``dtype``."""
    y = xhat if gamma is None else xhat * gamma.astype(np.float64).reshape(shape)
    if beta is not None:
        y = y + beta.astype(np.float64).reshape(shape)
    return y.astype(dtype)


def layernorm_layout(node, x: np.ndarray):
    """(the axes one set spans, the broadcast shape of γ and β): C at every position, or the last axis."""
    if node.fields.get("axis", "channels") == "channels":
        return (1,), _channel_shape(x)
    return (x.ndim - 1,), (1,) * (x.ndim - 2) + (x.shape[-1],)


@kernel("layernorm")
def layernorm(ctx: Context, node, xs):
    """Layer norm over the channels of each position (torchvision's ``LayerNorm2d``: ``LayerNorm(C)`` on the
    permuted tensor) or over the last axis (``torch.nn.LayerNorm(n)``), γ and β over that axis."""
    x = xs[0]
    axes, shape = layernorm_layout(node, x)
    gamma, beta = affine_arrays(ctx, x.shape[axes[0]], node.fields.get("affine", True), node.fields.get("bias", True))
    xhat, _ = standardise(x, axes, eps_of(node))
    return apply_affine(xhat, gamma, beta, shape, x.dtype)


@footprint("layernorm")
def layernorm_footprint(ctx: Context, node, xs, y):
    return standardised_bytes(xs[0], layernorm_layout(node, xs[0])[0])


def groups_view(ctx: Context, node, x: np.ndarray) -> np.ndarray:
    """x as (B, g, C/g·ΠN): one group per row (torch.nn.GroupNorm's sets)."""
    groups = int(node.fields["groups"])
    if x.shape[1] % groups:
        ctx.fail(f"the channels ({x.shape[1]}) are not divisible by groups ({groups})", "give groups dividing C",
                 "groups")
    return x.reshape(x.shape[0], groups, -1)


@kernel("groupnorm")
def groupnorm(ctx: Context, node, xs):
    """Group norm: each group of C/g channels standardised over its channels and positions, then γ, β per
    channel."""
    x = xs[0]
    gamma, beta = affine_arrays(ctx, x.shape[1], node.fields.get("affine", True))
    xhat, _ = standardise(groups_view(ctx, node, x), (2,), eps_of(node))
    return apply_affine(xhat.reshape(x.shape), gamma, beta, _channel_shape(x), x.dtype)


@footprint("groupnorm")
def groupnorm_footprint(ctx: Context, node, xs, y):
    return standardised_bytes(groups_view(ctx, node, xs[0]), (2,))


def spatial_axes(ctx: Context, x: np.ndarray) -> tuple[int, ...]:
    if x.ndim < 3:
        ctx.fail(f"expects a map (C, …) with spatial axes, got per-sample shape {tuple(x.shape[1:])}",
                 "instance norm takes its statistics over positions")
    return tuple(range(2, x.ndim))


@kernel("instancenorm")
def instancenorm(ctx: Context, node, xs):
    """Instance norm, as torch's in eval mode: each channel of each sample standardised over its positions, or,
    with ``track_running_stats``, by the running statistics (then the batch-norm inference form)."""
    x = xs[0]
    c, eps = x.shape[1], eps_of(node)
    axes = spatial_axes(ctx, x)
    gamma, beta = affine_arrays(ctx, c, node.fields.get("affine", False))
    if node.fields.get("track_running_stats", False):
        mean, var = running_statistics(ctx, c, eps)
        return _per_channel(x, mean, var, eps, gamma, beta)
    xhat, _ = standardise(x, axes, eps)
    return apply_affine(xhat, gamma, beta, _channel_shape(x), x.dtype)


@footprint("instancenorm")
def instancenorm_footprint(ctx: Context, node, xs, y):
    if node.fields.get("track_running_stats", False):
        return y.nbytes
    return standardised_bytes(xs[0], spatial_axes(ctx, xs[0]))
