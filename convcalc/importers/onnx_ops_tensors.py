"""Handlers of the ONNX op table (:mod:`convcalc.importers.onnx_ops`) for tensors: reshapes, channel slices and
concatenation, arithmetic, padding and resampling. Reshapes are written from the inferred output shape, as the
PyTorch frontend writes them from the traced one (:mod:`convcalc.importers.torch_ops_tensors`).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .fields import compact, number, per_channel_axis, reshape_layer, spec_fields
from .onnx_map import Act, Const, ConstArray
from .onnx_ops import f32, fixed, handles, near, padding_field, pairs_of, spatial


# ---- reshapes -------------------------------------------------------------------------------------------------
@handles("Flatten", "Reshape", "Squeeze", "Unsqueeze")
def reshape(op):
    """Any reshape that keeps the batch axis: ``flatten`` when it merges a run of axes, else ``reshape`` to the
    inferred per-sample shape (none when unchanged)."""
    x = op.input
    if op.out_batch() != op.batch:
        op.fail("it reshapes across the batch axis")
    layer = reshape_layer(x.shape, op.out_shape())
    return x if layer is None else op.emit(*layer)


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
        starts, ends = op.ints(1), op.ints(2)
        axes = op.ints(3, list(range(len(starts))))
        steps = op.ints(4, [1] * len(starts))
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
#: the operand that leaves x as it is
NEUTRAL = {"Add": 0, "Sub": 0, "Mul": 1, "Div": 1, "Pow": 1}
#: per-channel constants that are layers of their own: γ·x (layer scale) and x + β (bias add)
PER_CHANNEL = {"Mul": "layer_scale", "Add": "bias_add"}


@handles("Add", "Sub", "Mul", "Div", "Pow")
def arithmetic(op):
    """``a op b``: two activations merge (NumPy broadcasting); an activation and a number give ``scalar``; a
    per-channel constant gives ``layer_scale`` (×) or ``bias_add`` (+); a constant bias added to a MatMul's
    linear becomes its bias."""
    a, b = op.arg(0), op.arg(1)
    if isinstance(a, Act) and isinstance(b, Act):
        gated = self_gate(op, a, b) if op.type == "Mul" else None
        if gated is not None:
            return gated
        if op.type not in MERGES:
            op.fail("a power of two activations")
        return op.emit(MERGES[op.type], inputs=[a, b])
    x, other, first = (a, b, False) if isinstance(a, Act) else (b, a, True)
    if not isinstance(other, Const):
        op.fail("an operand that is neither an activation nor a constant")
    if not first and fixed(other, NEUTRAL.get(op.type)) and op.out_shape() == x.shape:
        return x  # x·1, x + 0 with a constant the exporter wrote (a norm's missing γ and β): no layer
    if other.known() is not None:
        scaled = scaled_input(op, x, other.known()) if op.type == "Div" and not first else None
        if scaled is not None:
            return scaled
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


#: x · f(x) as one activation: the chain of kinds f is made of (last first) → the activation
SELF_GATES = {("sigmoid",): "silu", ("tanh", "softplus"): "mish"}


def self_gate(op, a, b):
    """``x · sigmoid(x)`` is SiLU and ``x · tanh(softplus(x))`` is Mish, as exporters write ``nn.SiLU`` and
    ``nn.Mish`` (their chains used only here)."""
    for x, gate in ((a, b), (b, a)):
        chain, act = [], gate
        while hasattr(act, "kind") and len(act.inputs) == 1 and not act.fields and op.consumers(act) == 1 \
                and len(chain) < 2:
            chain.append(act)
            act = act.inputs[0]
            kind = SELF_GATES.get(tuple(r.kind for r in chain))
            if kind and act is x:
                for record in chain:
                    op.absorb(record)
                return op.emit(kind, inputs=[x], meta={"origin": " → ".join(r.call.label for r in reversed(chain))
                                                        + f" → Mul node '{op.node.name}'"})
    return None


#: f(β·x) / β as one layer: (the kind of f, the kind of the β·x before it) → f's field that takes β
SCALED_INPUTS = {("softplus", "scalar"): "beta"}


def scaled_input(op, x, beta):
    """``softplus(β·x) / β`` is torch's Softplus with its β, as the TorchScript exporter writes ``nn.Softplus(β)``
    (Mul, Softplus, Div; the chain used only here): the softplus layer with ``beta``, the Mul and Div absorbed."""
    beta = f32(beta) if isinstance(beta, float) else beta
    scale = x.inputs[0] if hasattr(x, "kind") and not x.fields and len(x.inputs) == 1 else None
    field = SCALED_INPUTS.get((x.kind, getattr(scale, "kind", None))) if scale is not None else None
    if field is None or scale.fields != {"op": "mul", "value": beta} or op.consumers(x) != 1 \
            or op.consumers(scale) != 1:
        return None
    op.absorb(scale)
    x.inputs = list(scale.inputs)
    x.fields = spec_fields(x.kind, **{field: beta})
    x.tensor = op.node.output[0]
    return x


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
    found = per_channel_axis(const.shape, x.shape)
    if isinstance(found, str):
        op.fail(found)
    axis, channels = found
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
        pads = op.ints(1)
        value = op.values(2)
        value = 0 if value is None or value.size == 0 else value.reshape(-1)[0].item()
        axes = [a % rank for a in op.ints(3, list(range(rank)))]
    pairs = dict(zip(axes, pairs_of(pads, len(axes))))
    if any(pairs.get(axis, (0, 0)) != (0, 0) for axis in (0, 1)):
        op.fail("it pads the batch or channel axis")
    spatial_pairs = [pairs.get(axis, (0, 0)) for axis in range(2, rank)]
    if mode != "constant" and any(v < 0 for p in spatial_pairs for v in p):
        op.fail("a negative pad (a crop) in a mode other than constant")
    value = number(f32(value)) if mode == "constant" else None
    return op.emit("pad", spec_fields("pad", padding=padding_field(spatial_pairs), mode=PAD_MODES[mode], value=value))


#: ONNX Resize's interpolating modes → the upsample mode per spatial rank (cubic: 2-D only)
INTERPOLATING = {"linear": {1: "linear", 2: "bilinear", 3: "trilinear"}, "cubic": {2: "bicubic"}}


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
    scales = None if scales is None else [float(s) for s in np.asarray(scales).reshape(-1)] or None
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
    elif mode in INTERPOLATING:
        if coordinates not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            op.fail(f"{mode} with {coordinates} coordinates")
        if mode == "cubic" and (rank not in INTERPOLATING[mode] or not near(op.attr("cubic_coeff_a", -0.75), -0.75)
                                or op.attr("exclude_outside", 0)):
            op.fail("a cubic resize other than torch's bicubic (2-D, a = −0.75)")
        fields = {"mode": INTERPOLATING[mode].get(rank, "bicubic"),
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


#: the kinds that a Where(x > threshold, x, f(x)) completes with its threshold
THRESHOLDED = {"softplus": "threshold"}


@handles("Where")
def where(op):
    """``Where(x > t, x, softplus(x))`` is torch's Softplus with its threshold t, as the dynamo exporter writes
    ``nn.Softplus``: the softplus layer, and the comparison is absorbed."""
    x, chosen = op.arg(1), op.arg(2)
    producer = op.mapper.producers.get(op.node.input[0])
    field = THRESHOLDED.get(getattr(chosen, "kind", None))
    if producer is None or field is None or not isinstance(x, Act) or chosen.inputs != [x] \
            or op.consumers(chosen) != 1:
        op.fail("a selection that is not a thresholded activation")
    compare, _ = producer
    threshold = op.mapper.resolve(compare.input[1]) if len(compare.input) > 1 else None
    if compare.op_type != "Greater" or op.mapper.resolve(compare.input[0]) is not x or \
            not isinstance(threshold, Const) or threshold.known() is None:
        op.fail("a selection that is not a thresholded activation")
    op.absorb(op.mapper.resolve(op.node.input[0]))
    chosen.fields = spec_fields(chosen.kind, **{**chosen.fields, field: f32(threshold.known())})
    chosen.tensor = op.node.output[0]
    return chosen
