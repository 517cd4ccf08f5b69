"""Convolution variants from the design notes (issue 4): factorised, channel-mixing, gated, deformable, unshared,
tiled and sub-pixel layers. One registered class per ``type:``; docs/variants.md derives every formula.

Composite kinds (``separable``, ``depthwise_separable``, ``flattened``, ``squeeze_excitation``, ``deformable``)
are one row in the report; their stages are listed in ``details()["sub_rows"]`` (name, type, output_shape,
params, macs, flops — per sample, like every detail), which the table renderer prints indented under the row.

Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes,
ΠN the number of positions. MACs and FLOPs are per sample.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..conventions import flops_per_element
from ..errors import KINDS_LISTING, SpecError, did_you_mean
from ..fields import Axes, Bool, Choice, Field, Int
from ..graph import Node
from ..yamlio import YBool, YMap
from .base import REGISTRY, Layer, per_group_text, register, times
from .conv import Conv


COUNTS = ("params", "macs", "flops")


def _sub_row(name, kind, shape, params, macs, flops, worked=None) -> dict:
    """One stage of a composite kind; ``worked`` holds its formulas with numbers (for `convcalc explain`)."""
    row = {"name": name, "type": kind, "output_shape": list(shape), "params": params, "macs": macs, "flops": flops}
    if worked is not None:
        row["worked"] = worked
    return row


def _conv_stage(name, kind, c_in, c_out, groups, kernel, out_sizes, bias) -> dict:
    """One plain convolution stage (torch.nn.Conv semantics) as a sub-row, with its worked formulas."""
    macs = c_out * prod(out_sizes) * (c_in // groups) * prod(kernel)
    params = c_out * (c_in // groups) * prod(kernel) + (c_out if bias else 0)
    flops = 2 * macs + (c_out * prod(out_sizes) if bias else 0)
    per_group = per_group_text(c_in, groups)
    macs_text = f"{c_out}·{times(out_sizes)}·{per_group}·{times(kernel)}"
    worked = {"params": f"{c_out}·{per_group}·{times(kernel)}" + (f" + {c_out}" if bias else ""),
              "macs": macs_text, "flops": f"2·{macs_text}" + (f" + {c_out}·{times(out_sizes)}" if bias else "")}
    return _sub_row(name, kind, (c_out, *out_sizes), params, macs, flops, worked)


class _Staged:
    """Mixin of the composite kinds: their counts are the sums of their :meth:`stages`."""

    def stages(self, ins) -> list[dict]:
        raise NotImplementedError

    def sub_rows(self, ins) -> list[dict]:
        return [{key: value for key, value in row.items() if key != "worked"} for row in self.stages(ins)]

    def params(self, ins):
        return sum(row["params"] for row in self.stages(ins))

    def macs(self, ins):
        return sum(row["macs"] for row in self.stages(ins))

    def flops(self, ins):
        return sum(row["flops"] for row in self.stages(ins))

    def details(self, ins):
        return {"sub_rows": self.sub_rows(ins)}

    def worked(self, ins):
        out = {}
        stages = self.stages(ins)
        for key in COUNTS:
            parts = []
            for row in stages:
                text = row.get("worked", {}).get(key, str(row[key]))
                if text != "0":
                    parts.append(f"({text})" if " + " in text or " − " in text else text)
            out[key] = " + ".join(parts) or "0"
        if isinstance(self, Conv):
            out["shape"] = Conv.worked(self, ins)["shape"]
        return out


class _ConvVariant(_Staged, Conv):
    """A variant that reads a conv's fields (out, kernel, stride, padding, dilation, bias) and has no groups, so
    that ``compare --as`` can swap it in for a conv. Its overall window is the conv's: same output shape and RF."""

    groups = None

    def group_count(self, c_in):
        return 1


