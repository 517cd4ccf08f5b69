"""Handlers of the op table (:mod:`convcalc.importers.torch_ops`) for layers: convolutions, normalisation,
activations, pooling, linear layers, resampling, dropout.

Each follows the PyTorch documentation of the module and of its functional form
(https://pytorch.org/docs/stable/nn.html, https://pytorch.org/docs/stable/nn.functional.html); where a torch
setting has no layer field (``return_indices``, ``divisor_override``, an ``area`` resize) the handler raises
:class:`Unmappable` with the reason instead of approximating it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

from .fields import clip_layer, softmax_layer
from .torch_ops import ByName, Concat, ConstArray, Zeros, atens, axes, compact, handles, number, spec_fields

CONV_PARAMS = "input weight bias stride padding dilation groups padding_mode"


# ---- convolutions ---------------------------------------------------------------------------------------------
@handles(nn.Conv1d, nn.Conv2d, nn.Conv3d, F.conv1d, F.conv2d, F.conv3d, *atens("conv1d", "conv2d", "conv3d"),
         params=CONV_PARAMS)
def conv(op):
    """torch.nn.Conv{1,2,3}d: ``weight (C_out, C_in/g, *k)``; padding ints, or torch's words ``same``/``valid``
    (torch's ``same`` is defined for stride 1, where it agrees with convcalc's)."""
    x, w, b = op.input, op.const("weight"), op.const("bias")
    rank = conv_rank(op, x, w)
    padding = op.arg("padding", default=0)
    padding = padding if isinstance(padding, str) else compact(axes(padding, rank))
    stride, dilation = compact(axes(op.arg("stride", default=1), rank)), compact(axes(op.arg("dilation", default=1), rank))
    mode = op.arg("padding_mode", default="zeros")
    fields = spec_fields("conv", out=w.shape[0], kernel=compact(w.shape[2:]), stride=stride, padding=padding,
                         dilation=dilation, groups=op.arg("groups", default=1), bias=b is not None,
                         padding_mode=None if mode == "zeros" else mode)  # a new field: written only when set
    return op.emit("conv", fields, weights=arrays_of(w, b),
                   meta={"conv": {"input": x, "weight": w, "bias": b, "stride": stride, "padding": padding,
                                  "dilation": dilation, "groups": op.arg("groups", default=1),
                                  "padding_mode": op.arg("padding_mode", default="zeros")}})


@handles(nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, F.conv_transpose1d, F.conv_transpose2d,
         F.conv_transpose3d, *atens("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"),
         params="input weight bias stride padding output_padding groups dilation")
def conv_transpose(op):
    """torch.nn.ConvTranspose{1,2,3}d: ``weight (C_in, C_out/g, *k)``. ``output_padding`` is read off the
    traced output size, so a call with ``output_size`` maps too:
    ``op = N_out − ((N − 1)·s − 2p + d·(k − 1) + 1)`` per axis."""
    x, w, b = op.input, op.const("weight"), op.const("bias")
    rank = conv_rank(op, x, w)
    groups = op.arg("groups", default=1)
    kernel, stride = w.shape[2:], axes(op.arg("stride", default=1), rank)
    padding, dilation = axes(op.arg("padding", default=0), rank), axes(op.arg("dilation", default=1), rank)
    out_pad = [n_out - ((n - 1) * s - 2 * p + d * (k - 1) + 1) for n, n_out, k, s, p, d in
               zip(x.shape[1:], op.out_shape[1:], kernel, stride, padding, dilation)]
    fields = spec_fields("conv_transpose", out=w.shape[1] * groups, kernel=compact(kernel), stride=compact(stride),
                         padding=compact(padding), output_padding=compact(out_pad), dilation=compact(dilation),
                         groups=groups, bias=b is not None)
    return op.emit("conv_transpose", fields, weights=arrays_of(w, b))


def conv_rank(op, x, w) -> int:
    if w is None or len(w.shape) != len(x.shape) + 1:
        op.fail("the weight's shape does not fit the input")
    return len(x.shape) - 1


def arrays_of(*consts) -> list:
    return [ConstArray(c) for c in consts if c is not None]


@handles(ByName("torchvision.ops.deform_conv.DeformConv2d"), ByName("torchvision.ops.deform_conv.deform_conv2d"),
         params="input offset weight bias stride padding dilation mask")
def deform_conv(op):
    """torchvision.ops.DeformConv2d fed by convs of the same input: ``deformable`` (with ``modulated`` when a
    mask comes as the sigmoid of a conv). convcalc's kind holds its offset conv (offsets first, then the mask
    logits: torchvision's layout), so those convs become part of it: their weights are its offset conv's."""
    x, w, b = op.input, op.const("weight"), op.const("bias")
    rank = conv_rank(op, x, w)
    kernel, taps = w.shape[2:], math.prod(w.shape[2:])
    stride, padding = compact(axes(op.arg("stride", default=1), rank)), compact(axes(op.arg("padding", default=0), rank))
    dilation = compact(axes(op.arg("dilation", default=1), rank))
    offset_conv = source_conv(op, op.arg("offset"), x, stride, padding, dilation)
    offset_groups = offset_conv["weight"].shape[0] // (rank * taps)
    parts = [offset_conv]
    mask = op.arg("mask")
    if mask is not None:
        gate = getattr(mask, "meta", {}).get("gate_of")
        if gate is None:
            op.fail("the mask is not the sigmoid of a conv of the same input")
        parts.append(source_conv(op, gate, x, stride, padding, dilation))
        op.absorb(mask)
    weights = [ConstArray(part["weight"]) for part in parts]
    biases = [ConstArray(part["bias"]) if part["bias"] is not None else None for part in parts]
    biases = [bias or Zeros((part["weight"].shape[0],)) for bias, part in zip(biases, parts)]
    offset = [Concat(weights), Concat(biases)] if len(parts) > 1 else [weights[0], biases[0]]
    groups = x.shape[0] // w.shape[1]
    fields = spec_fields("deformable", out=w.shape[0], kernel=compact(kernel), stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=b is not None, offset_groups=offset_groups,
                         modulated=mask is not None)
    return op.emit("deformable", fields, weights=offset + arrays_of(w, b))


def source_conv(op, act, x, stride, padding, dilation) -> dict:
    """The conv that computes ``act`` from ``x`` with this window, used only here (absorbed), or fail."""
    conv = getattr(act, "meta", {}).get("conv")
    if conv is None or conv["input"] is not x or op.consumers(act) != 1:
        op.fail("its offset (and mask) must each come from a conv of the same input, used only here")
    if (conv["stride"], conv["padding"], conv["dilation"], conv["groups"], conv["padding_mode"]) != \
            (stride, padding, dilation, 1, "zeros"):
        op.fail("the offset conv's stride, padding or dilation differ from the deformable conv's")
    op.absorb(act)
    return conv


# ---- normalisation --------------------------------------------------------------------------------------------
@handles(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, F.batch_norm, *atens("batch_norm"),
         params="input running_mean running_var weight bias training momentum eps")
def batch_norm(op):
    """torch.nn.BatchNorm{1,2,3}d: γ, β (``affine``) and the running mean and variance (``track_running_stats``)."""
    w, b, mean, var = op.const("weight"), op.const("bias"), op.const("running_mean"), op.const("running_var")
    fields = spec_fields("batchnorm", affine=w is not None, track_running_stats=mean is not None,
                         eps=number(op.arg("eps", default=1e-5)))
    return op.emit("batchnorm", fields, weights=arrays_of(w, b), buffers=arrays_of(mean, var))


@handles(nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, F.instance_norm, *atens("instance_norm"),
         params="input running_mean running_var weight bias use_input_stats momentum eps")
def instance_norm(op):
    w, b, mean, var = op.const("weight"), op.const("bias"), op.const("running_mean"), op.const("running_var")
    fields = spec_fields("instancenorm", affine=w is not None, track_running_stats=mean is not None,
                         eps=number(op.arg("eps", default=1e-5)))
    return op.emit("instancenorm", fields, weights=arrays_of(w, b), buffers=arrays_of(mean, var))


@handles(nn.GroupNorm, F.group_norm, *atens("group_norm"), params="input num_groups weight bias eps")
def group_norm(op):
    w, b = op.const("weight"), op.const("bias")
    fields = spec_fields("groupnorm", groups=op.arg("num_groups"), affine=w is not None,
                         eps=number(op.arg("eps", default=1e-5)))
    return op.emit("groupnorm", fields, weights=arrays_of(w, b))


@handles(nn.LayerNorm, F.layer_norm, *atens("layer_norm"), params="input normalized_shape weight bias eps")
def layer_norm(op):
    """torch.nn.LayerNorm over the last axis only (``normalized_shape`` of one size): ``layernorm axis: last``."""
    x, shape = op.input, list(axes(op.arg("normalized_shape"), 1))
    if len(shape) != 1 or shape[0] != x.shape[-1]:
        op.fail(f"it normalises over the last {len(shape)} axes {shape}; layernorm normalises one axis "
                f"(over the channels or the last axis)")
    w, b = op.const("weight"), op.const("bias")
    fields = spec_fields("layernorm", axis="last", affine=w is not None, bias=b is not None if w is not None else None,
                         eps=number(op.arg("eps", default=1e-5)))
    return op.emit("layernorm", fields, weights=arrays_of(w, b))


# ---- activations ----------------------------------------------------------------------------------------------
#: kind → what computes it: module classes, functions, method names, ATen ops (in-place forms included)
PLAIN_ACTIVATIONS = {
    "relu": (nn.ReLU, F.relu, F.relu_, torch.relu, torch.relu_, "relu", "relu_", *atens("relu", "relu_")),
    "tanh": (nn.Tanh, F.tanh, torch.tanh, torch.tanh_, "tanh", "tanh_", *atens("tanh", "tanh_")),
    "silu": (nn.SiLU, F.silu, *atens("silu", "silu_")),
    "mish": (nn.Mish, F.mish, *atens("mish", "mish_")),
    "hardswish": (nn.Hardswish, F.hardswish, *atens("hardswish", "hardswish_")),
    "hardsigmoid": (nn.Hardsigmoid, F.hardsigmoid, *atens("hardsigmoid", "hardsigmoid_")),
    "selu": (nn.SELU, F.selu, torch.selu, torch.selu_, *atens("selu", "selu_")),
    "identity": (nn.Identity,),
}


@handles(nn.Sigmoid, F.sigmoid, torch.sigmoid, torch.sigmoid_, "sigmoid", "sigmoid_", *atens("sigmoid", "sigmoid_"),
         params="input", kind="sigmoid", gate=True)
def activation(op, kind: str, gate: bool = False):
    """An activation with no fields (torch's Hardsigmoid is relu6(x + 3)/6: the kind's default alpha and beta).
    A sigmoid remembers what it gates, for a deformable conv's mask."""
    return op.emit(kind, meta={"gate_of": op.input} if gate else None)


