"""Resampling: upsample (nearest / linear / bicubic interpolation), as ``torch.nn.Upsample`` / ``F.interpolate``,
and the sub-pixel rearrangements pixel shuffle and pixel unshuffle."""

from __future__ import annotations

from fractions import Fraction
from math import floor

from ..spec.fields import Bool, Choice, Int, ScaleField, Size
from .base import Example, Layer, register
from .formula import NUMERIC, Counts


@register
class Upsample(Layer):
    """Upsample by ``scale`` or to ``size`` (https://pytorch.org/docs/stable/generated/torch.nn.Upsample.html).

    ``N_out = size`` or ``floor(N · scale)`` per axis (PyTorch's rule). Modes: ``nearest`` (a copy, 0 FLOPs);
    ``bilinear`` — linear interpolation along every spatial axis, i.e. linear / bilinear / trilinear for 1/2/3-D
    inputs — costs 2^d multiplies + (2^d − 1) adds per output element; ``bicubic`` (2-D only, as in PyTorch; Keys'
    cubic convolution with a = −0.75) reads a 4×4 neighbourhood: 16 multiplies + 15 adds per output element.

    Receptive field: the jump divides by the scale (an exact fraction); nearest reads one input per output,
    linear interpolation two per axis, bicubic four. A non-integer scale is flagged position-dependent.
    """

    kind = "upsample"
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
        scale = self.per_axis("scale", len(sizes))
        return tuple(floor(n * Fraction(s)) for n, s in zip(sizes, scale))

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
@register
class PixelShuffle(Layer):
    """Pixel shuffle (Shi et al. 2016, ESPCN), as ``torch.nn.PixelShuffle`` generalised to d axes:
    (C·r^d, *N) → (C, *N·r). A rearrangement: no params, MACs or FLOPs. RF: each output reads one input; the jump
    divides by r."""

    kind = "pixel_shuffle"
    summary = "pixel shuffle (sub-pixel upsampling): (C·r^d, *N) → (C, *N·r)"
    family = "resample"
    ranks = (1, 2, 3)
    example = Example((8, 3, 3), {"factor": 2})
    shape_rule = "(C·r^d, *N) → (C, N_1·r, …)"
    rf_rule = "r unchanged, j /= r, each output reads one input"
    factor = Int(min=1, doc="r: upscale factor per axis")

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(self.output_shape(ins)) * q.cost("pixel_shuffle"))

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
    reads an r×…×r block, so it is a window of r with stride r."""

    kind = "pixel_unshuffle"
    summary = "pixel unshuffle (space to depth): (C, *N) → (C·r^d, *N/r)"
    family = "resample"
    ranks = (1, 2, 3)
    example = Example((2, 4, 6), {"factor": 2})
    shape_rule = "(C, *N) → (C·r^d, N_1/r, …), N divisible by r"
    rf_rule = "window r, stride r per axis"
    factor = Int(min=1, doc="r: downscale factor per axis")

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(self.output_shape(ins)) * q.cost("pixel_shuffle"))

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
