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

from .fields import compact, number, spec_fields
from .onnx_map import Act, Const, ConstArray

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
    """A constant that is not a weight of the model and holds ``fill`` everywhere (a norm without affine
    parameters, as the exporters write it)."""
    return const is not None and not const.learnable and const.value is not None and bool(np.all(const.value == fill))


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
    fields = spec_fields("layernorm", axis="last", bias=b is not None,
                         eps=attr_float(op, "epsilon", 1e-5, "layernorm", "eps"))
    return op.emit("layernorm", fields, weights=arrays_of(w, b))


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


#: (min, max) bounds that are an activation of their own: ReLU6 is Hardtanh(0, 6), ReLU is a clip at 0
CLIPS = {(0, 6): "relu6", (0, None): "relu"}


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
    kind = CLIPS.get((low, high))
    if kind:
        return op.emit(kind)
    if low is None or high is None:
        op.fail(f"a clip to [{low}, {high}] (hardtanh needs both bounds)")
    return op.emit("hardtanh", spec_fields("hardtanh", min_val=low, max_val=high))


@handles("Softmax")
def softmax(op):
    """Over the channels (ONNX axis 1) or the last axis; before opset 13 the input is flattened from ``axis`` on,
    which is one of those only when that is the last axis."""
    x = op.input
    rank = len(x.shape) + 1
    axis = int(op.attr("axis", 1 if op.opset < 13 else -1)) % rank
    if op.opset < 13 and axis != rank - 1:
        op.fail(f"a softmax over the flattened axes {axis}… (opset {op.opset})")
    axis = op.dim(axis)
    if axis == 0:
        return op.emit("softmax")
    if axis == len(x.shape) - 1:
        return op.emit("softmax", spec_fields("softmax", axis="last"))
    op.fail(f"a softmax over axis {axis + 1} (neither the channels nor the last axis)")


@handles("Dropout", "Identity")
def same_tensor(op):
    """The identity at inference: no layer (the import says how many it left out)."""
    if op.type == "Dropout" and (op.attr("training_mode") or (op.arg(2) is not None and op.values(2).item())):
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
    axes = op.values(1) if op.opset >= 18 and op.arg(1) is not None else op.attr("axes")
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


# ---- reshapes -------------------------------------------------------------------------------------------------
@handles("Flatten", "Reshape", "Squeeze", "Unsqueeze")
def reshape(op):
    """Any reshape that keeps the batch axis: ``flatten`` when it merges a run of axes, else ``reshape`` to the
    inferred per-sample shape (none when unchanged)."""
    x = op.input
    if op.out_batch() != op.batch:
        op.fail("it reshapes across the batch axis")
    out = op.out_shape()
    if out == x.shape:
        return x
    span = flatten_span(x.shape, out)
    if span is not None:
        start, end = span
        end = None if end == len(x.shape) - 1 else end
        return op.emit("flatten", spec_fields("flatten", start=start or None, end=end))
    return op.emit("reshape", {"shape": list(out)})


def flatten_span(before: tuple, after: tuple):
    """``(start, end)`` when ``after`` is ``before`` with axes start..end merged into one, else None."""
    for start in range(len(before)):
        for end in range(len(before) - 1, start, -1):
            if before[:start] + (math.prod(before[start:end + 1]),) + before[end + 1:] == after:
                return start, end
    return None


@handles("Transpose")
def transpose(op):
    x = op.input
    rank = len(x.shape) + 1
    dims = [int(d) % rank for d in op.attr("perm", list(range(rank))[::-1])]
    if dims[0] != 0:
        op.fail("it moves the batch axis")
    per_sample = [d - 1 for d in dims[1:]]
    if per_sample == sorted(per_sample):
        return x
    return op.emit("permute", {"dims": per_sample})


# ---- channels: slices, splits, concatenation ------------------------------------------------------------------
def channel_slice(op, start: int, stop: int, output: int = 0):
    channels = op.input.shape[0]
    if start == 0 and stop == channels:
        return op.input
    return op.emit("channel_slice", spec_fields("channel_slice", start=start, stop=None if stop == channels else stop),
                   output=output)


@handles("Split")
def split(op):
    """Pieces along the channels, one ``channel_slice`` per piece the graph uses."""
    if op.dim(op.attr("axis", 0)) != 0:
        op.fail("it splits along a spatial axis; channel_slice slices the channels")
    results, start = [], 0
    for index in range(len(op.node.output)):
        size = op.out_shape(index)[0]
        results.append(channel_slice(op, start, start + size, index) if op.used(index) else None)
        start += size
    return results