for _kind, _keys in PLAIN_ACTIVATIONS.items():
    handles(*_keys, params="input", kind=_kind)(activation)


@handles(nn.LeakyReLU, F.leaky_relu, F.leaky_relu_, *atens("leaky_relu", "leaky_relu_"), params="input negative_slope")
def leaky_relu(op):
    return op.emit("leaky_relu", spec_fields("leaky_relu", negative_slope=number(op.arg("negative_slope", default=0.01))))


@handles(nn.ELU, F.elu, F.elu_, *atens("elu", "elu_"), params="input alpha scale input_scale")
def elu(op):
    if op.arg("scale", default=1) != 1 or op.arg("input_scale", default=1) != 1:
        op.fail("an ELU with scale or input_scale other than 1")
    return op.emit("elu", spec_fields("elu", alpha=number(op.arg("alpha", default=1.0))))


@handles(nn.GELU, F.gelu, *atens("gelu", "gelu_"), params="input approximate")
def gelu(op):
    approximate = op.arg("approximate", default="none")
    return op.emit("gelu", spec_fields("gelu", approximate=None if approximate == "none" else approximate))


@handles(nn.Softplus, F.softplus, *atens("softplus"), params="input beta threshold")
def softplus(op):
    return op.emit("softplus", spec_fields("softplus", beta=number(op.arg("beta", default=1)),
                                           threshold=number(op.arg("threshold", default=20))))