# ---- factorised convolutions ----------------------------------------------------------------------------------
@register
class Separable(_ConvVariant):
    """Spatially separable convolution: a k×1 conv then a 1×k conv (generalised to d axes: one 1-D conv per axis,
    in axis order), each stage applying its own axis's stride, padding and dilation.

    Design notes ("spatially separable": f ∗ K = f ∗ V ∗ H for K = V·H); Szegedy et al. 2016, "Rethinking the
    Inception Architecture" (n×1 followed by 1×n). Stage i maps C_in → M (the first d − 1 stages) or M → C_out
    (the last; one stage only for 1-D input), with M = ``mid`` (default C_out)::

        shape:  stage i turns axis i from N_i into N_out_i (the conv rule), so the result is the conv's shape
        params: Σ_i C_out,i · C_in,i · k_i  (+ C_out,i bias per stage)
        MACs:   Σ_i C_out,i · (N_out_1 ⋯ N_out_i · N_i+1 ⋯ N_d) · C_in,i · k_i
        FLOPs:  2·MACs + bias adds

    Single channel, valid, N×N, m×m: MACs = (N−m+1)·N·m + (N−m+1)²·m; ratio to the standard conv
    1/m + 1/(m(1 − (m−1)/N)) → 2/m. RF: the conv's window (the stages compose to k per axis).
    """

    kind = "separable"
    summary = "spatially separable conv: k×1 then 1×k (one 1-D conv per axis), with `mid` channels between"
    mid = Int(default=None, min=1, doc="channels between the stages (default: out)")
    formulas = {
        "shape": "stage i applies the conv rule on axis i only: N_out,i = floor((N_i + p_b + p_a − k_eff,i)/s_i) + 1",
        "params": "Σ_i C_out,i · C_in,i · k_i (+ C_out,i per stage with bias); stages C_in→M, …, M→C_out",
        "macs": "Σ_i C_out,i · (positions after stage i) · C_in,i · k_i",
        "flops": "2·MACs + Σ_i C_out,i · (positions after stage i) with bias",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def stages(self, ins):
        c_in, c_out, _, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        sizes = ins[0][1:]
        ndim = len(sizes)
        mid = self.mid if self.mid is not None else c_out
        rows, channels = [], c_in
        for axis in range(ndim):
            stage_out = c_out if axis == ndim - 1 else mid
            after = (*out_sizes[:axis + 1], *sizes[axis + 1:])
            k = tuple(kernel[axis] if a == axis else 1 for a in range(ndim))
            rows.append(_conv_stage(f"axis{axis} {'×'.join(map(str, k))}", "conv", channels, stage_out, 1, k, after,
                                    self.bias))
            channels = stage_out
        return rows


class SubLayers(Field):
    """Shape-keeping layers inside a composite kind: a list of kind names or ``{type: …, key: value}`` mappings.

    Normalised to a tuple of ``(kind, fields)`` pairs, each field coerced as in a top-level layer.
    """

    type_name = "list of layers"
    takes_list = True  # under `repeat: N` a list of N names is still one value (convcalc.spec)

    def coerce(self, value, mark, evaluate):
        if not isinstance(value, list):
            self._fail("expects a list of layers", mark, "write e.g. `mid: [batchnorm, relu]`")
        out = []
        for index, item in enumerate(value):
            item_mark = value.mark_of(index) if hasattr(value, "mark_of") else mark
            if isinstance(item, YBool):
                item = item.word
            if isinstance(item, str):
                kind, given = item, {}
            elif isinstance(item, (dict, YMap)) and "type" in item:
                kind, given = item["type"], {k: v for k, v in item.items() if k != "type"}
            else:
                self._fail("entries must be kind names or `{type: …}` mappings", item_mark,
                           "write e.g. `mid: [batchnorm, {type: leaky_relu, negative_slope: 0.1}]`")
            cls = REGISTRY.get(kind)
            if cls is None:
                raise SpecError(f"`{self.name}`: unknown layer type `{kind}`", item_mark,
                                did_you_mean(str(kind), REGISTRY, KINDS_LISTING))
            if cls.arity != (1, 1) or cls.family not in ("activation", "norm", "other"):
                self._fail(f"entry `{kind}` is not a shape-keeping layer", item_mark,
                           "use normalisation, activation, dropout or identity layers here")
            fields = {}
            for key in given:
                if key not in cls.fields:
                    raise SpecError(f"`{kind}` has no key `{key}`", item_mark, did_you_mean(str(key), cls.fields))
            for key, field_obj in cls.fields.items():
                if key in given:
                    fields[key] = field_obj.coerce(given[key], item_mark, evaluate)
                elif field_obj.required:
                    raise SpecError(f"`{kind}` in `{self.name}` is missing `{key}`", item_mark, f"add `{key}:`")
                else:
                    fields[key] = field_obj.default
            out.append((kind, fields))
        return tuple(out)


@register
class DepthwiseSeparable(_ConvVariant):
    """Depthwise separable convolution (Chollet 2017, Xception; Howard et al. 2017, MobileNet): a depthwise k×k
    conv (C_in → C_in·m, ``multiplier`` m), optional shape-keeping ``mid`` layers (e.g. ``[batchnorm, relu]``),
    then a pointwise 1×1 conv (C_in·m → C_out). ``bias`` applies to both convs::

        shape:  the depthwise conv's spatial rule, then C_out channels
        params: C_in·m·Πk + C_out·C_in·m  (+ C_in·m + C_out with bias) + the mid layers' params
        MACs:   C_in·m·ΠN_out·Πk + C_out·ΠN_out·C_in·m
        FLOPs:  2·MACs + bias adds + the mid layers' FLOPs on (C_in·m, *N_out)

    Ratio to the standard conv (m = 1): 1/C_out + 1/Πk (≈ 1/9 for 3×3). RF: the depthwise window.
    """

    kind = "depthwise_separable"
    summary = "depthwise k×k (with multiplier) then pointwise 1×1, optional `mid` layers between"
    multiplier = Int(default=1, min=1, doc="depthwise outputs per input channel")
    mid = SubLayers(default=(), doc="shape-keeping layers between the two convs, e.g. [batchnorm, relu]")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis (depthwise); channels C_out",
        "params": "C_in·m·Πk + C_out·C_in·m (+ C_in·m + C_out bias) + mid layers",
        "macs": "C_in·m·ΠN_out·Πk + C_out·ΠN_out·C_in·m",
        "flops": "2·MACs + bias adds + mid layers' FLOPs",
        "rf": "the depthwise window: r += (k_eff − 1)·j, j *= s per axis (the 1×1 adds nothing)",
    }

    def mid_layers(self, shape) -> list[Layer]:
        layers = []
        for index, (kind, fields) in enumerate(self.mid):
            node = Node(f"{self.name}.mid{index + 1}", kind, dict(fields), [self.name], self.node.mark_of("mid"))
            layers.append(REGISTRY[kind](node))
        for layer in layers:
            if tuple(layer.output_shape([shape])) != tuple(shape):
                self.fail(f"mid layer `{layer.kind}` changes the shape {shape}", "use shape-keeping layers", "mid")
        return layers

    def stages(self, ins):
        c_in, c_out, _, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        wide = c_in * self.multiplier
        rows = [_conv_stage("depthwise", "depthwise", c_in, wide, c_in, kernel, out_sizes, self.bias)]
        shape = (wide, *out_sizes)
        for layer in self.mid_layers(shape):
            rows.append(_sub_row(layer.name.rsplit(".", 1)[-1], layer.kind, shape, layer.params([shape]),
                                 layer.macs([shape]), layer.flops([shape]), layer.worked([shape])))
        rows.append(_conv_stage("pointwise", "pointwise", wide, c_out, 1, (1,) * len(out_sizes), out_sizes,
                                self.bias))
        return rows

    def buffers(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        shape = (ins[0][0] * self.multiplier, *out_sizes)
        return sum(layer.buffers([shape]) for layer in self.mid_layers(shape))


@register
class Flattened(_ConvVariant):
    """Flattened convolution (Jin, Dundar & Culurciello 2014, "Flattened convolutional neural networks for
    feedforward acceleration"): a lateral 1×1 conv C_in → F (F = ``out``), then one per-channel 1-D conv along each
    spatial axis (vertical k_h×1, horizontal 1×k_w for 2-D), each with its axis's stride, padding and dilation.
    Together they are a rank-1 3-D filter (channels × k_h × k_w)::

        params: F·C_in + F·Σ_i k_i  (+ (d + 1)·F bias)     2-D: F(C + k_h + k_w) + 3F
        MACs:   F·ΠN·C_in + Σ_i F·(positions after stage i)·k_i
        FLOPs:  2·MACs + bias adds

    RF: the conv's window.
    """

    kind = "flattened"
    summary = "flattened conv (Jin et al. 2014): lateral 1×1 C→F, then a per-channel 1-D conv along each axis"
    formulas = {
        "shape": "lateral keeps N; stage i applies the conv rule on axis i: "
                 "N_out,i = floor((N_i + p − k_eff,i)/s_i) + 1",
        "params": "F·C_in + F·Σ_i k_i (+ (d + 1)·F bias)",
        "macs": "F·ΠN·C_in + Σ_i F·(positions after stage i)·k_i",
        "flops": "2·MACs + bias adds",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def stages(self, ins):
        c_in, f, _, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        sizes = ins[0][1:]
        ndim = len(sizes)
        rows = [_conv_stage("lateral 1×1", "pointwise", c_in, f, 1, (1,) * ndim, sizes, self.bias)]
        for axis in range(ndim):
            after = (*out_sizes[:axis + 1], *sizes[axis + 1:])
            k = tuple(kernel[axis] if a == axis else 1 for a in range(ndim))
            rows.append(_conv_stage(f"axis{axis} {'×'.join(map(str, k))}", "depthwise", f, f, f, k, after,
                                    self.bias))
        return rows


# ---- grouping and channel mixing --------------------------------------------------------------------------------
@register
class ChannelShuffle(Layer):
    """Channel shuffle (Zhang et al. 2018, ShuffleNet), as ``torch.nn.ChannelShuffle``: view the C channels as
    (g, C/g), transpose to (C/g, g), flatten. A permutation: no params, no MACs, 0 FLOPs (a copy); the shape and
    the RF are unchanged. ``groups`` must divide C."""

    kind = "channel_shuffle"
    summary = "channel shuffle (ShuffleNet): view (g, C/g), transpose, flatten"
    family = "other"
    groups = Int(min=1)
    formulas = {"shape": "(C, *N) → (C, *N), C divisible by g", "params": "0", "macs": "0",
                "flops": "0 (a permutation)", "rf": "unchanged"}

    def output_shape(self, ins):
        channels = ins[0][0]
        if channels % self.groups:
            self.fail(f"the channels ({channels}) are not divisible by groups ({self.groups})",
                      f"choose groups dividing {channels}", "groups")
        return ins[0]


@register
class ChannelSlice(Layer):
    """Channels ``[start, stop)`` of the input (ShuffleNet v2's channel split; ``x[:, start:stop]`` in PyTorch).
    No params, MACs or FLOPs (a view); the RF is unchanged. ``stop`` defaults to C."""

    kind = "channel_slice"
    summary = "channels [start, stop) of the input (ShuffleNet v2 channel split)"
    family = "other"
    start = Int(default=0, min=0)
    stop = Int(default=None, min=1, doc="one past the last channel (default: all)")
    formulas = {"shape": "(C, *N) → (stop − start, *N), 0 ≤ start < stop ≤ C", "params": "0", "macs": "0",
                "flops": "0 (a view)", "rf": "unchanged"}

    def output_shape(self, ins):
        channels = ins[0][0]
        stop = channels if self.stop is None else self.stop
        if stop > channels:
            self.fail(f"stop ({stop}) is past the last channel (the input has {channels})",
                      f"use stop ≤ {channels}", "stop")
        if self.start >= stop:
            self.fail(f"start ({self.start}) must be below stop ({stop})", "give a non-empty range", "start")
        return (stop - self.start, *ins[0][1:])


_ACTIVATIONS = ("relu", "relu6", "leaky_relu", "silu", "swish", "hardswish", "gelu", "tanh", "sigmoid")


@register
class SqueezeExcitation(_Staged, Layer):
    """Squeeze-and-excitation (Hu et al. 2018, SENet): global average pool → FC C→S → activation → FC S→C →
    gate (sigmoid) → multiply the input by the per-channel gate. S = ``squeeze``, or C/r with ``reduction`` r::

        shape:  (C, *N) → (C, *N)
        params: C·S + S + S·C + C = 2C²/r + C/r + C    (without bias: 2C²/r)     C=256, r=16: 8,464
        MACs:   2·C·S = 2C²/r
        FLOPs:  C·ΠN (pool) + 2·C·S + S (FC1) + S·f(act) + 2·S·C + C (FC2) + C·f(gate) + C·ΠN (multiply)

    f(·) per element from convcalc/conventions.py. RF: each output sees its own position, and the whole input
    through the gate (a note, as at a broadcast multiply).
    """

    kind = "squeeze_excitation"
    summary = "squeeze-and-excitation: pool, FC C→C/r, act, FC C/r→C, sigmoid, multiply"
    family = "linear"
    ranks = (1, 2, 3)
    reduction = Int(default=16, min=1, doc="r: S = C / r")
    squeeze = Int(default=None, min=1, doc="S, the squeezed channels (overrides reduction)")
    activation = Choice(_ACTIVATIONS, default="relu")
    gate = Choice(("sigmoid", "hardsigmoid"), default="sigmoid")
    bias = Bool(default=True)
    formulas = {
        "shape": "(C, *N) → (C, *N)",
        "params": "C·S + S + S·C + C (S = C/r; no S, C terms without bias)",
        "macs": "2·C·S",
        "flops": "C·ΠN + (2·C·S + S) + S·f(act) + (2·S·C + C) + C·f(gate) + C·ΠN",
        "rf": "unchanged per position; also sees the whole input through the gate",
    }

    def warnings(self, ins):
        if self.squeeze is not None and "reduction" in self.node.field_marks:
            return [f"both `squeeze: {self.squeeze}` and `reduction: {self.reduction}` are given; "
                    f"`squeeze` decides (S = {self.squeeze}) and `reduction` is not used"]
        return []

    def squeezed(self, shape) -> int:
        self.check_rank(shape)
        channels = shape[0]
        if self.squeeze is not None:
            return self.squeeze
        if channels % self.reduction:
            self.fail(f"the channels ({channels}) are not divisible by the reduction ({self.reduction})",
                      "give `squeeze:` explicitly, or a reduction dividing the channels", "reduction")
        return channels // self.reduction

    def params(self, ins):
        c, s = ins[0][0], self.squeezed(ins[0])
        return 2 * c * s + ((s + c) if self.bias else 0)

    def macs(self, ins):
        return 2 * ins[0][0] * self.squeezed(ins[0])

    def stages(self, ins):
        shape = ins[0]
        c, s, positions = shape[0], self.squeezed(shape), prod(shape[1:])
        b = 1 if self.bias else 0
        ones = [1] * (len(shape) - 1)
        return [
            _sub_row("squeeze", "global_avgpool", (c, *ones), 0, 0, c * positions * flops_per_element("avgpool"),
                     {"flops": f"{c}·{positions}·{flops_per_element('avgpool')}"}),
            _sub_row("fc1", "linear", (s, *ones), c * s + b * s, c * s, 2 * c * s + b * s,
                     {"params": f"{c}·{s}" + (f" + {s}" if b else ""), "macs": f"{c}·{s}",
                      "flops": f"2·{c}·{s}" + (f" + {s}" if b else "")}),
            _sub_row(self.activation, self.activation, (s, *ones), 0, 0, s * flops_per_element(_op(self.activation)),
                     {"flops": f"{s}·{flops_per_element(_op(self.activation))}"}),
            _sub_row("fc2", "linear", (c, *ones), s * c + b * c, s * c, 2 * s * c + b * c,
                     {"params": f"{s}·{c}" + (f" + {c}" if b else ""), "macs": f"{s}·{c}",
                      "flops": f"2·{s}·{c}" + (f" + {c}" if b else "")}),
            _sub_row(self.gate, self.gate, (c, *ones), 0, 0, c * flops_per_element(self.gate),
                     {"flops": f"{c}·{flops_per_element(self.gate)}"}),
            _sub_row("scale", "multiply", shape, 0, 0, c * positions * flops_per_element("multiply"),
                     {"flops": f"{c}·{positions}·{flops_per_element('multiply')}"}),
        ]

    def details(self, ins):
        return {"squeeze_channels": self.squeezed(ins[0]), "sub_rows": self.sub_rows(ins)}

    def receptive_field(self, rfs, ins):
        rf = rfs[0]
        return type(rf)(rf.size, rf.jump, rf.center, rf.position_dependent,
                        rf.notes + (f"{self.name}: also sees its whole input through the squeeze-excitation gate",))


def _op(activation: str) -> str:
    return "silu" if activation == "swish" else activation


# ---- deformable convolution -------------------------------------------------------------------------------------
@register
class Deformable(_Staged, Conv):
    """Deformable convolution v1 (Dai et al. 2017) and v2 / modulated (Zhu et al. 2019), as torchvision's
    ``ops.DeformConv2d`` fed by an offset conv, generalised to d axes. Three parts:

    * offset branch: a conv C_in → d·G·Πk offsets (+ G·Πk mask logits when ``modulated``), with the same kernel,
      stride, padding and dilation, and a bias;
    * sampling: each of C_in channels is read at Πk displaced points per output position by d-linear
      interpolation, 2^d MACs per sampled value (4 for 2-D) + 1 mask multiply in v2;
    * main conv: as a standard conv (``groups`` allowed)::

        params: C_out·C_in/g·Πk (+ C_out) + C_off·C_in·Πk + C_off,   C_off = (d + m)·G·Πk, m = 1 if modulated
        MACs:   C_out·ΠN_out·C_in/g·Πk + C_off·ΠN_out·C_in·Πk + (2^d + m)·C_in·Πk·ΠN_out
        FLOPs:  2·(main + offset MACs) + bias adds + 2·sampling MACs + 3·G·Πk·ΠN_out (mask sigmoid, v2)

    Worked example (3×3, 64→64, 32×32, p1, G=1, bias, v1): params 36,928 + 10,386 = 47,314; MACs main 37,748,736
    + offset 10,616,832 + sampling 2,359,296. RF: the nominal (zero-offset) window, with a note: learned offsets
    move each output's samples with the data.
    """

    kind = "deformable"
    summary = "deformable conv v1/v2 (modulated): offset conv, bilinear sampling, main conv"
    offset_groups = Int(default=1, min=1, doc="G: offset groups (channels sharing one offset field)")
    modulated = Bool(default=False, doc="v2: a learned mask per sample")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis; channels C_out",
        "params": "C_out·C_in/g·Πk (+ C_out) + C_off·C_in·Πk + C_off, C_off = (d + m)·G·Πk",
        "macs": "main C_out·ΠN_out·C_in/g·Πk + offset C_off·ΠN_out·C_in·Πk + sampling (2^d + m)·C_in·Πk·ΠN_out",
        "flops": "2·(main + offset MACs) + bias adds + 2·sampling MACs + 3·G·Πk·ΠN_out (v2 sigmoid)",
        "rf": "the zero-offset conv window (r += (k_eff − 1)·j, j *= s); learned offsets move it with the data",
    }

    def stages(self, ins):
        c_in, c_out, groups, kernel, _, _, _, _, out_sizes = self.geometry(ins[0])
        g = self.offset_groups
        if c_in % g:
            self.fail(f"the input channels ({c_in}) are not divisible by offset_groups ({g})",
                      f"choose offset_groups dividing {c_in}", "offset_groups")
        ndim, taps, positions = len(out_sizes), prod(kernel), prod(out_sizes)
        m = 1 if self.modulated else 0
        c_off = (ndim + m) * g * taps
        sampling = (2 ** ndim + m) * c_in * taps * positions
        per_sample, sigmoid = flops_per_element("deformable_sampling"), flops_per_element("sigmoid")
        sample_flops = per_sample * sampling + sigmoid * m * g * taps * positions
        per_value = f"({2 ** ndim} + 1)" if m else f"{2 ** ndim}"
        sample_macs = f"{per_value}·{c_in}·{times(kernel)}·{times(out_sizes)}"
        sample_worked = {"macs": sample_macs, "flops": f"{per_sample}·{sample_macs}" + (
            f" + {sigmoid}·{g}·{times(kernel)}·{times(out_sizes)}" if m else "")}
        return [_conv_stage("offset", "conv", c_in, c_off, 1, kernel, out_sizes, True),
                _sub_row("sampling", "bilinear" if ndim == 2 else f"{ndim}-linear", (c_in * taps, *out_sizes), 0,
                         sampling, sample_flops, sample_worked),
                _conv_stage("main", "conv", c_in, c_out, groups, kernel, out_sizes, self.bias)]

    def details(self, ins):
        rows = self.sub_rows(ins)
        return {"offset_channels": rows[0]["output_shape"][0], "params_main": rows[2]["params"],
                "params_offset": rows[0]["params"], "macs_main": rows[2]["macs"], "macs_offset": rows[0]["macs"],
                "macs_sampling": rows[1]["macs"], "sub_rows": rows}

    def receptive_field(self, rfs, ins):
        # Not flagged position-dependent: the zero-offset window is exact for the sampling grid; the learned
        # offsets move it with the data, which the note (and docs/variants.md) states.
        rf = super().receptive_field(rfs, ins)
        return type(rf)(rf.size, rf.jump, rf.center, rf.position_dependent,
                        rf.notes + (f"{self.name}: deformable offsets are learned; the field shown is the "
                                    f"zero-offset sampling grid",))


# ---- unshared and tiled -----------------------------------------------------------------------------------------
class BiasMode(Field):
    """``true`` / ``element`` (a bias per output element), ``channel`` (one per output channel), ``false``.
    Normalised to the words ``element``, ``channel`` or ``none``."""

    type_name = "bias mode"

    def coerce(self, value, mark, evaluate):
        if isinstance(value, YBool):
            value = bool(value) if value.word in ("true", "false") else value.word
        if value is True or value == "element":
            return "element"
        if value is False or value == "none":
            return "none"
        if value == "channel":
            return "channel"
        self._fail(f"is {self._describe(value)}", mark, "write true (per output element), channel, or false")


@register
class LocallyConnected(Conv):
    """Locally connected (unshared) convolution (Taigman et al. 2014, DeepFace; Goodfellow, Bengio & Courville
    2016, §9.5): the conv's window, but every output position has its own kernel
    ``Z[i, j, k] = Σ V[l, j+m−1, k+n−1] · W[i, j, k, l, m, n]``, as Keras' ``LocallyConnected2D``::

        shape:  the conv rule
        params: ΠN_out · C_out · C_in · Πk + bias: C_out·ΠN_out (``bias: true``), C_out (``channel``), 0
        MACs:   C_out · ΠN_out · C_in · Πk (as a conv)
        FLOPs:  2·MACs + C_out·ΠN_out with a bias
    """

    kind = "locally_connected"
    summary = "locally connected (unshared) conv: one kernel per output position (DeepFace)"
    groups = None
    bias = BiasMode(default="element")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis; channels C_out",
        "params": "ΠN_out·C_out·C_in·Πk + (C_out·ΠN_out | C_out | 0) bias",
        "macs": "C_out·ΠN_out·C_in·Πk",
        "flops": "2·MACs + C_out·ΠN_out (bias)",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def group_count(self, c_in):
        return 1

    def kernels(self, out_sizes) -> int:
        """How many distinct kernels (one per output position)."""
        return prod(out_sizes)

    def bias_count(self, c_out, out_sizes) -> int:
        return {"element": c_out * prod(out_sizes), "channel": c_out, "none": 0}[self.bias]

    def params(self, ins):
        c_in, c_out, groups, kernel, *_, out_sizes = self.geometry(ins[0])
        return self.kernels(out_sizes) * c_out * (c_in // groups) * prod(kernel) + self.bias_count(c_out, out_sizes)

    def flops(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        return 2 * self.macs(ins) + (self.out * prod(out_sizes) if self.bias != "none" else 0)

    def details(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        return {"kernels": self.kernels(out_sizes)}

    def worked(self, ins):
        c_in, c_out, groups, kernel, *_, out_sizes = self.geometry(ins[0])
        kernels = self.kernels(out_sizes)
        bias = self.bias_count(c_out, out_sizes)
        g = per_group_text(c_in, groups)
        macs = f"{c_out}·{times(out_sizes)}·{g}·{times(kernel)}"
        return {"params": f"{kernels}·{c_out}·{g}·{times(kernel)}" + (f" + {bias}" if bias else ""),
                "macs": macs,
                "flops": f"2·{macs}" + (f" + {c_out}·{times(out_sizes)}" if self.bias != "none" else "")}


@register
class Tiled(LocallyConnected):
    """Tiled convolution (Goodfellow, Bengio & Courville 2016, §9.5; Le et al. 2010): t_i distinct kernels per axis
    (``tile``), Πt kernels cycled over the output positions (position o uses kernel o mod t per axis), so
    neighbours within a tile differ and tiles share. A bias per kernel per output channel when ``bias``::

        kernels = Π_i min(t_i, N_out,i)
        params  = kernels · C_out · C_in/g · Πk (+ kernels · C_out)
        MACs    = C_out · ΠN_out · C_in/g · Πk (as a conv);  FLOPs = 2·MACs + C_out·ΠN_out (bias)

    t = 1 gives the conv's params; t = N_out gives the locally connected params (per-element bias).
    """

    kind = "tiled"
    summary = "tiled conv: t kernels per axis cycled over the output positions"
    groups = Int(default=1, min=1)
    bias = Bool(default=True)
    tile = Axes(doc="t: distinct kernels per axis")
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis; channels C_out",
        "params": "Π_i min(t_i, N_out,i) · C_out·C_in/g·Πk (+ that many · C_out bias)",
        "macs": "C_out·ΠN_out·C_in/g·Πk",
        "flops": "2·MACs + C_out·ΠN_out (bias)",
        "rf": "as the conv: r += (k_eff − 1)·j, j *= s per axis",
    }

    def group_count(self, c_in):
        return self.groups

    def kernels(self, out_sizes):
        tiles = self.per_axis("tile", len(out_sizes))
        return prod(min(t, n) for t, n in zip(tiles, out_sizes))

    def warnings(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        tiles = self.per_axis("tile", len(out_sizes))
        return [f"tile {t} on spatial axis {axis} exceeds its {n} output positions: {n} distinct kernels there"
                for axis, (t, n) in enumerate(zip(tiles, out_sizes)) if t > n]

    def bias_count(self, c_out, out_sizes):
        return self.kernels(out_sizes) * c_out if self.bias else 0

    def flops(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        return 2 * self.macs(ins) + (self.out * prod(out_sizes) if self.bias else 0)

    def worked(self, ins):
        out = super().worked(ins)
        if not self.bias:
            out["flops"] = out["flops"].split(" + ")[0]
        return out


# ---- sub-pixel rearrangement -----------------------------------------------------------------------------------
@register
class PixelShuffle(Layer):
    """Pixel shuffle (Shi et al. 2016, ESPCN), as ``torch.nn.PixelShuffle`` generalised to d axes:
    (C·r^d, *N) → (C, *N·r). A rearrangement: no params, MACs or FLOPs. RF: each output reads one input; the jump
    divides by r."""

    kind = "pixel_shuffle"
    summary = "pixel shuffle (sub-pixel upsampling): (C·r^d, *N) → (C, *N·r)"
    family = "resample"
    ranks = (1, 2, 3)
    factor = Int(min=1, doc="r: upscale factor per axis")
    formulas = {"shape": "(C·r^d, *N) → (C, N_1·r, …)", "params": "0", "macs": "0", "flops": "0 (a rearrangement)",
                "rf": "r unchanged, j /= r, each output reads one input"}

    def output_shape(self, ins):
        self.check_rank(ins[0])
        channels, sizes = ins[0][0], ins[0][1:]
        block = self.factor ** len(sizes)
        if channels % block:
            self.fail(f"the channels ({channels}) are not divisible by r^d = {self.factor}^{len(sizes)} = {block}",
                      f"give C a multiple of {block}", "factor")
        return (channels // block, *(n * self.factor for n in sizes))

    def receptive_field(self, rfs, ins):
        ndim = len(ins[0]) - 1
        return rfs[0].step([0] * ndim, [Fraction(1, self.factor)] * ndim, [0] * ndim)


@register
class PixelUnshuffle(Layer):
    """Pixel unshuffle, as ``torch.nn.PixelUnshuffle`` generalised to d axes: (C, *N) → (C·r^d, *N/r), each N
    divisible by r. A rearrangement: no params, MACs or FLOPs. RF: position 0 of the output channels together
    reads an r×…×r block, so it is a window of r with stride r."""

    kind = "pixel_unshuffle"
    summary = "pixel unshuffle (space to depth): (C, *N) → (C·r^d, *N/r)"
    family = "resample"
    ranks = (1, 2, 3)
    factor = Int(min=1, doc="r: downscale factor per axis")
    formulas = {"shape": "(C, *N) → (C·r^d, N_1/r, …), N divisible by r", "params": "0", "macs": "0",
                "flops": "0 (a rearrangement)", "rf": "window r, stride r per axis"}

    def output_shape(self, ins):
        self.check_rank(ins[0])
        channels, sizes = ins[0][0], ins[0][1:]
        for axis, n in enumerate(sizes):
            if n % self.factor:
                self.fail(f"spatial axis {axis} ({n}) is not divisible by the factor ({self.factor})",
                          f"use a factor dividing {n}, or pad the input", "factor")
        return (channels * self.factor ** len(sizes), *(n // self.factor for n in sizes))

    def receptive_field(self, rfs, ins):
        self.output_shape(ins)
        ndim = len(ins[0]) - 1
        return rfs[0].window((self.factor,) * ndim, (self.factor,) * ndim, (0,) * ndim)