@handles("Slice")
def slice_axes(op):
    """Slice: a slice of the channels; other axes must be kept whole, with step 1."""
    x = op.input
    if op.opset < 10:
        starts, ends = op.attr("starts"), op.attr("ends")
        axes, steps = op.attr("axes", list(range(len(starts)))), [1] * len(starts)
    else:
        starts, ends = [int(v) for v in op.values(1)], [int(v) for v in op.values(2)]
        axes = [int(v) for v in op.values(3, np.arange(len(starts)))]
        steps = [int(v) for v in op.values(4, np.ones(len(starts), dtype=np.int64))]
    full = (op.batch, *x.shape)
    start, stop = 0, x.shape[0]
    for begin, end, axis, step in zip(starts, ends, axes, steps):
        axis = int(axis) % len(full)
        first, last, step = slice(begin, end, step).indices(full[axis])
        if step != 1:
            op.fail(f"a strided slice (step {step})")
        if axis == 1:
            start, stop = first, last
        elif (first, last) != (0, full[axis]):
            op.fail(f"a slice of axis {axis}; channel_slice slices the channels")
    return channel_slice(op, start, stop)


@handles("Concat")
def concat(op):
    tensors = [op.arg(i) for i in range(len(op.node.input))]
    if not all(isinstance(t, Act) for t in tensors):
        op.fail("a concatenation with a constant tensor")
    if op.dim(op.attr("axis"), len(tensors[0].shape) + 1) != 0:
        op.fail("a concatenation along an axis other than the channels")
    if len(tensors) == 1:
        return tensors[0]
    return op.emit("concat", inputs=tensors)


# ---- arithmetic -----------------------------------------------------------------------------------------------
#: the merge kind of an arithmetic op on two activations
MERGES = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Div": "divide"}
#: the scalar op, with the activation first and with the number first
SCALARS = {"Add": ("add", "add"), "Sub": ("sub", "rsub"), "Mul": ("mul", "mul"), "Div": ("div", "rdiv"),
           "Pow": ("pow", None)}
#: per-channel constants that are layers of their own: γ·x (layer scale) and x + β (bias add)
PER_CHANNEL = {"Mul": "layer_scale", "Add": "bias_add"}


@handles("Add", "Sub", "Mul", "Div", "Pow")
def arithmetic(op):
    """``a op b``: two activations merge (NumPy broadcasting); an activation and a number give ``scalar``; a
    per-channel constant gives ``layer_scale`` (×) or ``bias_add`` (+); a constant bias added to a MatMul's
    linear becomes its bias."""
    a, b = op.arg(0), op.arg(1)
    if isinstance(a, Act) and isinstance(b, Act):
        if op.type not in MERGES:
            op.fail("a power of two activations")
        return op.emit(MERGES[op.type], inputs=[a, b])
    x, other, first = (a, b, False) if isinstance(a, Act) else (b, a, True)
    if not isinstance(other, Const):
        op.fail("an operand that is neither an activation nor a constant")
    if other.known() is not None:
        scalar_op = SCALARS[op.type][1 if first else 0]
        if scalar_op is None:
            op.fail("a number raised to a tensor power")
        return op.emit("scalar", {"op": scalar_op, "value": f32(other.known()) if isinstance(other.known(), float)
                                  else other.known()}, inputs=[x])
    if op.type == "Add":
        fused = linear_bias(op, x, other)
        if fused is not None:
            return fused
    if op.type in PER_CHANNEL:
        return per_channel(op, PER_CHANNEL[op.type], x, other)
    op.fail("a constant operand that is neither a number nor one value per channel")


def linear_bias(op, x, const: Const):
    """A MatMul's linear (used only here) plus a (out,) constant: the linear with its bias."""
    meta = getattr(x, "meta", {})
    if not meta.get("matmul") or op.consumers(x) != 1 or [n for n in const.shape if n != 1] != [x.shape[-1]] \
            or len(const.shape) > len(x.shape) + 1:
        return None
    meta.pop("matmul")
    x.fields = spec_fields("linear", **{**x.fields, "bias": True})
    x.weights.append(ConstArray(const, (x.shape[-1],)))
    x.tensor = op.node.output[0]
    return x


def per_channel(op, kind: str, x: Act, const: Const):
    """γ of shape (C, 1, …, 1) against a channels-first map, or (C,) against the last axis of any input."""
    shape = list(const.shape)
    while len(shape) > len(x.shape):
        if shape[0] != 1:
            op.fail(f"a constant of shape {tuple(const.shape)} against a per-sample shape {x.shape}")
        shape.pop(0)
    channels = x.shape[0]
    if shape == [channels] + [1] * (len(x.shape) - 1):
        axis = None
    elif shape == [x.shape[-1]] and len(x.shape) > 1:
        axis, channels = "last", x.shape[-1]
    else:
        op.fail(f"a constant of shape {tuple(const.shape)} that is not one value per channel of {x.shape}")
    arrays = [ConstArray(const, (channels,))]
    fields = spec_fields(kind, axis=axis, learnable=const.learnable)
    return op.emit(kind, fields, inputs=[x], weights=arrays if const.learnable else (),
                   buffers=() if const.learnable else arrays)


@handles("Neg")
def negate(op):
    return op.emit("scalar", {"op": "mul", "value": -1})