@handles(nn.PReLU, F.prelu, torch.prelu, *atens("prelu"), params="input weight")
def prelu(op):
    """torch.nn.PReLU: one slope, or one per channel (``weight (num_parameters,)``)."""
    x, w = op.input, op.const("weight")
    if w.numel() not in (1, x.shape[0]):
        op.fail(f"{w.numel()} slopes for {x.shape[0]} channels")
    return op.emit("prelu", spec_fields("prelu", num_parameters=w.numel()), weights=[ConstArray(w, (w.numel(),))])


@handles(nn.Hardtanh, nn.ReLU6, F.hardtanh, F.hardtanh_, *atens("hardtanh", "hardtanh_"), params="input min_val max_val")
def hardtanh(op):
    return clip(op, op.arg("min_val", default=-1.0), op.arg("max_val", default=1.0))


@handles(F.relu6, *atens("relu6", "relu6_"), params="input")
def relu6(op):
    return clip(op, 0, 6)


@handles(torch.clamp, torch.clip, torch.clamp_, "clamp", "clip", "clamp_", "clip_", *atens("clamp", "clamp_", "clip"),
         params="input min max")
def clamp(op):
    return clip(op, op.arg("min"), op.arg("max"))


def clip(op, low, high):
    """Clamping to [low, high]: ``relu6`` for (0, 6), ``relu`` for (0, ∞), else ``hardtanh``."""
    if not all(isinstance(v, (int, float)) or v is None for v in (low, high)):
        op.fail("bounds that are tensors")
    layer = clip_layer(low, high)
    if isinstance(layer, str):
        op.fail(layer)
    return op.emit(*layer)


