"""Factorised convolutions: spatially separable (k×1 then 1×k), depthwise separable
(depthwise k×k then pointwise 1×1) and flattened (lateral 1×1, then one 1-D conv per axis).

Each is a composite kind (:mod:`convcalc.layers.composite`) that reads a conv's fields, so ``convcalc compare``
offers it as a design of the same mapping; its closed-form ratio to the standard conv lives next to it.
Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..spec.fields import Int
from ..spec.graph import Node
from . import peers, saved
from .base import REGISTRY, Example, Layer, own, register
from .composite import ConvVariant, Stage, SubLayers
from .conv import Conv, ConvGeometry, conv_counts
from .elementwise import Elementwise
from .formula import NUMERIC
from .lowering import Lowered

AFTER = "N_i: the sizes after stage i (axes up to i at their output size, the rest at their input size)"


def _after(sizes, out_sizes, axis):
    """The sizes after the 1-D stage along ``axis``: axes up to it reduced, the rest as they came in."""
    return (*out_sizes[:axis + 1], *sizes[axis + 1:])


def _axis_kernel(kernel, axis):
    return tuple(kernel[axis] if a == axis else 1 for a in range(len(kernel)))


def _axis_stage(g, axis: int, c_in: int, c_out: int, groups: int) -> ConvGeometry:
    """The geometry of the 1-D stage along ``axis`` (its kernel, stride, dilation and padding on that axis; 1, 1, 1
    and none on the others), reading the sizes after the stages before it."""
    def on_axis(values, other):
        return tuple(v if a == axis else other for a, v in enumerate(values))

    before = g.in_sizes if axis == 0 else _after(g.in_sizes, g.out_sizes, axis - 1)
    return ConvGeometry(c_in, c_out, groups, _axis_kernel(g.kernel, axis), on_axis(g.stride, 1),
                        on_axis(g.dilation, 1), on_axis(g.k_eff, 1), on_axis(g.pads, (0, 0)), tuple(before),
                        tuple(_after(g.in_sizes, g.out_sizes, axis)))


def _pointwise_stage(c_in: int, c_out: int, sizes) -> ConvGeometry:
    """A 1×1 conv, stride 1, no padding, on ``sizes``."""
    ones = (1,) * len(sizes)
    return ConvGeometry(c_in, c_out, 1, ones, ones, ones, ones, ((0, 0),) * len(sizes), tuple(sizes), tuple(sizes))


def _conv_part(layer, stage: str, g: ConvGeometry) -> tuple:
    """One stage of ``layer`` as the ``torch.nn.Conv{1,2,3}d`` a user writes for it: a ``conv`` layer with the
    stage's geometry (its padding as explicit per-axis pairs, its groups) and the layer's ``bias``, with its input
    shape."""
    fields = {"out": g.c_out, "kernel": tuple(g.kernel), "stride": tuple(g.stride), "dilation": tuple(g.dilation),
              "padding": tuple(g.pads), "groups": g.groups, "bias": layer.bias}
    return _part(layer, "conv", stage, fields), [(g.c_in, *g.in_sizes)]


def _part(layer, kind: str, stage: str, fields: dict) -> Layer:
    cls = REGISTRY[kind]
    defaults = {key: field.default for key, field in cls.fields.items()}
    return cls(Node(f"{layer.name}.{stage}", kind, {**defaults, **fields}, [], layer.node.mark))


def _conv_parts(layer, ins) -> list:
    """The modules torch runs a chain of conv stages with: one conv per stage of its ``conv_lowering``."""
    return [_conv_part(layer, lowered.stage, lowered.geometry) for lowered in layer.conv_lowering(ins)]


#: the peers count a factorised conv as the sequence of modules it is written with in torch, each by its kind's rule
#: (``torch_parts``; tests/torch_build.py builds that nn.Sequential, tests/cost/test_peers_torch.py runs the tools)
def _composed(what: str) -> dict:
    return peers.composed(lambda layer, ins: layer.torch_parts(ins), f"{what}, each by its kind's rule")


@register
class Separable(ConvVariant):
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
    example = Example((2, 9, 9), {"out": 2, "kernel": 3, "stride": 2, "padding": "same", "mid": 3})
    mid = Int(default=None, min=1, doc="channels between the stages (default: out)")

    def torch_parts(self, ins) -> list:
        """The modules a user's torch model runs it with, as layers with their inputs: one ``Conv{d}d`` per axis,
        in axis order (k×1 then 1×k), each with its axis's kernel, stride, dilation and padding."""
        return _conv_parts(self, ins)

    peer_rules = _composed("its 1-D conv per axis (k×1 then 1×k)")

    def saved_for_backward(self, ins):
        """Every 1-D conv stage saves its input: the layer's input, then each stage's output but the last."""
        return _stage_inputs(self.stages(ins))

    def stages(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        ndim = len(g.in_sizes)
        mid = self.mid if self.mid is not None else g.c_out
        rows, channels, name_in = [], g.c_in, "C_in"
        for axis in range(ndim):
            last = axis == ndim - 1
            stage_out, name_out = (g.c_out, "C_out") if last else (mid, "M")
            after = _after(g.in_sizes, g.out_sizes, axis)
            k = _axis_kernel(g.kernel, axis)
            counts = conv_counts(q, q(name_out, stage_out), q(name_in, channels), q(f"k_{axis}", g.kernel[axis]),
                                 q.prod(f"N_{axis}", after), self.bias, macs_name=None)
            rows.append(Stage(f"axis{axis} {'×'.join(map(str, k))}", "conv", (stage_out, *after), counts, AFTER))
            channels, name_in = stage_out, "M"
        return rows

    def conv_lowering(self, ins):
        """One 1-D conv per axis (C_in → M → … → C_out), each its own algorithm question."""
        g = self.geometry(ins[0])
        ndim = len(g.in_sizes)
        mid = self.mid if self.mid is not None else g.c_out
        channels = [g.c_in] + [mid] * (ndim - 1) + [g.c_out]
        return tuple(Lowered(f"axis{axis}", _axis_stage(g, axis, channels[axis], channels[axis + 1], 1))
                     for axis in range(ndim))

    def erf_rule(self, ins, out, index):
        """The conv's window per axis; channel fan-out M per stage but the last (C_out)."""
        from . import influence

        g = self.geometry(ins[index])
        mid = self.mid if self.mid is not None else g.c_out
        readers = self.window_readers(ins[index])
        return influence.ERFRule(Fraction(mid ** (len(g.kernel) - 1) * g.c_out), readers)


@register
class DepthwiseSeparable(ConvVariant):
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
    example = Example((3, 7, 7), {"out": 4, "kernel": 3, "padding": 1, "multiplier": 2,
                                  "mid": ["batchnorm", "relu"]})
    rf_rule = "the depthwise window: r += (k_eff − 1)·j, j *= s per axis (the 1×1 adds nothing)"
    multiplier = Int(default=1, min=1, doc="depthwise outputs per input channel")
    mid = SubLayers(default=(), doc="shape-keeping layers between the two convs, e.g. [batchnorm, relu]")

    def mid_layers(self, shape) -> list[Layer]:
        layers = []
        for index, (kind, fields) in enumerate(self.mid):
            node = Node(f"{self.name}.mid{index + 1}", kind, dict(fields), [self.name], self.node.mark_of("mid"))
            layers.append(REGISTRY[kind](node))
        for layer in layers:
            if tuple(layer.output_shape([shape])) != tuple(shape):
                self.fail(f"mid layer `{layer.kind}` changes the shape {shape}", "use shape-keeping layers", "mid")
        return layers

    def torch_parts(self, ins) -> list:
        """The modules a user's torch model runs it with, as layers with their inputs: the depthwise conv
        (``groups`` = C_in, C_in·m outputs), each ``mid`` layer on its output, the pointwise 1×1 conv; both convs
        with the layer's ``bias``."""
        depthwise, pointwise = _conv_parts(self, ins)
        shape = pointwise[1][0]
        return [depthwise, *((layer, [shape]) for layer in self.mid_layers(shape)), pointwise]

    peer_rules = _composed("its depthwise conv, mid layers and pointwise conv")

    def saved_for_backward(self, ins):
        """The depthwise conv saves the input; each mid layer what its own kind saves, on the depthwise output
        (its own tensors named after it, so that a ReLU's output the pointwise conv saves is counted once); the
        pointwise conv its input, the last mid layer's output."""
        g = self.geometry(ins[0])
        shape = (g.c_in * self.multiplier, *g.out_sizes)
        size = saved.elements(shape)
        items, previous = [saved.input_(what="input (depthwise)")], "depthwise"
        for layer in self.mid_layers(shape):
            answer = own(type(layer), "saved_for_backward")
            name = layer.name.rsplit(".", 1)[-1]
            if answer is None:
                self.fail(f"mid layer `{layer.kind}` does not say what it saves for backward",
                          "give it a saved_for_backward answer (docs/training.md)", "mid")
            result = answer(layer, [shape])
            for item in result.saved:
                if item.tensor == "in0":
                    items.append(saved.own(previous, f"{previous} output ({name}'s input)", size))
                elif item.tensor == "out":
                    items.append(saved.own(name, f"{name} output", size))
                else:
                    items.append(saved.own(f"{name}.{item.tensor}", f"{name}: {item.what}", item.elements,
                                           item.dtype, item.per_sample))
            previous = previous if result.alias else name
        items.append(saved.own(previous, f"{previous} output (pointwise's input)", size))
        return saved.SavedTensors(items)

    def stages(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        wide = g.c_in * self.multiplier
        positions = q.prod("N_out", g.out_sizes)
        shape = (wide, *g.out_sizes)
        rows = [Stage("depthwise", "depthwise", shape,
                      conv_counts(q, q("C_in·m", wide), 1, q.prod("k", g.kernel), positions, self.bias, None))]
        for layer in self.mid_layers(shape):
            rows.append(Stage(layer.name.rsplit(".", 1)[-1], layer.kind, shape, layer.counts([shape], q),
                              f"{layer.kind} on the depthwise output, C = C_in·m"))
        rows.append(Stage("pointwise", "pointwise", (g.c_out, *g.out_sizes),
                          conv_counts(q, q("C_out", g.c_out), q("C_in·m", wide), 1, positions, self.bias, None)))
        return rows

    def conv_lowering(self, ins):
        """The depthwise conv (C_in groups of one channel, m outputs each) and the pointwise conv; the mid layers
        are no convolution."""
        g = self.geometry(ins[0])
        wide = g.c_in * self.multiplier
        depthwise = ConvGeometry(g.c_in, wide, g.c_in, g.kernel, g.stride, g.dilation, g.k_eff, g.pads, g.in_sizes,
                                 g.out_sizes)
        return (Lowered("depthwise", depthwise), Lowered("pointwise", _pointwise_stage(wide, g.c_out, g.out_sizes)))

    def erf_rule(self, ins, out, index):
        """The depthwise window per axis; fan-out m per channel, then C_out; the mid layers as the identity."""
        from . import influence

        g = self.geometry(ins[index])
        readers = self.window_readers(ins[index])
        odd = [kind for kind, _ in self.mid if not issubclass(REGISTRY[kind], Elementwise)]
        note = f"its mid layers {', '.join(odd)} are taken as the identity" if odd else ""
        return influence.ERFRule(Fraction(self.multiplier * g.c_out), readers, note=note, approximate=bool(odd))


@register
class Flattened(ConvVariant):
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
    example = Example((2, 9, 9), {"out": 2, "kernel": 3, "stride": [2, 1], "padding": [1, 0]})
    # the lateral 1×1 fans each input channel out to F, then every stage is per channel: the conv's rule, C_out = F
    erf_rule = Conv.erf_rule

    def torch_parts(self, ins) -> list:
        """The modules a user's torch model runs it with, as layers with their inputs: the lateral 1×1 conv, then
        one per-channel (``groups`` = F) 1-D conv per axis, each with its axis's kernel, stride, dilation and
        padding."""
        return _conv_parts(self, ins)

    peer_rules = _composed("its lateral 1×1 conv, then its per-channel 1-D conv per axis")

    def conv_lowering(self, ins):
        """The lateral 1×1 conv (C_in → F), then one per-channel (F groups) 1-D conv per axis."""
        g = self.geometry(ins[0])
        return ((Lowered("lateral", _pointwise_stage(g.c_in, g.c_out, g.in_sizes)),)
                + tuple(Lowered(f"axis{axis}", _axis_stage(g, axis, g.c_out, g.c_out, g.c_out))
                        for axis in range(len(g.in_sizes))))

    saved_for_backward = Separable.saved_for_backward  # conv stages: each saves its input

    def stages(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        ndim = len(g.in_sizes)
        f = q("F", g.c_out)
        rows = [Stage("lateral 1×1", "pointwise", (g.c_out, *g.in_sizes),
                      conv_counts(q, f, q("C_in", g.c_in), 1, q.prod("N", g.in_sizes), self.bias, None))]
        for axis in range(ndim):
            after = _after(g.in_sizes, g.out_sizes, axis)
            k = _axis_kernel(g.kernel, axis)
            rows.append(Stage(f"axis{axis} {'×'.join(map(str, k))}", "depthwise", (g.c_out, *after),
                              conv_counts(q, f, 1, q(f"k_{axis}", g.kernel[axis]), q.prod(f"N_{axis}", after),
                                          self.bias, None), AFTER))
        return rows


def _stage_inputs(stages) -> "saved.SavedTensors":
    """A chain of conv stages: each saves its input (the layer's input, then the previous stage's output)."""
    items = [saved.input_(what=f"input ({stages[0].name})")]
    for before, stage in zip(stages, stages[1:]):
        items.append(saved.own(before.name, f"{before.name} output ({stage.name}'s input)",
                               saved.elements(before.output_shape)))
    return saved.SavedTensors(items)


# ---- the designs of `convcalc compare` (layers/design.py loads when compare asks) --------------------------------
def _stage_positions(q, out_sizes) -> list[int]:
    """Positions after each 1-D stage, in axis order (stage i has reduced the axes up to i)."""
    return [prod(_after(q.sizes, out_sizes, i)) for i in range(q.ndim)]


def _dws_ratio(q, arg, out_sizes, layers):
    from .design import kernel_text

    r = Fraction(1, q.c_out) + Fraction(1, prod(q.kernel))
    return r, r, f"1/C_out + 1/k{'²' if q.ndim == 2 else ''} = 1/{q.c_out} + 1/{kernel_text(q.kernel)}"


def _mid_channels(layers: list[dict], default: int) -> int:
    for layer in layers:
        if isinstance(layer.get("mid"), int):
            return layer["mid"]
    return default


def _separable_ratio(q, arg, out_sizes, layers):
    """C_in → M → … → M → C_out (M = mid, default C_out); the ratio for one channel in valid mode is
    1/m + 1/(m(1 − (m−1)/N)), 2/m with same padding."""
    c, n, k = q.c_in, q.c_out, prod(q.kernel)
    mid = _mid_channels(layers, n)
    chans = [(c, n)] if q.ndim == 1 else [(c, mid)] + [(mid, mid)] * (q.ndim - 2) + [(mid, n)]
    params = Fraction(sum(a * b * kk for (a, b), kk in zip(chans, q.kernel)), c * n * k)
    macs = Fraction(sum(a * b * kk * p for (a, b), kk, p in zip(chans, q.kernel, _stage_positions(q, out_sizes))),
                    c * n * k * prod(out_sizes))
    if q.ndim != 2:
        return params, macs, "Σ_i C_in,i·C_out,i·k_i·positions_i / standard (one 1-D conv per axis)"
    (kh, kw), w_in, w_out = q.kernel, q.sizes[1], out_sizes[1]
    if kh == kw and mid == c == n and w_in == w_out:
        text = f"2/k = 2/{kh}"
    elif kh == kw and mid == c == n:
        text = f"1/k + W_in/(k·W_out) = 1/{kh} + {w_in}/({kh}·{w_out})  (notes: 1/m + 1/(m(1 − (m−1)/N)))"
    else:
        text = f"M·W_in/(C_out·W_out·k_w) + M/(C_in·k_h) = {mid}·{w_in}/({n}·{w_out}·{kw}) + {mid}/({c}·{kh})"
    return params, macs, text


def _flattened_ratio(q, arg, out_sizes, layers):
    """Lateral 1×1 (C_in → F) on the input, then one 1-D conv per axis on each channel (Jin et al. 2014); params
    F·(C + Σk)."""
    c, k = q.c_in, prod(q.kernel)
    params = Fraction(c + sum(q.kernel), c * k)
    macs = Fraction(c * prod(q.sizes) + sum(kk * p for kk, p in zip(q.kernel, _stage_positions(q, out_sizes))),
                    c * k * prod(out_sizes))
    if q.ndim == 2 and len(set(q.kernel)) == 1 and tuple(q.sizes) == tuple(out_sizes):
        kk = q.kernel[0]
        return params, macs, f"1/k² + 2/(C_in·k) = 1/{kk * kk} + 2/({c}·{kk})"
    return params, macs, "(C_in·ΠN_in + Σ_i k_i·positions_i)/(C_in·Πk·ΠN_out)"


def _dws_designs():
    from .design import Design, as_kind

    return (Design("depthwise_separable", "depthwise separable", 20, as_kind("depthwise_separable"), _dws_ratio,
                   ("depthwise_separable",), aliases=("dws", "depthwise-separable")),)


def _separable_designs():
    from .design import Design, as_kind

    return (Design("separable", "spatially separable", 30, as_kind("separable"), _separable_ratio, ("separable",),
                   aliases=("spatial",)),)


def _flattened_designs():
    from .design import Design, as_kind

    return (Design("flattened", "flattened", 40, as_kind("flattened"), _flattened_ratio, ("flattened",)),)


DepthwiseSeparable.designs = staticmethod(_dws_designs)
Separable.designs = staticmethod(_separable_designs)
Flattened.designs = staticmethod(_flattened_designs)
