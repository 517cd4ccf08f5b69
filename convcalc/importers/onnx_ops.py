"""The ONNX op table: one handler per op type, mapping a node onto convcalc layers (fvcore's design).

Each handler follows the operator's definition (https://onnx.ai/onnx/operators/, the opset the file imports)
and writes the fields the PyTorch frontend writes for the torch module that exports to it
(:mod:`convcalc.importers.torch_ops_layers`), so that one model imported both ways gives the same spec. Shapes
come from ONNX's shape inference; a handler reads attributes with ``op.attr``, constant inputs with
``op.values``, and raises :class:`~convcalc.importers.onnx_map.Unmappable` (``op.fail``) where a setting has no
layer field, with the reason, instead of approximating it.

ONNX float attributes are float32: they are written as the shortest decimal of that float32 (``epsilon`` 1e-05,
not 9.99999974e-06), and as the kind's default when they are the float32 of it (HardSigmoid's 1/6).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .fields import clip_layer, compact, number, softmax_layer, spec_fields
from .onnx_map import Const, ConstArray

#: op type → (handler, options)
OPS: dict = {}
#: op types whose output has their first input's shape (used where ONNX's shape inference gives none)
SHAPE_KEEPING = frozenset({"BatchNormalization", "InstanceNormalization", "GroupNormalization", "LayerNormalization",
                           "Relu", "Sigmoid", "Tanh", "HardSwish", "Mish", "Selu", "Elu", "LeakyRelu", "HardSigmoid",
                           "Gelu", "Softplus", "PRelu", "Clip", "Softmax", "Dropout", "Identity", "Cast", "Neg"})


def handles(*op_types, **options):
    def register(handler):
        for op_type in op_types:
            OPS[op_type] = (handler, options)
        return handler
    return register


def f32(value):
    """An ONNX float attribute as the decimal it was written as: the shortest repr of the float32."""
    return number(float(str(np.float32(value))))


def near(value, default) -> bool:
    return default is not None and np.float32(value) == np.float32(float(Fraction(str(default))))


def attr_float(op, name: str, default, kind: str | None = None, field: str | None = None):
    """A float attribute; the kind's own default when it is that default in float32."""
    value = f32(op.attr(name, default))
    if kind is not None:
        from ..layers import REGISTRY

        declared = REGISTRY[kind].fields.get(field or name) if kind in REGISTRY else None
        if declared is not None and near(value, declared.default):
            return declared.default
    return value


def arrays_of(*consts) -> list:
    return [ConstArray(c) for c in consts if c is not None]


def spatial(op) -> int:
    return len(op.input.shape) - 1


def pairs_of(pads: list, rank: int) -> list:
    """ONNX ``pads`` ``[x1_begin, x2_begin, …, x1_end, x2_end, …]`` as ``[(begin, end), …]`` per axis."""
    pads = [int(p) for p in pads] if pads is not None else [0] * (2 * rank)
    return list(zip(pads[:rank], pads[rank:]))


def padding_field(pairs: list):
    """Per-axis (before, after) as a spec writes them: one int, per-axis ints, or [before, after] pairs."""
    if all(a == b for a, b in pairs):
        return compact([a for a, _ in pairs])
    return [a if a == b else [a, b] for a, b in pairs]