# ---- padding and resampling -----------------------------------------------------------------------------------
#: ONNX Pad modes → convcalc's
PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@handles("Pad")
def pad(op):
    """Pad: pads for every axis, batch and channels included (which must be 0); negative pads crop."""
    x = op.input
    rank = len(x.shape) + 1
    mode = op.attr("mode", "constant")
    if mode not in PAD_MODES:
        op.fail(f"mode '{mode}'")
    if op.opset < 11:
        pads, value = op.attr("pads"), op.attr("value", 0.0)
        axes = list(range(rank))
    else:
        pads = [int(v) for v in op.values(1)]
        value = op.values(2)
        value = 0 if value is None or value.size == 0 else value.reshape(-1)[0].item()
        axes = [int(a) % rank for a in op.values(3, np.arange(rank))]
    pairs = dict(zip(axes, pairs_of(pads, len(axes))))
    if any(pairs.get(axis, (0, 0)) != (0, 0) for axis in (0, 1)):
        op.fail("it pads the batch or channel axis")
    spatial_pairs = [pairs.get(axis, (0, 0)) for axis in range(2, rank)]
    if mode != "constant" and any(v < 0 for p in spatial_pairs for v in p):
        op.fail("a negative pad (a crop) in a mode other than constant")
    value = number(f32(value)) if mode == "constant" else None
    return op.emit("pad", spec_fields("pad", padding=padding_field(spatial_pairs), mode=PAD_MODES[mode], value=value))


#: ONNX Resize modes → the upsample mode per spatial rank
LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


@handles("Resize", "Upsample")
def resize(op):
    """Resize/Upsample as ``upsample``. nearest: torch's rule (``asymmetric`` coordinates, ``floor``), or any
    rounding with ``half_pixel`` at integer scales, where every rule picks the same pixels; linear and cubic:
    ``half_pixel``/``pytorch_half_pixel`` (``align_corners: false``) or ``align_corners``; cubic with torch's
    a = −0.75 on 2-D maps. ``scale`` when ``floor(N·scale)`` gives the output, else ``size``."""
    x = op.input
    rank = spatial(op)
    mode = op.attr("mode", "nearest")
    upsample_op = op.type == "Upsample" or op.opset < 11
    coordinates = "asymmetric" if upsample_op else op.attr("coordinate_transformation_mode", "half_pixel")
    if op.attr("antialias", 0) and op.attr("antialias", 0) != 0:
        op.fail("antialias")
    scales = op.attr("scales") if op.type == "Upsample" and op.opset < 9 else \
        (op.values(1) if upsample_op else op.values(2))
    scales = None if scales is None or len(scales) == 0 else [float(s) for s in np.asarray(scales).reshape(-1)]
    if scales is not None and (len(scales) != rank + 2 or scales[:2] != [1.0, 1.0]):
        op.fail(f"scales {scales} that resize the batch or the channels")
    out = op.out_shape()
    if out[0] != x.shape[0]:
        op.fail("it resizes the channels")
    integral = all(o % n == 0 for n, o in zip(x.shape[1:], out[1:]))
    if mode == "nearest":
        rounding = op.attr("nearest_mode", "round_prefer_floor")
        if not ((coordinates == "asymmetric" and (rounding == "floor" or upsample_op)) or
                (coordinates in ("half_pixel", "pytorch_half_pixel") and integral and rounding.startswith("round"))):
            op.fail(f"nearest with {coordinates} coordinates and {rounding} rounding (torch's nearest is "
                    "asymmetric with floor)")
        fields = {"mode": "nearest"}
    elif mode in ("linear", "cubic"):
        if coordinates not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            op.fail(f"{mode} with {coordinates} coordinates")
        if mode == "cubic" and (rank != 2 or not near(op.attr("cubic_coeff_a", -0.75), -0.75)
                                or op.attr("exclude_outside", 0)):
            op.fail("a cubic resize other than torch's bicubic (2-D, a = −0.75)")
        fields = {"mode": LINEAR[rank] if mode == "linear" else "bicubic",
                  "align_corners": True if coordinates == "align_corners" else None}
    else:
        op.fail(f"mode '{mode}'")
    if scales is not None and tuple(math.floor(n * Fraction(str(f32(s)))) for n, s in
                                    zip(x.shape[1:], scales[2:])) == out[1:]:
        fields["scale"] = compact(f32(s) for s in scales[2:])
    else:
        fields["size"] = compact(out[1:])
    return op.emit("upsample", spec_fields("upsample", **fields))


@handles("DepthToSpace")
def depth_to_space(op):
    """DepthToSpace: ``pixel_shuffle``; mode DCR (ONNX's default) is ``order: dcr``, CRD is torch's."""
    order = "crd" if op.attr("mode", "DCR") == "CRD" else "dcr"
    return op.emit("pixel_shuffle", spec_fields("pixel_shuffle", factor=int(op.attr("blocksize")), order=order))


@handles("SpaceToDepth")
def space_to_depth(op):
    return op.emit("pixel_unshuffle", spec_fields("pixel_unshuffle", factor=int(op.attr("blocksize")), order="dcr"))
