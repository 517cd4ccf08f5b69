"""Resampling: upsample (nearest / linear / bicubic interpolation), as ``torch.nn.Upsample`` / ``F.interpolate``,
the sub-pixel rearrangements pixel shuffle and pixel unshuffle (torch's or ONNX's channel order), and explicit
padding (``torch.nn.functional.pad``: constant, reflect, replicate, circular)."""

from __future__ import annotations

from fractions import Fraction
from math import floor, inf, isfinite, prod

from ..cost.conventions import backward_flops_per_element
from ..spec.fields import PADDING_WORDS, Bool, Choice, Int, Number, Padding, ScaleField, Size
from .base import Example, Layer, ShapeSteps, register, window_rf_steps
from . import peers, saved
from .formula import NUMERIC, SYMBOLIC, Counts


#: the spatial rank torch takes each linear mode on, and back
LINEAR_RANKS = {"linear": 1, "bilinear": 2, "trilinear": 3}
LINEAR_MODES = {rank: mode for mode, rank in LINEAR_RANKS.items()}


@register
class Upsample(Layer):
    """Upsample by ``scale`` or to ``size`` (https://pytorch.org/docs/stable/generated/torch.nn.Upsample.html).

    ``N_out = size`` or ``floor(N · scale)`` per axis, the product taken in double precision as PyTorch takes it
    (``torch.nn.functional.interpolate`` multiplies ``float(input.size(i + 2))`` by the scale; ATen's
    ``upsample::compute_output_size`` likewise): 50 × 2.3 is 114.99999999999999 in double, so 114 (not the exact
    115). Modes: ``nearest`` (a copy, 0 FLOPs); ``linear`` / ``bilinear`` / ``trilinear`` — linear interpolation
    along every spatial axis — cost 2^d multiplies + (2^d − 1) adds per output element; torch takes each on its
    own rank only (1-D / 2-D / 3-D) and convcalc, which takes any of them on any rank, warns when the rank is not
    the mode's; ``bicubic`` (2-D only, as in PyTorch; Keys' cubic convolution with a = −0.75) reads a 4×4
    neighbourhood: 16 multiplies + 15 adds per output element.

    Receptive field: the jump divides by the scale (an exact fraction); nearest reads one input per output,
    linear interpolation two per axis, bicubic four. A non-integer scale is flagged position-dependent.
    """

    kind = "upsample"
    #: how the peers count torch.nn.Upsample (convcalc/layers/peers.py), by the torch mode it runs
    peer_rules = {
        "fvcore": peers.Rule(lambda layer, ins, out: prod(out) * {"nearest": 1, "bilinear": 4}.get(
            layer.torch_mode(ins[0]), 0), "aten::upsample_nearest2d: 1 per output element, upsample_bilinear2d: 4; "
            "the other modes and ranks have no handler: 0"),
        "ptflops": peers.twice(peers.per_output(1, "upsample hook: 1 per output element")),
        "thop": peers.Rule(lambda layer, ins, out: prod(out) * {"nearest": 1, "linear": 5, "bilinear": 11,
                                                                "bicubic": 259}.get(layer.torch_mode(ins[0]), 0),
                           "count_upsample: per output element nearest 1, linear 5, bilinear 11, bicubic 259; "
                           "trilinear \"not implemented yet\": 0"),
        "torchinfo": peers.zero("no weight or bias"),
    }

    def torch_mode(self, shape) -> str:
        """The mode torch.nn.Upsample runs: ``nearest``, ``bicubic``, or the linear mode of the rank."""
        if self.mode in ("nearest", "bicubic"):
            return self.mode
        return {1: "linear", 2: "bilinear", 3: "trilinear"}[len(shape) - 1]
    summary = "upsample by a scale or to a size (nearest, bilinear, bicubic)"
    example = Example((2, 4, 5), {"scale": 2, "mode": "bilinear"}, also=({"mode": "nearest"}, {"mode": "bicubic"}))
    shape_rule = "N_out = size, or floor(N·scale) per axis; channels kept"
    rf_rule = "j /= scale; r += (0 | 1 | 3)·j for nearest | linear | bicubic taps"
    family = "resample"
    ranks = (1, 2, 3)
    mode = Choice(("nearest", "bilinear", "linear", "trilinear", "bicubic"), default="nearest")
    scale = ScaleField(default=None)
    size = Size(default=None)
    align_corners = Bool(default=False)

    def out_sizes(self, shape):
        self.check_rank(shape)
        sizes = shape[1:]
        if (self.scale is None) == (self.size is None):
            self.fail("give exactly one of `scale` and `size`", "write e.g. `scale: 2` or `size: [28, 28]`")
        if self.size is not None:
            return self.per_axis("size", len(sizes))
        return tuple(self.scaled_size(axis, n, s) for axis, (n, s) in
                     enumerate(zip(sizes, self.per_axis("scale", len(sizes)))))

    def scaled_size(self, axis: int, n: int, scale) -> int:
        """``floor(N · scale)`` in double precision, as torch (see the class docstring)."""
        try:
            product = float(n) * float(scale)
        except OverflowError:
            product = inf
        if not isfinite(product):
            self.fail(f"output size along spatial axis {axis} ({n} × {float(scale):g}) overflows the double "
                      "precision torch computes it in", "use a smaller scale, or give `size`", "scale")
        return floor(product)

    def warnings(self, ins):
        rank = len(ins[0]) - 1
        wanted = LINEAR_RANKS.get(self.mode)
        if wanted is None or wanted == rank:
            return []
        axes = "its one axis" if rank == 1 else f"all {rank} axes"
        return [f"mode `{self.mode}` is {wanted}-D in torch (F.interpolate refuses a {rank}-D input); convcalc "
                f"interpolates linearly along {axes}, i.e. as `{LINEAR_MODES[rank]}`: write that mode"]

    saved_for_backward = saved.saves_nothing  # upsample_*_backward needs the sizes only

    def output_shape(self, ins):
        if self.mode == "bicubic" and len(ins[0]) != 3:
            self.fail(f"`bicubic` works on 2-D (C, H, W) input, got {len(ins[0]) - 1}-D",
                      "use `linear`/`trilinear` for 1-D/3-D input", "mode")
        if self.align_corners and self.mode == "nearest":  # torch.nn.functional.interpolate raises here too
            self.fail("`align_corners` applies to the interpolating modes only (linear, bilinear, trilinear, bicubic)",
                      "remove `align_corners: true`, or choose an interpolating `mode`", "align_corners")
        out = self.out_sizes(ins[0])
        for axis, size in enumerate(out):
            if size < 1:
                self.fail(f"output size along spatial axis {axis} is {size}", "use a larger scale or size",
                          "size" if self.size is not None else "scale")
        return (ins[0][0], *out)

    def counts(self, ins, q=NUMERIC):
        """Per output element: nearest a copy; linear 2^d multiplies + (2^d − 1) adds; bicubic 4^d + (4^d − 1)."""
        d = len(ins[0]) - 1
        if self.mode == "nearest":
            per_element = q.cost("upsample_nearest")
        elif self.mode == "bicubic":
            taps = q("4^d", 4 ** d)
            per_element = (taps + taps - 1) * q.cost("upsample_cubic")
        else:
            taps = q("2^d", 2 ** d)
            per_element = (taps + taps - 1) * q.cost("upsample_linear")
        return Counts(flops=q.elements(self.output_shape(ins)) * per_element)

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """upsample_*_backward, per output element: nearest 1 add into its source (``upsample_nearest``); linear
        a weight·g and an add into each of its 2^d corners (``upsample_linear``, 2·2^d); bicubic into each of its
        4^d taps (``upsample_cubic``, 2·4^d)."""
        if not input_grad:
            return 0
        d, out = len(ins[0]) - 1, prod(self.output_shape(ins))
        if self.mode == "nearest":
            return out * backward_flops_per_element("upsample_nearest")
        if self.mode == "bicubic":
            return out * 4 ** d * backward_flops_per_element("upsample_cubic")
        return out * 2 ** d * backward_flops_per_element("upsample_linear")

    def receptive_field(self, rfs, ins):
        sizes, out = ins[0][1:], self.out_sizes(ins[0])
        ratios = [Fraction(n, o) for n, o in zip(sizes, out)]  # input pixels per output pixel
        span = {"nearest": 0, "bicubic": 3}.get(self.mode, 1)
        offsets = [Fraction(0) if self.mode == "nearest" else (r - 1) / 2 for r in ratios]
        rf = rfs[0].step([span] * len(sizes), ratios, offsets)
        if any(o % n for n, o in zip(sizes, out)):
            rf = rf.flagged(f"{self.name}: non-integer scale, so outputs repeat inputs unevenly")
        return rf

    def erf_rule(self, ins, out, index):
        """PyTorch's source index per output (nearest: one input; linear: two; bicubic: four, Keys' weights)."""
        from . import influence

        shape = ins[index]
        rank = len(shape) - 1
        scales = self.per_axis("scale", rank) if self.scale is not None else (None,) * rank
        readers = [influence.resample(n, o, sc, self.mode, self.align_corners)
                   for n, o, sc in zip(shape[1:], self.out_sizes(shape), scales)]
        return influence.ERFRule(Fraction(1), readers)


