"""Convolutions: standard (1/2/3-D by input rank), depthwise, pointwise and transposed."""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..spec.fields import Axes, Bool, Int, Padding
from .base import Example, Layer, per_group_text, per_shape, register, times, window_rf_steps


@register
class Conv(Layer):
    """Standard convolution (cross-correlation, as in every ML library), 1/2/3-D by the input's rank.

    Follows ``torch.nn.Conv{1,2,3}d`` (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).
    For input (C_in, *N), kernel k, stride s, dilation d, padding (p_b, p_a) per axis and g groups::

        k_eff   = d·(k − 1) + 1
        N_out   = floor((N + p_b + p_a − k_eff) / s) + 1          per axis
        params  = C_out · (C_in / g) · Πk  (+ C_out bias)
        MACs    = C_out · ΠN_out · (C_in / g) · Πk
        FLOPs   = 2·MACs (+ C_out · ΠN_out bias adds)

    Shapes: input (C_in, *N) → output (C_out, *N_out).
    """

    kind = "conv"

    example = Example((4, 9, 8), {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "groups": 2})
    summary = "standard convolution, 1/2/3-D by the input rank"
    family = "conv"
    ranks = (1, 2, 3)
    formulas = {
        "shape": "N_out = floor((N + p_b + p_a − k_eff)/s) + 1 per axis, k_eff = d·(k − 1) + 1; channels C_out",
        "params": "C_out·(C_in/g)·Πk (+ C_out bias)",
        "macs": "C_out·ΠN_out·(C_in/g)·Πk",
        "flops": "2·MACs (+ C_out·ΠN_out bias adds)",
        "rf": "r += (k_eff − 1)·j, centre += ((k_eff − 1)/2 − p_b)·j, j *= s per axis",
    }

    out = Int(min=1, doc="output channels")
    kernel = Axes(doc="kernel size per axis")
    stride = Axes(default=1)
    padding = Padding(default=0)
    dilation = Axes(default=1, doc="1 means no dilation")
    groups = Int(default=1, min=1)
    bias = Bool(default=True)

    # The variant kinds override these three to express themselves as a conv.
    def out_channels(self, c_in: int) -> int:
        return self.out

    def group_count(self, c_in: int) -> int:
        return self.groups

    def kernel_size(self, ndim: int) -> tuple[int, ...]:
        return self.per_axis("kernel", ndim)

    @per_shape
    def geometry(self, shape):
        """(c_in, c_out, groups, kernel, stride, dilation, k_eff, pads, out_sizes) for an input shape."""
        self.check_rank(shape)
        c_in, sizes = shape[0], shape[1:]
        ndim = len(sizes)
        c_out, groups = self.out_channels(c_in), self.group_count(c_in)
        for channels, what in ((c_in, "input"), (c_out, "output")):
            if channels % groups:
                key = "groups" if "groups" in self.fields else None
                self.fail(f"{what} channels ({channels}) are not divisible by groups ({groups})",
                          f"choose groups dividing both {c_in} and {c_out}", key)
        kernel = self.kernel_size(ndim)
        stride, dilation = self.per_axis("stride", ndim), self.per_axis("dilation", ndim)
        k_eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        pads = self.padding_pairs("padding", sizes, k_eff, stride)
        out_sizes = tuple(self.window_size(axis, n, k, s, p)
                          for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, pads)))
        return c_in, c_out, groups, kernel, stride, dilation, k_eff, pads, out_sizes

    def output_shape(self, ins):
        _, c_out, *_, out_sizes = self.geometry(ins[0])
        return (c_out, *out_sizes)

    def params(self, ins):
        c_in, c_out, groups, kernel, *_ = self.geometry(ins[0])
        return c_out * (c_in // groups) * prod(kernel) + (c_out if self.bias else 0)

    def macs(self, ins):
        c_in, c_out, groups, kernel, *_, out_sizes = self.geometry(ins[0])
        return c_out * prod(out_sizes) * (c_in // groups) * prod(kernel)

    def flops(self, ins):
        _, c_out, *_, out_sizes = self.geometry(ins[0])
        return 2 * self.macs(ins) + (c_out * prod(out_sizes) if self.bias else 0)

    def receptive_field(self, rfs, ins):
        *_, stride, _, k_eff, pads, _ = self.geometry(ins[0])
        return rfs[0].window(k_eff, stride, [p[0] for p in pads])

    def rf_steps(self, rfs, ins):
        *_, stride, _, k_eff, pads, _ = self.geometry(ins[0])
        return window_rf_steps(rfs[0], k_eff, stride, [p[0] for p in pads])

    def worked(self, ins):
        c_in, c_out, groups, kernel, stride, _, k_eff, pads, out_sizes = self.geometry(ins[0])
        per_group = per_group_text(c_in, groups)
        macs = f"{c_out}·{times(out_sizes)}·{per_group}·{times(kernel)}"
        bias = bool(self.bias)
        return {
            "shape": [f"axis {axis}: floor(({n} + {pb} + {pa} − {k})/{s}) + 1 = {o}"
                      for axis, (n, (pb, pa), k, s, o) in enumerate(zip(ins[0][1:], pads, k_eff, stride, out_sizes))],
            "params": f"{c_out}·{per_group}·{times(kernel)}" + (f" + {c_out}" if bias else ""),
            "macs": macs,
            "flops": f"2·{macs}" + (f" + {c_out}·{times(out_sizes)}" if bias else ""),
        }


@register
class Depthwise(Conv):
    """Depthwise convolution: one k×k filter per input channel (``groups = C_in``), ``multiplier`` filters each.

    MobileNet (Howard et al. 2017); in PyTorch ``Conv2d(C, C·m, k, groups=C)``::

        C_out  = C_in · m
        params = C_in · m · Πk  (+ C_in · m bias)
        MACs   = C_in · m · ΠN_out · Πk
    """

    kind = "depthwise"

    example = Example((3, 8, 7), {"kernel": 3, "multiplier": 2, "stride": 2, "padding": 1})
    summary = "depthwise convolution (groups = input channels), with a channel multiplier"
    formulas = {**Conv.formulas, "params": "C_in·m·Πk (+ C_in·m bias)", "macs": "C_in·m·ΠN_out·Πk",
                "shape": Conv.formulas["shape"].replace("C_out", "C_in·m")}
    out = None  # derived: C_in · multiplier
    groups = None
    multiplier = Int(default=1, min=1, doc="output channels per input channel")

    def out_channels(self, c_in):
        return c_in * self.multiplier

    def group_count(self, c_in):
        return c_in


@register
class Pointwise(Conv):
    """Pointwise (1×1) convolution: a per-position linear map across channels, optionally grouped.

    ``Conv2d(C_in, C_out, 1, groups=g)``: params = C_out · C_in/g (+ C_out), MACs = C_out · ΠN · C_in/g.
    """

    kind = "pointwise"

    example = Example((6, 4, 4), {"out": 5})
    summary = "1×1 convolution across channels, optionally grouped (pointwise grouped)"
    formulas = {**Conv.formulas, "params": "C_out·C_in/g (+ C_out bias)", "macs": "C_out·ΠN_out·C_in/g",
                "shape": "N_out = floor((N + p_b + p_a − 1)/s) + 1 per axis; channels C_out"}
    kernel = None
    padding = Padding(default=0)

    def kernel_size(self, ndim):
        return (1,) * ndim


@register
class ConvTranspose(Conv):
    """Transposed convolution ("deconvolution", fractionally strided), as ``torch.nn.ConvTranspose{1,2,3}d``.

    Each input element scatters ``C_out/g · Πk`` products into the output::

        N_out  = (N − 1)·s − p_b − p_a + d·(k − 1) + output_padding + 1    per axis
        params = C_in · (C_out / g) · Πk  (+ C_out bias)
        MACs   = C_in · ΠN_in · (C_out / g) · Πk

    MACs are counted on *input* positions, because that is the work the scatter (or the GEMM + col2im that
    every library runs) really does; products that land in the cropped border are computed and discarded.
    ``details()['macs_inside_output']`` counts only the products that land inside the output.
    Peer tools (thop, torchinfo, torchscan, torchprofile) count ``C_out · ΠN_out · C_in/g · Πk``, which
    over-counts by about s^d (33,554,432 instead of 8,388,608 for 64→32, k4 s2 p1 on 16×16).

    ``padding`` crops the full output (``valid`` = no crop; ``same`` gives N_out = N·s).
    """

    kind = "conv_transpose"

    example = Example((4, 5, 5), {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2})
    summary = "transposed convolution (fractionally strided), MACs counted on input positions"
    formulas = {
        "shape": "N_out = (N − 1)·s − p_b − p_a + d·(k − 1) + output_padding + 1 per axis; channels C_out",
        "params": "C_in·(C_out/g)·Πk (+ C_out bias)",
        "macs": "C_in·ΠN_in·(C_out/g)·Πk (on input positions: the scatter's work)",
        "flops": "2·MACs (+ C_out·ΠN_out bias adds)",
        "rf": "exact widest set of inputs any output reads; j /= s per axis",
    }
    output_padding = Axes(default=0, min=0, doc="extra size added at the end of each axis")

    @per_shape
    def geometry(self, shape):
        self.check_rank(shape)
        c_in, sizes = shape[0], shape[1:]
        ndim = len(sizes)
        c_out, groups = self.out, self.groups
        for channels, what in ((c_in, "input"), (c_out, "output")):
            if channels % groups:
                self.fail(f"{what} channels ({channels}) are not divisible by groups ({groups})",
                          f"choose groups dividing both {c_in} and {c_out}", "groups")
        kernel = self.per_axis("kernel", ndim)
        stride, dilation = self.per_axis("stride", ndim), self.per_axis("dilation", ndim)
        out_pad = self.per_axis("output_padding", ndim)
        k_eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        pads = self._crop(sizes, k_eff, stride)
        out_sizes = []
        for axis, (n, k, s, (pb, pa), op) in enumerate(zip(sizes, k_eff, stride, pads, out_pad)):
            if op >= max(s, 1) and op >= dilation[axis]:
                self.fail(f"output_padding ({op}) must be smaller than the stride ({s}) or the dilation "
                          f"({dilation[axis]})", "reduce output_padding", "output_padding")
            size = (n - 1) * s - pb - pa + k + op
            if size < 1:
                self.fail(f"output size along spatial axis {axis} is ({n} − 1)·{s} − {pb} − {pa} + {k} + {op} = "
                          f"{size}, below 1", "reduce the padding", "padding")
            out_sizes.append(size)
        return c_in, c_out, groups, kernel, stride, dilation, k_eff, pads, tuple(out_sizes)

    def _crop(self, sizes, k_eff, stride):
        if self.padding == "same":  # N_out = N·s: crop the excess k_eff − s, the odd one after
            pairs = []
            for k, s in zip(k_eff, stride):
                if k < s:
                    self.fail(f"`same` needs the effective kernel ({k}) to be at least the stride ({s})",
                              "use output_padding or a larger kernel", "padding")
                pairs.append(((k - s) // 2, k - s - (k - s) // 2))
            return pairs
        if self.padding == "full":
            self.fail("`full` padding has no meaning for a transposed conv",
                      "use an int, a per-axis list, [before, after] pairs, `valid` or `same`", "padding")
        return self.padding_pairs("padding", sizes, k_eff, stride)

    def params(self, ins):
        c_in, c_out, groups, kernel, *_ = self.geometry(ins[0])
        return c_in * (c_out // groups) * prod(kernel) + (c_out if self.bias else 0)

    def macs(self, ins):
        c_in, c_out, groups, kernel, *_ = self.geometry(ins[0])
        return c_in * prod(ins[0][1:]) * (c_out // groups) * prod(kernel)

    def _landing(self, shape):
        """Per axis: (products landing inside the output, min/max taps per output position)."""
        _, _, _, kernel, stride, dilation, _, pads, out_sizes = self.geometry(shape)
        per_axis = []
        for n, k, s, d, (pb, _), size in zip(shape[1:], kernel, stride, dilation, pads, out_sizes):
            taps = [0] * size
            for i in range(n):
                for t in range(k):
                    o = i * s - pb + t * d
                    if 0 <= o < size:
                        taps[o] += 1
            per_axis.append(taps)
        return per_axis

    def details(self, ins):
        c_in, c_out, groups, *_ = self.geometry(ins[0])
        per_axis = self._landing(ins[0])
        inside = c_in * (c_out // groups) * prod(sum(t) for t in per_axis)
        positions = prod(len(t) for t in per_axis)
        return {
            "macs_inside_output": inside,
            "taps_per_output": {
                "min": prod(min(t) for t in per_axis),
                "max": prod(max(t) for t in per_axis),
                "mean": str(Fraction(prod(sum(t) for t in per_axis), positions)),
            },
        }

    def warnings(self, ins):
        *_, kernel, stride, _, _, _, _ = self.geometry(ins[0])
        uneven = [f"{k} by {s}" for k, s in zip(kernel, stride) if k % s]
        if uneven:
            return [f"kernel not divisible by stride ({', '.join(uneven)}): uneven overlap causes checkerboard "
                    "artefacts (Odena et al. 2016); use a kernel divisible by the stride, or resize + conv"]
        return []

    def receptive_field(self, rfs, ins):
        """Exact: the widest set of input positions any output reads; the jump divides by the stride."""
        shape = ins[0]
        _, _, _, kernel, stride, dilation, k_eff, pads, _ = self.geometry(shape)
        spans, factors, offsets, uneven = [], [], [], False
        for k, s, d, ke, (pb, _) in zip(kernel, stride, dilation, k_eff, pads):
            widest, counts = 0, set()
            for residue in range(s):  # output positions o ≡ residue (mod s) read the same input pattern
                hits = [(residue + pb - t * d) // s for t in range(k) if (residue + pb - t * d) % s == 0]
                counts.add(len(hits))
                if hits:
                    widest = max(widest, max(hits) - min(hits))
            uneven |= len(counts) > 1
            spans.append(widest)
            factors.append(Fraction(1, s))
            offsets.append(Fraction(pb, s) - Fraction(ke - 1, 2 * s))
        rf = rfs[0].step(spans, factors, offsets)
        if uneven:
            rf = rf.flagged(f"{self.name}: taps per output vary with position (stride does not divide kernel)")
        return rf

    def flops(self, ins):
        *_, out_sizes = self.geometry(ins[0])
        return 2 * self.macs(ins) + (self.out * prod(out_sizes) if self.bias else 0)

    def rf_steps(self, rfs, ins):
        return []  # not a forward window: see receptive_field

    def worked(self, ins):
        c_in, c_out, groups, kernel, stride, _, k_eff, pads, out_sizes = self.geometry(ins[0])
        op = self.per_axis("output_padding", len(out_sizes))
        per_group = per_group_text(c_out, groups)
        macs = f"{c_in}·{times(ins[0][1:])}·{per_group}·{times(kernel)}"
        return {
            "shape": [f"axis {axis}: ({n} − 1)·{s} − {pb} − {pa} + {k} + {o_p} = {o}"
                      for axis, (n, s, (pb, pa), k, o_p, o) in enumerate(zip(ins[0][1:], stride, pads, k_eff, op,
                                                                              out_sizes))],
            "params": f"{c_in}·{per_group}·{times(kernel)}" + (f" + {c_out}" if self.bias else ""),
            "macs": macs,
            "flops": f"2·{macs}" + (f" + {c_out}·{times(out_sizes)}" if self.bias else ""),
        }