@handles(nn.Softmax, F.softmax, torch.softmax, "softmax", *atens("softmax", "_softmax"), params="input dim")
def softmax(op):
    """Over the channels (axis 0 per sample) or the last axis; torch's implicit dim (None) is 1 for 2-D and 4-D
    inputs (``torch.nn.functional._get_softmax_dim``)."""
    x, dim = op.input, op.arg("dim")
    rank = len(x.shape) + 1
    dim = (0 if rank in (0, 1, 3) else 1) if dim is None else dim
    layer = softmax_layer(op.dim(dim), len(x.shape))
    return op.fail(layer) if isinstance(layer, str) else op.emit(*layer)


@handles(nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout, F.dropout,
         F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout, torch.dropout,
         *atens("dropout", "dropout_", "feature_dropout", "feature_dropout_", "alpha_dropout", "alpha_dropout_"),
         params="input p")
def dropout(op):
    return op.emit("dropout", spec_fields("dropout", p=number(op.arg("p", default=0.5))))


# ---- pooling --------------------------------------------------------------------------------------------------
def window(op, kind: str, padded: bool = True, **extra):
    """The fields every sliding-window pool shares: kernel, stride (left out when it is the kernel: torch's
    ``stride=None``, or ATen's empty list), padding."""
    rank = len(op.input.shape) - 1
    kernel = axes(op.arg("kernel_size"), rank)
    stride = op.arg("stride")
    stride = kernel if stride is None or len(axes(stride, rank)) == 0 else axes(stride, rank)
    padding = compact(axes(op.arg("padding", default=0), rank)) if padded else None
    return spec_fields(kind, kernel=compact(kernel), stride=None if stride == kernel else compact(stride),
                       padding=padding, **extra)


@handles(nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, F.max_pool1d, F.max_pool2d, F.max_pool3d,
         *atens("max_pool1d", "max_pool2d", "max_pool3d"),
         params="input kernel_size stride padding dilation ceil_mode return_indices")
def max_pool(op):
    if op.arg("return_indices", default=False):
        op.fail("return_indices (the indices for max-unpooling have no layer kind)")
    rank = len(op.input.shape) - 1
    return op.emit("maxpool", window(op, "maxpool", dilation=compact(axes(op.arg("dilation", default=1), rank)),
                                     ceil_mode=bool(op.arg("ceil_mode", default=False))))


@handles(*atens("max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices"),
         params="input kernel_size stride padding dilation ceil_mode")
def max_pool_with_indices(op):
    """ATen's pool with its indices: the pooled map, and the indices (unmappable if used)."""
    return op.multi([lambda: max_pool(op), lambda: op.fail("the indices of a max pool (for max-unpooling)")],
                    numbered=False)


@handles(nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d,
         *atens("avg_pool1d", "avg_pool2d", "avg_pool3d"),
         params="input kernel_size stride padding ceil_mode count_include_pad divisor_override")
def avg_pool(op):
    if op.arg("divisor_override") is not None:
        op.fail("divisor_override (avgpool divides by the window size)")
    return op.emit("avgpool", window(op, "avgpool", ceil_mode=bool(op.arg("ceil_mode", default=False)),
                                     count_include_pad=bool(op.arg("count_include_pad", default=True))))


@handles(nn.LPPool1d, nn.LPPool2d, *([nn.LPPool3d] if hasattr(nn, "LPPool3d") else []), F.lp_pool1d, F.lp_pool2d,
         params="input norm_type kernel_size stride ceil_mode")
def lp_pool(op):
    """torch.nn.LPPool{1,2}d: (Σ x^p)^(1/p) over each window; it has no padding."""
    return op.emit("lppool", window(op, "lppool", padded=False, p=number(op.arg("norm_type")),
                                    ceil_mode=bool(op.arg("ceil_mode", default=False))))


@handles(nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, F.adaptive_avg_pool1d,
         F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
         *atens("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
                "_adaptive_avg_pool3d"), params="input output_size", reduce="avg")
@handles(nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, F.adaptive_max_pool1d,
         F.adaptive_max_pool2d, F.adaptive_max_pool3d, params="input output_size return_indices", reduce="max")