# ---- sub-pixel rearrangement -----------------------------------------------------------------------------------
ORDER_DOC = ("the channel order of the r^d sub-pixel phases: crd = torch's (channel, then row, column), dcr = ONNX "
             "DepthToSpace's default DCR and SpaceToDepth's (row, column, then channel)")


@register
class PixelShuffle(Layer):
    """Pixel shuffle (Shi et al. 2016, ESPCN), as ``torch.nn.PixelShuffle`` generalised to d axes:
    (C·r^d, *N) → (C, *N·r). A rearrangement: no params, MACs or FLOPs. RF: each output reads one input; the jump
    divides by r.

    ``order`` says which input channel holds output channel c's phase (i, j) (2-D; d-D alike): ``crd``
    (torch.nn.PixelShuffle, ONNX DepthToSpace mode CRD) reads channel c·r² + i·r + j; ``dcr`` (ONNX DepthToSpace
    mode DCR, its default: ``reshape(x, [b, r, r, C, h, w])``, ``transpose([0, 3, 4, 1, 5, 2])``,
    https://onnx.ai/onnx/operators/onnx__DepthToSpace.html) reads channel (i·r + j)·C + c. Counts, shape and RF do
    not depend on it.
    """

    kind = "pixel_shuffle"
    peer_rules = peers.free("a copy, no arithmetic (thop: zero_ops)")  # convcalc/layers/peers.py
    summary = "pixel shuffle (sub-pixel upsampling): (C·r^d, *N) → (C, *N·r)"
    family = "resample"
    ranks = (1, 2, 3)
    example = Example((8, 3, 3), {"factor": 2})
    shape_rule = "(C·r^d, *N) → (C, N_1·r, …)"
    rf_rule = "r unchanged, j /= r, each output reads one input"
    factor = Int(min=1, doc="r: upscale factor per axis")
    order = Choice(("crd", "dcr"), default="crd", doc=ORDER_DOC)

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(self.output_shape(ins)) * q.cost("pixel_shuffle"))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The inverse rearrangement of g: ``rearrange``, 0 per element."""
        return prod(ins[0]) * backward_flops_per_element("rearrange")

    saved_for_backward = saved.saves_nothing  # a rearrangement (a copy)

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

    def erf_rule(self, ins, out, index):
        """Output o reads input floor(o / r) of channel (c, phase); the r^d phases are averaged over the channels."""
        from . import influence

        r = self.factor
        return influence.ERFRule(Fraction(1), [lambda o: [(o // r, Fraction(1, r))] for _ in ins[index][1:]],
                                 approximate=True,
                                 note="the gradient of the r^d sub-pixel phases is averaged over the input channels")


@register
class PixelUnshuffle(Layer):
    """Pixel unshuffle, as ``torch.nn.PixelUnshuffle`` generalised to d axes: (C, *N) → (C·r^d, *N/r), each N
    divisible by r. A rearrangement: no params, MACs or FLOPs. RF: position 0 of the output channels together
    reads an r×…×r block, so it is a window of r with stride r.

    ``order``: where input channel c's phase (i, j) lands: ``crd`` (torch.nn.PixelUnshuffle) in channel
    c·r² + i·r + j, ``dcr`` (ONNX SpaceToDepth: ``reshape(x, [b, C, h/r, r, w/r, r])``,
    ``transpose([0, 3, 5, 1, 2, 4])``, https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html) in channel
    (i·r + j)·C + c. Counts, shape and RF do not depend on it.
    """

    kind = "pixel_unshuffle"
    peer_rules = peers.free("a copy, no arithmetic (thop: zero_ops)")  # convcalc/layers/peers.py
    summary = "pixel unshuffle (space to depth): (C, *N) → (C·r^d, *N/r)"
    family = "resample"
    ranks = (1, 2, 3)
    example = Example((2, 4, 6), {"factor": 2})
    shape_rule = "(C, *N) → (C·r^d, N_1/r, …), N divisible by r"
    rf_rule = "window r, stride r per axis"
    factor = Int(min=1, doc="r: downscale factor per axis")
    order = Choice(("crd", "dcr"), default="crd", doc=ORDER_DOC)

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(self.output_shape(ins)) * q.cost("pixel_shuffle"))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The inverse rearrangement of g: ``rearrange``, 0 per element."""
        return prod(ins[0]) * backward_flops_per_element("rearrange")

    saved_for_backward = saved.saves_nothing  # a rearrangement (a copy)

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

    def erf_rule(self, ins, out, index):
        """Output (c, phase p) at o reads input c at o·r + p: every input channel sees r taps per axis."""
        from . import influence

        r = self.factor
        return influence.ERFRule(Fraction(1), [lambda o: [(o * r + p, 1) for p in range(r)] for _ in ins[index][1:]])


