"""Handlers of the op table (:mod:`convcalc.importers.torch_ops`) for tensor operations: reshapes, permutes,
slicing and splitting on channels, concatenation, elementwise arithmetic, means, padding, and the no-ops.

Axis arguments count the batch (torch's ``dim=1`` is the channels); the layers' fields count per sample, so a
handler converts with ``op.dim``, which refuses the batch axis. Reshapes are written from the traced output shape
(``x.view(x.size(0), -1)`` gives the same layer as ``torch.flatten(x, 1)``): ``flatten`` when it merges a run of
axes, else ``reshape``.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import shorten
from .fields import per_channel_axis, reshape_layer
from .torch_ops import Act, Const, ConstArray, Multi, atens, handles, number, spec_fields


# ---- no-ops ---------------------------------------------------------------------------------------------------
@handles("contiguous", "clone", "detach", torch.clone, torch.detach, *atens("contiguous", "clone", "alias", "detach"),
         params="input")
def same_tensor(op):
    """A copy or a view of the same values (``contiguous``, ``clone``): no layer; later layers read its input."""
    return op.input


# ---- reshapes -------------------------------------------------------------------------------------------------
@handles(nn.Flatten, torch.flatten, "flatten", *atens("flatten"), params="input start_dim end_dim")
@handles(nn.Unflatten, torch.unflatten, "unflatten", *atens("unflatten"), params="input dim sizes")
@handles("view", "reshape", params="input *shape")
@handles(torch.reshape, *atens("view", "reshape", "_unsafe_view"), params="input shape")
@handles(torch.squeeze, torch.unsqueeze, "squeeze", "unsqueeze", *atens("squeeze", "unsqueeze", "squeeze_"),
         params="input dim")
def reshape(op):
    """Any reshape that keeps the batch axis: a ``reshape`` to the traced per-sample shape (none when unchanged)."""
    x = op.input
    if op.out_batch != op.batch:
        op.fail("it reshapes across the batch axis")
    layer = reshape_layer(x.shape, op.out_shape)
    return x if layer is None else op.emit(*layer)


@handles(torch.permute, *atens("permute"), params="input dims")
@handles("permute", params="input *dims")
def permute(op):
    dims = [d % (len(op.input.shape) + 1) for d in flat_ints(op.arg("dims"))]
    return permutation(op, dims)


@handles(torch.transpose, torch.swapaxes, "transpose", "swapaxes", *atens("transpose", "swapaxes"),
         params="input dim0 dim1")
def transpose(op):
    rank = len(op.input.shape) + 1
    dims = list(range(rank))
    a, b = op.arg("dim0", "axis0") % rank, op.arg("dim1", "axis1") % rank
    dims[a], dims[b] = dims[b], dims[a]
    return permutation(op, dims)


def permutation(op, dims: list):
    """``permute`` with the per-sample axes (``dims`` counts the batch, which must stay first)."""
    if dims[0] != 0:
        op.fail("it moves the batch axis")
    per_sample = [d - 1 for d in dims[1:]]
    if per_sample == sorted(per_sample):
        return op.input
    return op.emit("permute", {"dims": per_sample})


def flat_ints(value) -> list:
    """``x.permute(0, 2, 3, 1)`` and ``x.permute([0, 2, 3, 1])`` alike."""
    if len(value) == 1 and isinstance(value[0], (list, tuple, torch.Size)):
        value = value[0]
    return [int(v) for v in value]


# ---- slicing and splitting on channels ------------------------------------------------------------------------
def channel_slice(op, start: int, stop: int):
    """Channels ``[start, stop)``; the whole range is no layer at all."""
    channels = op.input.shape[0]
    if start == 0 and stop == channels:
        return op.input
    return op.emit("channel_slice", spec_fields("channel_slice", start=start, stop=None if stop == channels else stop))


@handles(torch.split, torch.chunk, torch.tensor_split, "split", "chunk", "tensor_split",
         *atens("split", "split_with_sizes", "chunk", "tensor_split"), params="input sections dim")
def split(op):
    """Pieces along the channels, one ``channel_slice`` per piece the graph uses (sizes from the traced values)."""
    axis = op.dim(op.arg("dim", default=0))
    if axis != 0:
        op.fail(f"it splits along axis {axis + 1}; channel_slice slices the channels")
    starts, makers = 0, []
    for shape in op.outputs:
        makers.append(lambda start=starts, stop=starts + shape[0]: channel_slice(op, start, stop))
        starts += shape[0]
    return op.multi(makers)


def _index_text(index) -> str:
    """A tensor index as Python code writes it: ``[:, 2:5]``, ``[..., None]``."""
    def one(part):
        if isinstance(part, slice):
            return ":".join("" if v is None else str(v) for v in (part.start, part.stop)) + (
                f":{part.step}" if part.step is not None else "")
        return "..." if part is Ellipsis else str(part)

    return "[" + ", ".join(one(part) for part in index) + "]"


@handles(operator.getitem, params="input index")
def getitem(op):
    """An item of a split, of a tuple of activations, or a slice ``x[:, a:b]`` of the channels."""
    source, index = op.arg("input"), op.arg("index")
    if isinstance(source, Multi):
        return op.item_of(source, index)
    if isinstance(source, (list, tuple)):
        return source[index]
    if not isinstance(source, Act):
        op.fail("indexing something that is not an activation")
    index = index if isinstance(index, tuple) else (index,)
    full = slice(None)
    if index and index[-1] is Ellipsis:
        index = index[:-1]
    while len(index) > 2 and index[-1] == full:
        index = index[:-1]
    if len(index) == 1 and index[0] == full:
        return source
    if len(index) != 2 or index[0] != full or not isinstance(index[1], slice) or index[1].step not in (None, 1):
        op.fail(f"an index `{shorten(_index_text(index), 80)}` that is not a slice of the channels")
    start, stop, _ = index[1].indices(source.shape[0])
    return channel_slice(op, start, stop)


@handles(*atens("slice"), params="input dim start end step")
@handles(torch.narrow, "narrow", *atens("narrow"), params="input dim start length")
def slice_axis(op):
    """ATen's ``slice`` and ``narrow``: a slice of the channels, or of nothing (the whole axis)."""
    x = op.input
    axis = op.dim(op.arg("dim", default=0)) if op.arg("dim", default=0) % (len(x.shape) + 1) else None
    if axis is None:  # a slice over the batch that keeps it whole: export writes x[:, a:b] this way
        if op.out_batch != op.batch:
            op.fail("a slice of the batch")
        return x
    size = x.shape[axis]
    start = op.arg("start", default=0) or 0
    if op.arg("length") is not None:
        stop = start + op.arg("length")
    else:
        stop = op.arg("end")
        stop = size if stop is None else stop
    start, stop, step = slice(start, stop, op.arg("step", default=1)).indices(size)
    if step != 1:
        op.fail(f"a strided slice (step {step})")
    if axis:
        if (start, stop) == (0, size):
            return x
        op.fail(f"a slice of axis {axis + 1}; channel_slice slices the channels")
    return channel_slice(op, start, stop)