def adaptive_pool(op, reduce: str):
    """Adaptive pooling; an output of 1 along every axis is ``global_{avg,max}pool``. ``None`` in
    ``output_size`` keeps that axis."""
    if op.arg("return_indices", default=False):
        op.fail("return_indices (the indices for max-unpooling have no layer kind)")
    x = op.input
    size = op.arg("output_size")
    size = [n if s is None else s for s, n in zip(axes(size, len(x.shape) - 1), x.shape[1:])]
    if all(s == 1 for s in size):
        return op.emit(f"global_{reduce}pool")
    kind = f"adaptive_{reduce}pool"
    return op.emit(kind, spec_fields(kind, output_size=compact(size)))


@handles(*atens("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"), params="input output_size")
def adaptive_max_with_indices(op):
    return op.multi([lambda: adaptive_pool(op, "max"), lambda: op.fail("the indices of an adaptive max pool")],
                    numbered=False)


# ---- linear ---------------------------------------------------------------------------------------------------
@handles(nn.Linear, F.linear, *atens("linear"), params="input weight bias")
def linear(op):
    """torch.nn.Linear: ``weight (out, in)``; on an input that is not flat it works over the last axis."""
    x, w, b = op.input, op.const("weight"), op.const("bias")
    if w is None or len(w.shape) != 2:
        op.fail("a weight that is not a matrix")
    fields = spec_fields("linear", out=w.shape[0], bias=b is not None, axis="last" if len(x.shape) > 1 else None)
    return op.emit("linear", fields, weights=arrays_of(w, b))


# ---- resampling -----------------------------------------------------------------------------------------------
#: torch's interpolation modes that upsample has (nearest-exact and area have other sampling rules)
UPSAMPLE_MODES = {"nearest": "nearest", "linear": "linear", "bilinear": "bilinear", "trilinear": "trilinear",
                  "bicubic": "bicubic"}


@handles(nn.Upsample, nn.UpsamplingNearest2d, nn.UpsamplingBilinear2d, F.interpolate, F.upsample,
         params="input size scale_factor mode align_corners recompute_scale_factor antialias")
@handles(*atens("upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d"),
         params="input output_size scale_factors", mode="nearest")
@handles(*atens("upsample_linear1d"), params="input output_size align_corners scale_factors", mode="linear")
@handles(*atens("upsample_bilinear2d"), params="input output_size align_corners scale_factors", mode="bilinear")
@handles(*atens("upsample_trilinear3d"), params="input output_size align_corners scale_factors", mode="trilinear")
@handles(*atens("upsample_bicubic2d"), params="input output_size align_corners scale_factors", mode="bicubic")
def upsample(op, mode: str | None = None):
    """``upsample`` with torch's rule ``N_out = floor(N·scale)`` when a scale factor is given (written as
    ``scale`` when that rule gives the traced size), else the traced output ``size``."""
    mode = mode or op.arg("mode", default="nearest")
    if mode not in UPSAMPLE_MODES:
        op.fail(f"mode '{mode}' (upsample has nearest, linear, bilinear, trilinear and bicubic)")
    if op.arg("antialias", default=False):
        op.fail("antialias (a smoothing filter upsample does not apply)")
    x, out = op.input, op.out_shape
    rank = len(x.shape) - 1
    scale = op.arg("scale_factor", "scale_factors")
    fields = {"mode": UPSAMPLE_MODES[mode], "align_corners": bool(op.arg("align_corners", default=False)) or None}
    if scale is not None and not op.arg("recompute_scale_factor", default=False) and \
            tuple(math.floor(n * Fraction(str(s))) for n, s in zip(x.shape[1:], axes(scale, rank))) == out[1:]:
        fields["scale"] = compact(number(float(s)) for s in axes(scale, rank))
    else:
        fields["size"] = compact(out[1:])
    return op.emit("upsample", spec_fields("upsample", **fields))


@handles(nn.PixelShuffle, F.pixel_shuffle, *atens("pixel_shuffle"), params="input upscale_factor")
def pixel_shuffle(op):
    return op.emit("pixel_shuffle", spec_fields("pixel_shuffle", factor=op.arg("upscale_factor")))


@handles(nn.PixelUnshuffle, F.pixel_unshuffle, *atens("pixel_unshuffle"), params="input downscale_factor")
def pixel_unshuffle(op):
    return op.emit("pixel_unshuffle", spec_fields("pixel_unshuffle", factor=op.arg("downscale_factor")))


@handles(nn.ChannelShuffle, F.channel_shuffle, torch.channel_shuffle, torch.native_channel_shuffle,
         *atens("channel_shuffle", "native_channel_shuffle"), params="input groups")
def channel_shuffle(op):
    return op.emit("channel_shuffle", {"groups": op.arg("groups")})