# ---- explicit padding ------------------------------------------------------------------------------------------
class PadWidths(Padding):
    """``padding`` of ``pad``: an int, per-axis ints or ``[before, after]`` pairs, numbers only (a padding word
    needs a kernel size); a negative number crops (``constant`` mode only, checked by the layer)."""

    _least, _words = None, False  # its JSON Schema (Padding.value_schema): any whole number, no words

    def coerce(self, value, mark, evaluate):
        if isinstance(value, str) and value.strip() in PADDING_WORDS:
            self._fail(f"cannot be `{value.strip()}` on `pad`: it needs a kernel size", mark,
                       "give the padding as numbers: an int, a per-axis list, or [before, after] pairs")
        return super().coerce(value, mark, evaluate)

    def _one(self, value, mark, evaluate):
        return self._number(value, mark, evaluate, integral=True)


@register
class Pad(Layer):
    """Explicit padding of the spatial axes: a constant, or the input reflected, replicated or wrapped around.

    As ``torch.nn.functional.pad`` (https://pytorch.org/docs/stable/generated/torch.nn.functional.pad.html) and ONNX
    ``Pad`` (https://onnx.ai/onnx/operators/onnx__Pad.html; ``edge`` = replicate, ``wrap`` = circular)::

        N_out = N + p_b + p_a      per axis; channels kept
        params = MACs = FLOPs = 0  (a copy)

    ``mode``: ``constant`` fills with ``value`` (0, ``torch.nn.ZeroPad2d``/``ConstantPad2d``); ``reflect``
    mirrors about the edge sample, excluding it (torch needs each pad below the axis size); ``replicate`` repeats
    the edge sample; ``circular`` wraps around (each pad at most the axis size). ``value`` applies to constant mode
    only (torch raises otherwise). A negative pad crops, as torch and ONNX allow, in ``constant`` mode only: torch's
    other modes build the border from the uncropped input (and its circular mode mishandles a crop), and ONNX's
    reference implementation (``numpy.pad``) takes no negative widths.

    RF: a window of one tap whose padding before shifts the start: r and j unchanged, start −= p_b·j (a crop moves
    it forward). The window is where the taps fall; in reflect, replicate and circular mode the padded ones hold
    real pixels (mirrored, copied or wrapped in from inside the image), so a border unit sees some pixels twice
    and none beyond the image. The analytic ERF folds those taps back onto the pixels they copy (exact for this
    layer; beyond the map the model is unbounded, as for every kind).
    """

    kind = "pad"
    peer_rules = peers.free("a copy, no arithmetic (thop: zero_ops)")  # convcalc/layers/peers.py
    summary = "explicit padding: constant (value), reflect, replicate or circular; negative crops"
    family = "resample"
    ranks = (1, 2, 3)
    example = Example((2, 4, 5), {"padding": [[1, 2], 1], "mode": "reflect"},
                      also=({"mode": "constant", "padding": [[1, -1], 2], "value": 0.5},))
    rf_rule = "r and j unchanged; start −= p_b·j"
    padding = PadWidths(doc="int, per-axis list, or [before, after] pairs; negative crops (constant mode)")
    mode = Choice(("constant", "reflect", "replicate", "circular"), default="constant")
    value = Number(default=0, doc="the fill of constant mode")

    def saved_for_backward(self, ins):
        """``reflect`` and ``replicate``: the input (``reflection_pad2d_backward(grad, self, padding)``); constant
        and circular padding (a copy, and torch's circular pad of slices and cat): nothing."""
        return saved.saves(saved.input_()) if self.mode in ("reflect", "replicate") else saved.NOTHING

    def pads(self, shape):
        self.check_rank(shape)
        sizes = shape[1:]
        ones = (1,) * len(sizes)
        pairs = self.padding_pairs("padding", sizes, ones, ones)
        if self.value != 0 and self.mode != "constant":
            self.fail(f"`value` applies to `constant` mode only, not `{self.mode}`",
                      "remove `value`, or use `mode: constant`", "value")
        for axis, (n, (b, a)) in enumerate(zip(sizes, pairs)):
            if self.mode != "constant" and (b < 0 or a < 0):
                self.fail(f"negative padding (a crop) works in `constant` mode only; spatial axis {axis} has "
                          f"({b}, {a}) in `{self.mode}` mode",
                          "crop with a `constant` pad first, then pad in this mode", "padding")
            if self.mode == "reflect" and max(b, a) >= n:
                self.fail(f"`reflect` pads by less than the axis size: spatial axis {axis} has {n} positions and the "
                          f"padding ({b}, {a})", f"use a padding below {n}, or `replicate`", "padding")
            if self.mode == "circular" and max(b, a) > n:
                self.fail(f"`circular` wraps around at most once: spatial axis {axis} has {n} positions and the "
                          f"padding ({b}, {a})", f"use a padding of at most {n}", "padding")
            crop = -min(b, 0) - min(a, 0)
            if crop > n:  # torch crops the input first (F.pad narrows it), then pads: a crop beyond it fails there
                self.fail(f"spatial axis {axis} has {n} positions and the padding ({b}, {a}) crops {crop} of them",
                          f"crop at most {n} positions (torch refuses a larger crop even when the pad refills it)",
                          "padding")
            if n + b + a < 1:
                self.fail(f"output size along spatial axis {axis} is {n} + {b} + {a} = {n + b + a}, below 1",
                          f"crop less than the {n} positions", "padding")
        return pairs

    def out_sizes(self, shape, q=NUMERIC):
        return [q("N", n) + q("p_b", b) + q("p_a", a) for n, (b, a) in zip(shape[1:], self.pads(shape))]

    def output_shape(self, ins):
        return (ins[0][0], *self.out_sizes(ins[0]))

    def shape_steps(self, ins, q=SYMBOLIC):
        return ShapeSteps(q("C", ins[0][0]), self.out_sizes(ins[0], q))

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(self.output_shape(ins)) * q.cost("pad"))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """constant: g sliced (0); reflect, replicate, circular: each padded element's gradient added back onto the
        input element it copies (``pad_fold``, 1 per padded element: output − input elements)."""
        if not input_grad or self.mode == "constant":
            return 0
        return (prod(self.output_shape(ins)) - prod(ins[0])) * backward_flops_per_element("pad_fold")

    def receptive_field(self, rfs, ins):
        pairs = self.pads(ins[0])
        return rfs[0].window([1] * len(pairs), [1] * len(pairs), [b for b, _ in pairs])

    def rf_steps(self, rfs, ins):
        pairs = self.pads(ins[0])
        return window_rf_steps(rfs[0], [1] * len(pairs), [1] * len(pairs), [b for b, _ in pairs])

    def erf_rule(self, ins, out, index):
        """Output o reads input o − p_b; in reflect, replicate and circular mode a padded output reads the pixel
        it copies."""
        from . import influence

        shape = ins[index]
        readers = [influence.padded(influence.window(1, 1, 1, b), self.mode, n, n + b + a)
                   for n, (b, a) in zip(shape[1:], self.pads(shape))]
        return influence.ERFRule(Fraction(1), readers)