# ---- merges ---------------------------------------------------------------------------------------------------
@handles(torch.cat, torch.concat, torch.concatenate, *atens("cat", "concat", "concatenate"), params="tensors dim")
def cat(op):
    tensors = op.arg("tensors")
    tensors = tensors.all() if isinstance(tensors, Multi) else list(tensors)
    if not all(isinstance(t, Act) for t in tensors):
        op.fail("a concatenation with a constant tensor")
    if op.dim(op.arg("dim", default=0), tensors[0]) != 0:
        op.fail("a concatenation along an axis other than the channels")
    if len(tensors) == 1:
        return tensors[0]
    return op.emit("concat", inputs=tensors)


#: the merge kind of an arithmetic op on two activations
MERGES = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide"}
#: the scalar op when the number comes first: 2 − x is rsub, 2 / x is rdiv
REVERSED = {"add": "add", "sub": "rsub", "mul": "mul", "div": "rdiv", "pow": "rpow"}
#: the ops of the ``scalar`` kind (a number raised to a tensor power, rpow, is not one)
SCALAR_OPS = frozenset({"add", "sub", "mul", "div", "rsub", "rdiv", "pow"})
#: per-channel constants that are layers of their own: γ·x (layer scale) and x + β (bias add)
PER_CHANNEL = {"mul": "layer_scale", "add": "bias_add"}


@handles(operator.add, operator.iadd, torch.add, "add", "add_", "__add__", "__radd__", "__iadd__", *atens("add", "add_"),
         params="input other alpha", name="add")
@handles(operator.sub, operator.isub, torch.sub, torch.subtract, "sub", "sub_", "subtract", "__sub__", "__isub__",
         *atens("sub", "sub_"), params="input other alpha", name="sub")
@handles(*atens("rsub"), params="input other alpha", name="sub", reverse=True)
@handles(operator.mul, operator.imul, torch.mul, torch.multiply, "mul", "mul_", "multiply", "__mul__", "__rmul__",
         "__imul__", *atens("mul", "mul_"), params="input other", name="mul")
@handles(operator.truediv, operator.itruediv, torch.div, torch.divide, torch.true_divide, "div", "div_", "divide",
         "true_divide", "__truediv__", "__itruediv__", *atens("div", "div_"), params="input other rounding_mode",
         name="div")