def auto_pairs(op, sizes, kernel, stride, dilation) -> list | str:
    """The (before, after) pads of ``auto_pad`` (SAME_UPPER is convcalc's ``same``), or of ``pads``."""
    mode = op.attr("auto_pad", "NOTSET")
    rank = len(kernel)
    if mode in ("NOTSET", ""):
        return pairs_of(op.attr("pads"), rank)
    if mode == "VALID":
        return [(0, 0)] * rank
    pairs = []
    for n, k, s, d in zip(sizes, kernel, stride, dilation):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        pairs.append((total // 2, total - total // 2) if mode == "SAME_UPPER" else (total - total // 2, total // 2))
    return pairs


def window(op, rank: int, kernel=None):
    kernel = tuple(int(k) for k in (kernel if kernel is not None else op.attr("kernel_shape")))
    stride = tuple(int(s) for s in op.attr("strides", [1] * rank))
    dilation = tuple(int(d) for d in op.attr("dilations", [1] * rank))
    return kernel, stride, dilation


# ---- convolutions ---------------------------------------------------------------------------------------------
@handles("Conv")
def conv(op):
    """Conv: ``W (C_out, C_in/group, *k)``, optional ``B``; pads per side, ``auto_pad`` SAME_UPPER is ``same``."""
    x, w, b = op.input, op.const(1), op.const(2)
    rank = conv_rank(op, x, w)
    kernel, stride, dilation = window(op, rank, w.shape[2:])
    if op.attr("auto_pad", "NOTSET") == "SAME_UPPER":
        padding = "same"
    else:
        padding = padding_field(auto_pairs(op, x.shape[1:], kernel, stride, dilation))
    fields = spec_fields("conv", out=w.shape[0], kernel=compact(kernel), stride=compact(stride), padding=padding,
                         dilation=compact(dilation), groups=int(op.attr("group", 1)), bias=b is not None)
    return op.emit("conv", fields, weights=arrays_of(w, b))


def conv_rank(op, x, w) -> int:
    if w is None or len(w.shape) != len(x.shape) + 1:
        op.fail("the weight's shape does not fit the input")
    return len(x.shape) - 1


@handles("ConvTranspose")
def conv_transpose(op):
    """ConvTranspose: ``W (C_in, C_out/group, *k)``. The crop before each axis is ``padding``; what the output
    has beyond ``(N − 1)·s − 2p + d·(k − 1) + 1`` is ``output_padding`` (read off the inferred output, so
    ``output_shape`` and ``auto_pad`` map too)."""
    x, w, b = op.input, op.const(1), op.const(2)
    rank = conv_rank(op, x, w)
    groups = int(op.attr("group", 1))
    kernel, stride, dilation = window(op, rank, w.shape[2:])
    out = op.out_shape()[1:]
    if op.attr("output_shape") is not None or op.attr("auto_pad", "NOTSET") not in ("NOTSET", "", "VALID"):
        totals = [s * (n - 1) + d * (k - 1) + 1 - o for n, o, k, s, d in zip(x.shape[1:], out, kernel, stride, dilation)]
        upper = op.attr("auto_pad", "NOTSET") == "SAME_UPPER"
        before = [t // 2 if upper else t - t // 2 for t in totals]
    else:
        before = [a for a, _ in pairs_of(op.attr("pads"), rank)] if op.attr("auto_pad", "NOTSET") != "VALID" \
            else [0] * rank
    before = [max(p, 0) for p in before]
    out_pad = [o - ((n - 1) * s - 2 * p + d * (k - 1) + 1) for n, o, k, s, p, d in
               zip(x.shape[1:], out, kernel, stride, before, dilation)]
    if any(p < 0 for p in out_pad):
        op.fail(f"a crop after the output larger than before it (output_padding {out_pad})")
    fields = spec_fields("conv_transpose", out=w.shape[1] * groups, kernel=compact(kernel), stride=compact(stride),
                         padding=compact(before), output_padding=compact(out_pad), dilation=compact(dilation),
                         groups=groups, bias=b is not None)
    return op.emit("conv_transpose", fields, weights=arrays_of(w, b))


# ---- normalisation --------------------------------------------------------------------------------------------
@handles("BatchNormalization")
def batch_norm(op):
    """BatchNormalization (inference): γ, β, then the running mean and variance as buffers."""
    if op.attr("training_mode", 0):
        op.fail("training_mode (batch statistics)")
    w, b, mean, var = op.const(1), op.const(2), op.const(3), op.const(4)
    fields = spec_fields("batchnorm", eps=attr_float(op, "epsilon", 1e-5, "batchnorm", "eps"))
    return op.emit("batchnorm", fields, weights=arrays_of(w, b), buffers=arrays_of(mean, var))


def fixed(const: Const | None, fill: float) -> bool:
    """A constant that is not a weight of the model and holds ``fill`` everywhere (absent, for 0): a norm's γ of
    ones or β of zeros, which is how the exporters write a norm without affine parameters."""
    if const is None:
        return fill == 0
    return not const.learnable and const.value is not None and bool(np.all(const.value == fill))


@handles("InstanceNormalization")
def instance_norm(op):
    w, b = op.const(1), op.const(2)
    affine = not (fixed(w, 1) and fixed(b, 0))
    fields = spec_fields("instancenorm", affine=affine, eps=attr_float(op, "epsilon", 1e-5, "instancenorm", "eps"))
    return op.emit("instancenorm", fields, weights=arrays_of(w, b) if affine else ())


@handles("GroupNormalization")
def group_norm(op):
    """GroupNormalization: γ and β per channel (opset 21; opset 18's per-group γ and β have no torch layout)."""
    x, w, b = op.input, op.const(1), op.const(2)
    groups = int(op.attr("num_groups"))
    if w is None or w.numel() != x.shape[0]:
        op.fail(f"a scale of {w.numel() if w is not None else 0} values for {x.shape[0]} channels (opset 18's "
                "per-group scale)")
    fields = spec_fields("groupnorm", groups=groups, eps=attr_float(op, "epsilon", 1e-5, "groupnorm", "eps"))
    return op.emit("groupnorm", fields, weights=arrays_of(w, b))


@handles("LayerNormalization")
def layer_norm(op):
    """LayerNormalization over the last axis only (``axis`` −1): ``layernorm axis: last``."""
    x, w, b = op.input, op.const(1), op.const(2)
    axis = int(op.attr("axis", -1)) % (len(x.shape) + 1)
    if axis != len(x.shape):
        op.fail(f"it normalises over the axes from {axis} on; layernorm normalises one axis")
    affine = not (fixed(w, 1) and fixed(b, 0))
    bias = b is not None and not fixed(b, 0) if affine else None
    fields = spec_fields("layernorm", axis="last", affine=affine, bias=bias,
                         eps=attr_float(op, "epsilon", 1e-5, "layernorm", "eps"))
    return op.emit("layernorm", fields, weights=arrays_of(w, b if bias else None) if affine else ())


# ---- activations ----------------------------------------------------------------------------------------------
@handles("Relu", kind="relu")
@handles("Sigmoid", kind="sigmoid")
@handles("Tanh", kind="tanh")
@handles("HardSwish", kind="hardswish")
@handles("Mish", kind="mish")
def activation(op, kind: str):
    return op.emit(kind)


@handles("Selu")
def selu(op):
    """Selu with torch's α and γ (the kind's only ones)."""
    if not near(op.attr("alpha", 1.67326319217681884765625), 1.6732632423543772) or \
            not near(op.attr("gamma", 1.05070102214813232421875), 1.0507009873554805):
        op.fail("a Selu with α or γ other than torch's")
    return op.emit("selu")


@handles("Elu")
def elu(op):
    return op.emit("elu", spec_fields("elu", alpha=attr_float(op, "alpha", 1.0, "elu")))


@handles("LeakyRelu")
def leaky_relu(op):
    return op.emit("leaky_relu", spec_fields("leaky_relu",
                                             negative_slope=attr_float(op, "alpha", 0.01, "leaky_relu",
                                                                       "negative_slope")))


@handles("HardSigmoid")
def hard_sigmoid(op):
    """HardSigmoid max(0, min(1, α·x + β)): ONNX's defaults are α 0.2, β 0.5; torch exports α = 1/6."""
    return op.emit("hardsigmoid", spec_fields("hardsigmoid", alpha=attr_float(op, "alpha", 0.2, "hardsigmoid"),
                                              beta=attr_float(op, "beta", 0.5, "hardsigmoid")))


@handles("Gelu")
def gelu(op):
    approximate = op.attr("approximate", "none")
    return op.emit("gelu", spec_fields("gelu", approximate=None if approximate == "none" else approximate))


@handles("Softplus")
def softplus(op):
    """Softplus log(1 + exp(x)): the kind with torch's defaults (β 1; the threshold changes no count)."""
    return op.emit("softplus")


@handles("PRelu")
def prelu(op):
    """PRelu: one slope, or one per channel (shape (C, 1, …) against a channels-first map)."""
    x, slope = op.input, op.const(1)
    if slope is None or slope.numel() not in (1, x.shape[0]) or \
            (slope.numel() > 1 and [n for n in slope.shape if n != 1] != [x.shape[0]]):
        op.fail(f"slopes of shape {slope.shape if slope is not None else ()} for an input {x.shape}")
    return op.emit("prelu", spec_fields("prelu", num_parameters=slope.numel()),
                   weights=[ConstArray(slope, (slope.numel(),))])


@handles("Clip")
def clip(op):
    """Clip: ``relu6`` for [0, 6], ``relu`` for [0, ∞), else ``hardtanh`` (bounds: attributes before opset 11,
    constant inputs after)."""
    if op.opset < 11:
        low, high = op.attr("min"), op.attr("max")
    else:
        low, high = (op.values(i) for i in (1, 2))
        low, high = [None if v is None else v.reshape(-1)[0].item() for v in (low, high)]
    low, high = [None if v is None or math.isinf(v) or abs(v) >= 3.4e38 else f32(v) for v in (low, high)]
    layer = clip_layer(low, high)
    if isinstance(layer, str):
        op.fail(layer)
    return op.emit(*layer)


@handles("Softmax")
def softmax(op):
    """Over the channels (ONNX axis 1) or the last axis; before opset 13 the input is flattened from ``axis`` on,
    which is one of those only when that is the last axis."""
    x = op.input
    rank = len(x.shape) + 1
    axis = int(op.attr("axis", 1 if op.opset < 13 else -1)) % rank
    if op.opset < 13 and axis != rank - 1:
        op.fail(f"a softmax over the flattened axes {axis}… (opset {op.opset})")
    layer = softmax_layer(op.dim(axis), len(x.shape))
    return op.fail(layer) if isinstance(layer, str) else op.emit(*layer)


@handles("Dropout", "Identity")
def same_tensor(op):
    """The identity at inference: no layer (the import says how many it left out)."""
    training = op.values(2) if op.type == "Dropout" else None
    if op.type == "Dropout" and (op.attr("training_mode") or (training is not None and training.any())):
        op.fail("a Dropout in training mode")
    op.mapper.dropped.append((op.type, op.node.name))
    return [op.input] + [None] * (len(op.node.output) - 1)


@handles("Cast")
def cast(op):
    """A cast between float types changes no count: no layer."""
    if op.attr("to") not in (1, 10, 11, 16):
        op.fail("a cast of an activation to a non-float type")
    return op.input


# ---- pooling --------------------------------------------------------------------------------------------------
def pool_fields(op, kind: str, dilated: bool, **extra) -> dict:
    """kernel, stride (left out when it is the kernel), symmetric padding, ceil_mode."""
    x = op.input
    rank = spatial(op)
    kernel, stride, dilation = window(op, rank)
    pairs = auto_pairs(op, x.shape[1:], kernel, stride, dilation)
    if any(a != b for a, b in pairs):
        op.fail(f"asymmetric pads {op.attr('pads')} (a pool pads both sides alike)")
    if not dilated and any(d != 1 for d in dilation):
        op.fail("a dilated average pool")
    return spec_fields(kind, kernel=compact(kernel), stride=None if stride == kernel else compact(stride),
                       padding=compact(a for a, _ in pairs), dilation=compact(dilation) if dilated else None,
                       ceil_mode=bool(op.attr("ceil_mode", 0)), **extra)


@handles("MaxPool")
def max_pool(op):
    if op.used(1):
        op.fail("its indices (for max-unpooling) have no layer kind")
    if op.attr("storage_order", 0):
        op.fail("storage_order")
    return [op.emit("maxpool", pool_fields(op, "maxpool", True)), None]


@handles("AveragePool")
def avg_pool(op):
    """AveragePool; ONNX's ``count_include_pad`` defaults to 0 (torch's to True)."""
    return op.emit("avgpool", pool_fields(op, "avgpool", False,
                                          count_include_pad=bool(op.attr("count_include_pad", 0))))


@handles("GlobalAveragePool", kind="global_avgpool")
@handles("GlobalMaxPool", kind="global_maxpool")
def global_pool(op, kind: str):
    return op.emit(kind)


@handles("ReduceMean", kind="global_avgpool")
@handles("ReduceMax", kind="global_maxpool")
def reduce(op, kind: str):
    """A mean (max) over every spatial axis is a global pool (``keepdims: false`` unless ``keepdims``)."""
    x = op.input
    axes = op.ints(1) if op.opset >= 18 and op.arg(1) is not None else op.attr("axes")
    axes = sorted(op.dim(a) for a in (axes if axes is not None else range(len(x.shape) + 1)))
    if axes != list(range(1, len(x.shape))) or len(x.shape) < 2:
        op.fail(f"a reduction over axes {[a + 1 for a in axes]} (a global pool reduces every spatial axis)")
    return op.emit(kind, spec_fields(kind, keepdims=bool(op.attr("keepdims", 1))))


# ---- linear ---------------------------------------------------------------------------------------------------
@handles("Gemm")
def gemm(op):
    """Gemm ``α·A·B + β·C`` with A the activation (N, F) and B a constant: ``linear`` with weight B (out, in)
    when ``transB``, else Bᵀ; C (out,) is the bias."""
    x, w, c = op.input, op.const(1), op.const(2)
    if op.attr("transA", 0) or len(x.shape) != 1:
        op.fail("the activation is not the flat first operand")
    if not near(op.attr("alpha", 1.0), 1) or (c is not None and not near(op.attr("beta", 1.0), 1)):
        op.fail("alpha or beta other than 1")
    if w is None or len(w.shape) != 2:
        op.fail("a weight that is not a matrix")
    transposed = bool(op.attr("transB", 0))
    out = w.shape[0] if transposed else w.shape[1]
    if c is not None and c.numel() != out:
        op.fail(f"a bias of shape {c.shape} for {out} outputs")
    weights = [ConstArray(w, transpose=not transposed)] + ([ConstArray(c, (out,))] if c is not None else [])
    return op.emit("linear", spec_fields("linear", out=out, bias=c is not None), weights=weights)


@handles("MatMul")
def matmul(op):
    """MatMul of an activation by a constant (…, F) × (F, out): ``linear`` over the last axis (flat on a flat
    input), with the weight transposed; an Add of a bias that follows becomes its bias."""
    x, w = op.input, op.const(1)
    if w is None or len(w.shape) != 2 or w.shape[0] != x.shape[-1]:
        op.fail("the second operand is not a constant matrix for the last axis")
    fields = spec_fields("linear", out=w.shape[1], bias=False, axis="last" if len(x.shape) > 1 else None)
    return op.emit("linear", fields, weights=[ConstArray(w, transpose=True)], meta={"matmul": True})