@handles(operator.pow, torch.pow, "pow", "pow_", "__pow__", *atens("pow"), params="input exponent", name="pow")
def arithmetic(op, name: str, reverse: bool = False):
    """``a op b``: two activations merge (add, subtract, multiply, divide, broadcasting as NumPy does); an
    activation and a number give ``scalar``; a per-channel parameter gives ``layer_scale`` (×) or ``bias_add``
    (+), learnable unless it is a buffer."""
    a, b = op.arg("input"), op.arg("other", "exponent")
    if reverse:
        a, b = b, a
    if op.arg("alpha", default=1) != 1 or op.arg("rounding_mode") is not None:
        op.fail("alpha or rounding_mode")
    if isinstance(a, Act) and isinstance(b, Act):
        if name not in MERGES:
            op.fail("a power of two activations")
        return op.emit(MERGES[name], inputs=[a, b])
    x, other, first = (a, b, False) if isinstance(a, Act) else (b, a, True)
    if isinstance(other, Const) and other.known() is not None:
        other = other.known()
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        scalar_op = REVERSED[name] if first else name
        if scalar_op not in SCALAR_OPS:
            op.fail("a number raised to a tensor power")
        return op.emit("scalar", {"op": scalar_op, "value": number(other)}, inputs=[x])
    if isinstance(other, Const) and name in PER_CHANNEL:
        return per_channel(op, PER_CHANNEL[name], x, other)
    op.fail("an operand that is neither an activation, a number nor a per-channel constant")


def per_channel(op, kind: str, x: Act, const: Const):
    """γ of shape (C, 1, …, 1) against a channels-first map, or (C,) against the last axis of any input."""
    found = per_channel_axis(tuple(const.shape), x.shape)
    if isinstance(found, str):
        op.fail(found)
    axis, channels = found
    fields = spec_fields(kind, axis=axis, learnable=const.learnable)
    arrays = [ConstArray(const, (channels,))]
    return op.emit(kind, fields, inputs=[x], weights=arrays if const.learnable else (),
                   buffers=() if const.learnable else arrays)


@handles(operator.neg, torch.neg, "neg", "__neg__", *atens("neg"), params="input")
def negate(op):
    return op.emit("scalar", {"op": "mul", "value": -1}, inputs=[op.input])


@handles(torch.mean, "mean", *atens("mean"), params="input dim keepdim", kind="global_avgpool")
@handles(torch.amax, "amax", *atens("amax"), params="input dim keepdim", kind="global_maxpool")
def global_reduction(op, kind: str):
    """``x.mean([2, 3])`` over every spatial axis: a global pool (``keepdims: false`` unless ``keepdim``)."""
    x, dims = op.input, op.arg("dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    axes = sorted(op.dim(d) for d in dims)
    if not dims or axes != list(range(1, len(x.shape))):
        op.fail(f"a reduction over axes {dims} (a global pool reduces every spatial axis)")
    return op.emit(kind, spec_fields(kind, keepdims=bool(op.arg("keepdim", default=False))))


# ---- padding --------------------------------------------------------------------------------------------------
@handles(F.pad, *atens("pad"), params="input pad mode value")
@handles(*atens("constant_pad_nd"), params="input pad value")
@handles(nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d,
         params="input padding value")
@handles(nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d, *atens("reflection_pad1d", "reflection_pad2d",
         "reflection_pad3d"), params="input padding", mode="reflect")
@handles(nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d, *atens("replication_pad1d",
         "replication_pad2d", "replication_pad3d"), params="input padding", mode="replicate")
@handles(*[getattr(nn, f"CircularPad{d}d") for d in (1, 2, 3) if hasattr(nn, f"CircularPad{d}d")],
         *atens("_pad_circular"), params="input padding", mode="circular")
def pad(op, mode: str | None = None):
    """torch's pad list runs from the last axis backwards, (before, after) each; ``pad`` takes per-axis pairs
    from the first spatial axis on. Padding the channels, or a negative pad (a crop), has no layer kind."""
    x = op.input
    mode = mode or op.arg("mode", default="constant") or "constant"
    flat = [int(v) for v in op.arg("pad", "padding")]
    pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)][::-1]      # first padded axis first
    spatial = len(x.shape) - 1
    extra, pairs = pairs[: max(0, len(pairs) - spatial)], pairs[max(0, len(pairs) - spatial):]
    if any(p != (0, 0) for p in extra):
        op.fail("it pads the channel or batch axis")
    pairs = [(0, 0)] * (spatial - len(pairs)) + pairs
    if any(v < 0 for p in pairs for v in p):
        op.fail("a negative pad (a crop)")
    if all(a == b for a, b in pairs):
        sides = [a for a, _ in pairs]
        padding = sides[0] if all(s == sides[0] for s in sides) else sides
    else:
        padding = [list(p) for p in pairs]
    value = op.arg("value", default=0)
    value = number(float(value)) if value is not None and mode == "constant" else None
    return op.emit("pad", spec_fields("pad", padding=padding, mode=mode, value=value))

