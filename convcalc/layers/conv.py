"""Convolutions: standard (1/2/3-D by input rank), depthwise, pointwise and transposed.

Also the standard, grouped and dilated designs of ``convcalc compare`` (:data:`Conv.designs`), and
:func:`conv_counts`, the counting of one plain convolution that the composite kinds reuse for their stages.

This module is long because a kind answers every question about itself (docs/extending.md), and the convolutions
answer the most: forward counts, the receptive field, the designs of `compare`, the backward MACs and saved
tensors of `cost --train`, the lowering of `cost --algorithm` and the traffic of `cost --device`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from math import prod

from ..spec.fields import Axes, Bool, Choice, Int, Padding
from .base import (Example, Layer, ShapeSteps, SlidingWindow, effective_kernel, per_shape,
                   register)
from ..cost.conventions import backward_flops_per_element
from .formula import NUMERIC, SYMBOLIC, Counts
from ..limits import DIVISOR_SEARCH, divisors, number_text
from . import peers, saved
from .lowering import Lowered, not_lowered
from .scatter import MAX_SCATTER_TAPS, landing, tap_classes

#: what a conv's padding holds, as torch.nn.Conv{1,2,3}d's ``padding_mode``
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class ConvGeometry:
    """A convolution at one input shape: channels, per-axis kernel/stride/dilation/effective kernel, (before,
    after) padding, input and output sizes. (A slotted record with named fields: cheaper to define than a named
    tuple, on every run.)"""

    __slots__ = ("c_in", "c_out", "groups", "kernel", "stride", "dilation", "k_eff", "pads", "in_sizes", "out_sizes")

    def __init__(self, c_in: int, c_out: int, groups: int, kernel: tuple[int, ...], stride: tuple[int, ...],
                 dilation: tuple[int, ...], k_eff: tuple[int, ...], pads: tuple[tuple[int, int], ...],
                 in_sizes: tuple[int, ...], out_sizes: tuple[int, ...]):
        self.c_in, self.c_out, self.groups, self.kernel, self.stride = c_in, c_out, groups, kernel, stride
        self.dilation, self.k_eff, self.pads, self.in_sizes, self.out_sizes = dilation, k_eff, pads, in_sizes, out_sizes


def conv_counts(q, c_out, per_group, taps, positions, bias: bool, macs_name: str | None = "MACs") -> Counts:
    """One plain convolution (torch.nn.Conv semantics), written once for every kind and stage that is one::

        params = C_out·(C_in/g)·Πk (+ C_out bias)
        MACs   = C_out·ΠN_out·(C_in/g)·Πk
        FLOPs  = 2·MACs (+ C_out·ΠN_out bias adds)

    The arguments are quantities of ``q`` (:mod:`convcalc.layers.formula`), so the caller chooses their names:
    a depthwise stage passes ``C_in·m`` output channels and 1 channel per group."""
    macs = c_out * positions * per_group * taps
    params = c_out * per_group * taps + q.opt(bias, c_out, "bias")
    flops = 2 * (q.named(macs_name, macs) if macs_name else macs) + q.opt(bias, c_out * positions, "bias adds")
    return Counts(params, 0, macs, flops)


@register
class Conv(SlidingWindow, Layer):
    """Standard convolution (cross-correlation, as in every ML library), 1/2/3-D by the input's rank.

    Follows ``torch.nn.Conv{1,2,3}d`` (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).
    For input (C_in, *N), kernel k, stride s, dilation d, padding (p_b, p_a) per axis and g groups::

        k_eff   = d·(k − 1) + 1
        N_out   = floor((N + p_b + p_a − k_eff) / s) + 1          per axis
        params  = C_out · (C_in / g) · Πk  (+ C_out bias)
        MACs    = C_out · ΠN_out · (C_in / g) · Πk
        FLOPs   = 2·MACs (+ C_out · ΠN_out bias adds)

    Shapes: input (C_in, *N) → output (C_out, *N_out).

    ``padding_mode`` (``zeros``; ``reflect``, ``replicate``, ``circular``), as torch.nn.Conv2d: what the padded
    positions hold (torch pads with ``torch.nn.functional.pad`` in that mode, then convolves without padding:
    reflect needs each pad below the axis size, circular at most the axis size). Counts, shape and the theoretical
    RF do not depend on it (the same window; in the non-zero modes its taps beyond the border hold real pixels,
    mirrored, copied or wrapped in); the analytic ERF folds those taps back onto the pixels they copy.
    """

    kind = "conv"
    summary = "standard convolution, 1/2/3-D by the input rank"
    family = "conv"
    ranks = (1, 2, 3)
    example = Example((4, 9, 8), {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "groups": 2},
                      also=({"groups": 1, "bias": False},))

    out = Int(min=1, doc="output channels")
    kernel = Axes(doc="kernel size per axis")
    stride = Axes(default=1)
    padding = Padding(default=0)
    dilation = Axes(default=1, doc="1 means no dilation")
    groups = Int(default=1, min=1)
    bias = Bool(default=True)
    padding_mode = Choice(PADDING_MODES, default="zeros", doc="what the padding holds, as torch.nn.Conv2d")
    #: how the peers count torch.nn.Conv{1,2,3}d (convcalc/layers/peers.py)
    peer_rules = {
        "fvcore": peers.macs("aten::_convolution: Πweight·ΠN_out, bias not counted"),
        "ptflops": peers.macs_bias("conv hook: Πk·C_in·C_out/g per output position, + C_out·ΠN_out bias"),
        "thop": peers.macs("count_convNd: output elements·(C_in/g)·Πk, bias not counted"),
        "torchinfo": peers.macs_bias("(weight + bias params)·ΠN_out"),
    }

    # The variant kinds override these to express themselves as a conv.
    def out_channels(self, c_in: int) -> int:
        return self.out

    def group_count(self, c_in: int) -> int:
        return self.groups

    def kernel_size(self, ndim: int) -> tuple[int, ...]:
        return self.per_axis("kernel", ndim)

    def channel_terms(self, g: ConvGeometry, q):
        """(output channels, input channels per group) as quantities of ``q``, named as this kind writes them."""
        return q("C_out", g.c_out), q.per_group("C_in", g.c_in, g.groups)

    @per_shape
    def geometry(self, shape) -> ConvGeometry:
        self.check_rank(shape)
        c_in, sizes = shape[0], tuple(shape[1:])
        ndim = len(sizes)
        c_out, groups = self.out_channels(c_in), self.group_count(c_in)
        for channels, what in ((c_in, "input"), (c_out, "output")) if c_in % groups or c_out % groups else ():
            if channels % groups:
                key = "groups" if "groups" in self.fields else None
                self.fail(f"{what} channels ({channels}) are not divisible by groups ({groups})",
                          f"choose groups dividing both {c_in} and {c_out}", key)
        kernel = self.kernel_size(ndim)
        stride, dilation = self.per_axis("stride", ndim), self.per_axis("dilation", ndim)
        k_eff = effective_kernel(kernel, dilation)
        pads = tuple(self.padding_pairs("padding", sizes, k_eff, stride))
        if self.padding_mode not in (None, "zeros"):
            self.check_padding_mode(sizes, pads)
        out_sizes = self.out_sizes(sizes, k_eff, stride, pads)
        return ConvGeometry(c_in, c_out, groups, kernel, stride, dilation, k_eff, pads, sizes, out_sizes)

    def check_padding_mode(self, sizes, pads):
        """torch.nn.functional.pad's limits in the non-zero modes: reflect pads below the size, circular at most it."""
        mode = self.padding_mode
        for axis, (n, (b, a)) in enumerate(zip(sizes, pads)):
            if mode == "reflect" and max(b, a) >= n:
                self.fail(f"`padding_mode: reflect` pads by less than the axis size: spatial axis {axis} has {n} "
                          f"positions and the padding ({b}, {a})", f"use a padding below {n}, or `replicate`",
                          "padding_mode")
            if mode == "circular" and max(b, a) > n:
                self.fail(f"`padding_mode: circular` wraps around at most once: spatial axis {axis} has {n} positions "
                          f"and the padding ({b}, {a})", f"use a padding of at most {n}", "padding_mode")

    def out_sizes(self, sizes, k_eff, stride, pads, q=NUMERIC):
        out = []
        for axis, (n, k, s, p) in enumerate(zip(sizes, k_eff, stride, pads)):  # (a loop: cheaper than a generator)
            out.append(self.window_size(axis, n, k, s, p, False, q))
        return tuple(out)

    def shape_steps(self, ins, q=SYMBOLIC):
        g = self.geometry(ins[0])
        k_eff = effective_kernel(g.kernel, g.dilation, q)
        return ShapeSteps(self.channel_terms(g, q)[0], list(self.out_sizes(g.in_sizes, k_eff, g.stride, g.pads, q)))

    def saved_for_backward(self, ins):
        """Its input x: ``convolution_backward`` needs x for dW and the weight (a parameter) for dX
        (derivatives.yaml, ``convolution``). Where torch pads first — asymmetric padding (an explicit
        ``F.pad``, as cuDNN and ATen take one padding per axis) or a ``padding_mode`` other than zeros — the conv
        saves the padded input instead; reflect and replicate padding also save the unpadded input."""
        g = self.geometry(ins[0])
        mode = getattr(self, "padding_mode", None) or "zeros"
        if mode == "zeros" and all(b == a for b, a in g.pads):
            return saved.saves(saved.input_())
        padded = g.c_in * prod(n + b + a for n, (b, a) in zip(g.in_sizes, g.pads))
        items = [saved.own("padded", "padded input", padded)]
        if mode in ("reflect", "replicate"):
            items.insert(0, saved.input_(what="input (the pad's backward)"))
        return saved.SavedTensors(items)

    def output_shape(self, ins):
        g = self.geometry(ins[0])
        return (g.c_out, *g.out_sizes)

    def counts(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        c_out, per_group = self.channel_terms(g, q)
        return conv_counts(q, c_out, per_group, q.prod("k", g.kernel), q.prod("N_out", g.out_sizes), self.bias)

    def backward_macs(self, ins, input_grad=True, trainable=True):
        """``(dX, dW)`` per sample, each equal to the forward MACs. From the definition
        ``y[o, n] = Σ_{c, t} w[o, c, t]·x[c, n·s + t·d − p]``: the input gradient ``gx[c, n·s + t·d − p] +=
        w[o, c, t]·gy[o, n]`` and the weight gradient ``gw[o, c, t] += x[c, n·s + t·d − p]·gy[o, n]`` each take one
        product per forward product (PyTorch's ``convolution_backward`` in tools/autograd/derivatives.yaml). With
        stride s > 1 a library that computes dX as a stride-1 conv of the zero-inserted gy does about s^d times as
        many products, all with inserted zeros; they are not counted. Transposed conv: its forward is counted on
        input positions (the scatter), and dX (a forward conv of gy) and dW read the same products."""
        macs = self.counts(ins).macs
        return (macs if input_grad else 0), (macs if trainable else 0)

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """2 FLOPs per backward MAC (dX and dW, :meth:`backward_macs`), plus the bias gradient when trainable: Σ gy
        over the positions, 1 add per output element (``bias_grad``), as the forward counts its bias add."""
        counts = self.counts(ins)
        dx, dw = self.backward_macs(ins, input_grad, trainable)
        bias_adds = counts.flops - 2 * counts.macs  # the forward's bias adds: C_out·ΠN_out, or 0 without a bias
        return 2 * (dx + dw) + (bias_adds * backward_flops_per_element("bias_grad") if trainable else 0)

    def gemm_flops(self, ins):
        """All its FLOPs when each group reads at least 2 input channels: the conv lowers to a GEMM of
        (C_out/g) × (C_in/g·Πk) by (C_in/g·Πk) × ΠN_out per group (im2col, Chellapilla, Puri & Simard 2006), the
        bias added in its epilogue. 0 with one input channel per group (depthwise, groups = C_in): the reduction is
        only the Πk taps of one channel, so CPU and GPU libraries run a direct per-channel sliding-window kernel
        instead of a GEMM (PyTorch's ``conv_depthwise2d``, oneDNN's depthwise convolution), vector work."""
        g = self.geometry(ins[0])
        return self.counts(ins).flops if g.c_in // g.groups > 1 else 0

    def conv_lowering(self, ins):
        """The plain convolutions it runs, for ``convcalc cost`` (:mod:`convcalc.layers.lowering`): itself."""
        return (Lowered("", self.geometry(ins[0])),)

    def erf_rule(self, ins, out, index):
        """Uniform weights: each output position gathers its k-tap window from C_in/g channels, so the gradient per
        input channel is C_out/g times the window's; with a non-zero ``padding_mode`` the taps in the padding read
        the pixels they copy."""
        from . import influence

        g = self.geometry(ins[index])
        mode = self.padding_mode or "zeros"  # None on the kinds that have no such field
        readers = [influence.padded(reader, mode, n, m)
                   for reader, n, m in zip(self.window_readers(ins[index]), g.in_sizes, g.out_sizes)]
        return influence.ERFRule(Fraction(g.c_out // g.groups), readers)

    # ---- compare ------------------------------------------------------------------------------------------
    def conv_query(self, in_shape, out_shape, source: str = ""):
        """The conv mapping of this layer at its input, for ``convcalc compare --layer`` and ``--as``."""
        from ..spec.fields import plain_value, same_value
        from .design import ConvQuery

        g = self.geometry(tuple(in_shape))
        plain = ("out", "kernel", "stride", "padding", "dilation", "groups", "bias")
        fields = type(self).fields
        extra = {key: plain_value(value) for key, value in self.node.fields.items()
                 if key not in plain and key in fields and not fields[key].required
                 and not same_value(value, fields[key].default)}
        return ConvQuery(in_shape[0], out_shape[0], tuple(g.kernel), tuple(in_shape[1:]), tuple(g.stride),
                         self.node.fields.get("padding", 0), tuple(g.dilation),
                         bool(self.node.fields.get("bias", False)), g.groups, self.name, source, self.kind, extra,
                         self.written_as(g))

    def written_as(self, g: ConvGeometry) -> tuple[str, int | None] | None:
        """The design this layer is, as written: a standard conv, or grouped with its group count."""
        return ("standard", None) if g.groups == 1 else ("grouped", g.groups)


def as_itself(layer, g) -> tuple[str, None]:
    """``written_as`` of a kind derived from conv that is its own design (or none): its kind."""
    return (layer.kind, None)


# ---- the conv designs of `convcalc compare` (layers/design.py loads when compare asks for them) ---------------
def _standard(q, _arg=None):
    from .design import fit_fields

    return fit_fields([{"type": "conv", **q.conv_fields()}])


def _grouped(q, g: int):
    from .design import Built, fit_fields, groups_reason

    reason = groups_reason(g, q)
    return Built(reason=reason) if reason else fit_fields([{"type": "conv", **q.conv_fields(), "groups": g}])


def _grouped_choices(q, groups):
    """``--groups`` when given; else every g with 1 < g < min(C_in, C_out) dividing both, ascending: the divisors
    of gcd(C_in, C_out) (:func:`~convcalc.limits.divisors`: trying every g up to min(C_in, C_out) never ended for
    10^9 channels)."""
    if groups:
        return groups
    return [g for g in divisors(math.gcd(q.c_in, q.c_out)) if 1 < g < min(q.c_in, q.c_out)]


def dilated_kernel(q, d: int) -> tuple[int, ...] | None:
    """Taps per axis of a conv with dilation ``d`` and the same effective kernel, if that maps exactly with fewer
    taps: d'·(k' − 1) = d·(k − 1) on every axis, k' < k on some axis and at least 2 taps wherever k > 1."""
    spans = [dil * (k - 1) for k, dil in zip(q.kernel, q.dilation)]
    if any(span % d for span in spans):
        return None
    kernel = tuple(span // d + 1 for span in spans)
    if any(kk < 2 for kk, k in zip(kernel, q.kernel) if k > 1) or kernel == q.kernel \
            or any(kk > k for kk, k in zip(kernel, q.kernel)):
        return None
    return kernel


def dilation_choices(q, _groups=None) -> list[int]:
    """Every dilation that gives the same receptive field with fewer taps (k = 5: d = 2 with 3 taps, d = 4 with 2)."""
    # d must divide every span dil·(k − 1), so it divides their gcd (0 when every axis is 1 tap: no choice). Trying
    # every d up to the largest span never ended for a kernel of 10^8 taps.
    common = math.gcd(*(dil * (k - 1) for k, dil in zip(q.kernel, q.dilation)))
    return [d for d in (divisors(common) if common else ()) if d >= 2 and d > max(q.dilation) and dilated_kernel(q, d)]


def _dilated(q, d: int):
    from .design import Built, axes_value, fit_fields

    kernel = dilated_kernel(q, d)
    if kernel is None or d <= max(q.dilation):
        return Built(reason=f"dilation {d} does not give the effective kernel "
                            f"{'x'.join(str(dl * (k - 1) + 1) for k, dl in zip(q.kernel, q.dilation))} "
                            f"with fewer taps")
    return fit_fields([{"type": "conv", **q.conv_fields(), "kernel": axes_value(kernel), "dilation": d}])


def _dilated_ratio(q, d: int, out_sizes, layers):
    from .design import kernel_text

    kernel = dilated_kernel(q, d)
    r = Fraction(prod(kernel), prod(q.kernel))
    return r, r, f"k'^n/k^n = {kernel_text(kernel)}/{kernel_text(q.kernel)}"


def _conv_designs():
    """The standard, grouped and dilated designs of a conv mapping."""
    from .design import Design

    return (
        Design("standard", "standard", 0, _standard, lambda q, arg, out_sizes, layers: (Fraction(1), Fraction(1), "1"),
               ("conv",), any_kernel=True, reference=True),
        Design("grouped", "grouped", 10, _grouped,
               lambda q, g, out_sizes, layers: (Fraction(1, g), Fraction(1, g), f"1/g = 1/{g}"),
               ("conv",), "g", 2, _grouped_choices,
               lambda q: f"no group count between 2 and {min(q.c_in, q.c_out) - 1} divides both {q.c_in} and {q.c_out}"
               + (f" (of those with a divisor pair below {DIVISOR_SEARCH:,})"
                  if math.gcd(q.c_in, q.c_out) > DIVISOR_SEARCH ** 2 else ""),
               arg_required=True, aliases=("group", "groups"), any_kernel=True),
        Design("dilated", "dilated", 60, _dilated, _dilated_ratio, ("conv",), "d", 2, dilation_choices,
               lambda q: "no dilation gives the same effective kernel with fewer taps", aliases=("dilation",)),
    )


Conv.designs = staticmethod(_conv_designs)


@register
class Depthwise(Conv):
    """Depthwise convolution: one k×k filter per input channel (``groups = C_in``), ``multiplier`` filters each.

    MobileNet (Howard et al. 2017); in PyTorch ``Conv2d(C, C·m, k, groups=C)``::

        C_out  = C_in · m
        params = C_in · m · Πk  (+ C_in · m bias)
        MACs   = C_in · m · ΠN_out · Πk
    """

    kind = "depthwise"
    summary = "depthwise convolution (groups = input channels), with a channel multiplier"
    example = Example((3, 8, 7), {"kernel": 3, "multiplier": 2, "stride": 2, "padding": 1})
    erf_rule = Conv.erf_rule  # a conv with groups = C_in: the same window and fan-out rule
    peer_rules = Conv.peer_rules  # torch.nn.Conv2d with groups = C_in
    conv_lowering = Conv.conv_lowering  # a conv with groups = C_in: each algorithm runs per channel
    backward_macs = Conv.backward_macs  # dX = dW = forward MACs
    backward_flops = Conv.backward_flops
    gemm_flops = Conv.gemm_flops  # groups = C_in: one input channel per group, so 0 (vector work)
    out = None  # derived: C_in · multiplier
    groups = None
    multiplier = Int(default=1, min=1, doc="output channels per input channel")

    saved_for_backward = Conv.saved_for_backward  # a conv: the same saved input

    def out_channels(self, c_in):
        return c_in * self.multiplier

    def group_count(self, c_in):
        return c_in

    written_as = as_itself

    def channel_terms(self, g, q):
        return q("C_in·m", g.c_out), 1


@register
class Pointwise(Conv):
    """Pointwise (1×1) convolution: a per-position linear map across channels, optionally grouped.

    ``Conv2d(C_in, C_out, 1, groups=g)``: params = C_out · C_in/g (+ C_out), MACs = C_out · ΠN · C_in/g.
    """

    kind = "pointwise"
    summary = "1×1 convolution across channels, optionally grouped (pointwise grouped)"
    example = Example((6, 4, 4), {"out": 5})
    erf_rule = Conv.erf_rule  # a conv with a 1-tap window
    peer_rules = Conv.peer_rules  # torch.nn.Conv2d with a 1×1 kernel
    conv_lowering = Conv.conv_lowering  # a conv with a 1-tap kernel
    gemm_flops = Conv.gemm_flops  # a GEMM (C_out/g × C_in/g) · (C_in/g × ΠN), unless one channel per group
    backward_macs = Conv.backward_macs  # dX = dW = forward MACs
    backward_flops = Conv.backward_flops
    written_as = as_itself
    kernel = None
    padding = Padding(default=0)

    saved_for_backward = Conv.saved_for_backward  # a conv: the same saved input

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
    summary = "transposed convolution (fractionally strided), MACs counted on input positions"
    example = Example((4, 5, 5), {"out": 6, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1,
                                  "groups": 2})
    rf_rule = "exact widest set of inputs any output reads; j /= s per axis"
    output_padding = Axes(default=0, min=0, doc="extra size added at the end of each axis")
    padding_mode = None  # torch.nn.ConvTranspose{1,2,3}d takes only zeros
    #: how the peers count torch.nn.ConvTranspose{1,2,3}d: fvcore and ptflops on the input positions, as convcalc;
    #: thop and torchinfo apply their forward-conv rule to the output positions, an overcount of ΠN_out/ΠN_in
    #: (s² for a 2-D stride s), reproduced only with --with-bugs
    peer_rules = {
        "fvcore": peers.macs("aten::_convolution, transposed: Πweight·ΠN_in"),
        "ptflops": peers.macs_bias("transposed conv hook: Πk·C_in·C_out/g per input position, + bias"),
        "thop": peers.Rule(
            lambda layer, ins, out: layer.counts(ins).macs, "its conv rule meant on the input positions",
            bug=peers.Rule(lambda layer, ins, out: prod(out) * (ins[0][0] // layer.groups)
                           * prod(layer.geometry(ins[0]).kernel),
                           f"count_convNd on the output: C_out·ΠN_out·(C_in/g)·Πk, ΠN_out/ΠN_in times the work "
                           f"(thop {peers.VERSIONS['thop']})")),
        "torchinfo": peers.Rule(
            lambda layer, ins, out: layer.counts(ins).macs + (prod(out) if layer.bias else 0),
            "its conv rule meant on the input positions, + bias",
            bug=peers.Rule(lambda layer, ins, out: layer.counts(ins).params * prod(out[1:]),
                           f"\"Conv\" in the class name: (weight + bias params)·ΠN_out, ΠN_out/ΠN_in times the "
                           f"work (torchinfo {peers.VERSIONS['torchinfo']})")),
    }

    gemm_flops = Conv.gemm_flops  # a GEMM then col2im (the transpose of im2col), unless one channel per group
    conv_lowering = not_lowered("a transposed conv scatters every input into the output (a GEMM on the input "
                                "positions, then col2im): the im2col, Winograd and FFT models of a forward "
                                "correlation do not describe it")

    @per_shape
    def geometry(self, shape):
        self.check_rank(shape)
        c_in, sizes = shape[0], tuple(shape[1:])
        ndim = len(sizes)
        c_out, groups = self.out, self.groups
        for channels, what in ((c_in, "input"), (c_out, "output")):
            if channels % groups:
                self.fail(f"{what} channels ({channels}) are not divisible by groups ({groups})",
                          f"choose groups dividing both {c_in} and {c_out}", "groups")
        kernel = self.per_axis("kernel", ndim)
        stride, dilation = self.per_axis("stride", ndim), self.per_axis("dilation", ndim)
        out_pad = self.per_axis("output_padding", ndim)
        for axis, k in enumerate(kernel):
            if k > MAX_SCATTER_TAPS:  # the scatter's geometry (layers/scatter.py) groups the taps one by one
                self.fail(f"kernel {number_text(k)} along spatial axis {axis} is above the {MAX_SCATTER_TAPS:,} "
                          "taps per axis a transposed conv may have here",
                          f"use a kernel of at most {MAX_SCATTER_TAPS:,} per axis", "kernel")
        for axis, (s, d, op) in enumerate(zip(stride, dilation, out_pad)):
            if op >= max(s, 1) and op >= d:
                self.fail(f"output_padding ({op}) must be smaller than the stride ({s}) or the dilation ({d})",
                          "reduce output_padding", "output_padding")
        k_eff = effective_kernel(kernel, dilation)
        pads = tuple(self._crop(sizes, k_eff, stride))
        return ConvGeometry(c_in, c_out, groups, kernel, stride, dilation, k_eff, pads, sizes,
                            self.out_sizes(sizes, k_eff, stride, pads))

    def out_sizes(self, sizes, k_eff, stride, pads, q=NUMERIC):
        out_pad = self.per_axis("output_padding", len(sizes))
        out = []
        for axis, (n, k, s, (pb, pa), op) in enumerate(zip(sizes, k_eff, stride, pads, out_pad)):
            size = (q("N", n) - 1) * q("s", s) - q("p_b", pb) - q("p_a", pa) + k + q("output_padding", op)
            if size < 1:
                self.fail(f"output size along spatial axis {axis} is ({n} − 1)·{s} − {pb} − {pa} + {int(k)} + "
                          f"{op} = {int(size)}, below 1", "reduce the padding", "padding")
            out.append(size)
        return tuple(out)

    def saved_for_backward(self, ins):
        """Its input (``convolution_backward`` with ``transposed``); the asymmetric crop after it is a view."""
        return saved.saves(saved.input_())

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

    def counts(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        c_in, c_out = q("C_in", g.c_in), q("C_out", g.c_out)
        per_group = q.per_group("C_out", g.c_out, g.groups)
        taps = q.prod("k", g.kernel)
        macs = c_in * q.prod("N_in", g.in_sizes) * per_group * taps
        params = c_in * per_group * taps + q.opt(self.bias, c_out, "bias")
        flops = 2 * q.named("MACs", macs) + q.opt(self.bias, c_out * q.prod("N_out", g.out_sizes), "bias adds")
        return Counts(params, 0, macs, flops)

    backward_macs = Conv.backward_macs  # dX (a forward conv of gy) = dW = the forward's input-position MACs
    backward_flops = Conv.backward_flops

    def details(self, ins):
        g = self.geometry(ins[0])
        per_axis = [landing(n, k, s, d, pb, size) for n, k, s, d, (pb, _), size
                    in zip(g.in_sizes, g.kernel, g.stride, g.dilation, g.pads, g.out_sizes)]
        total = prod(a.total for a in per_axis)
        return {
            "macs_inside_output": g.c_in * (g.c_out // g.groups) * total,
            "taps_per_output": {
                "min": prod(a.least for a in per_axis),
                "max": prod(a.most for a in per_axis),
                "mean": str(Fraction(total, prod(g.out_sizes))),
            },
        }

    def warnings(self, ins):
        g = self.geometry(ins[0])
        uneven = [f"{k} by {s}" for k, s in zip(g.kernel, g.stride) if k % s]
        if uneven:
            return [f"kernel not divisible by stride ({', '.join(uneven)}): uneven overlap causes checkerboard "
                    "artefacts (Odena et al. 2016); use a kernel divisible by the stride, or resize + conv"]
        return []

    def receptive_field(self, rfs, ins):
        """Exact: the widest set of input positions any output reads; the jump divides by the stride."""
        g = self.geometry(ins[0])
        spans, factors, offsets, uneven = [], [], [], False
        for k, s, d, ke, (pb, _) in zip(g.kernel, g.stride, g.dilation, g.k_eff, g.pads):
            # output positions o with o + p_b ≡ ρ (mod s) are written by the taps of class ρ, from inputs
            # (o + p_b − t·d)/s: as many inputs as the class has taps, spanning (its last − its first offset)/s
            classes = tap_classes(k, s, d)
            counts = {len(offsets_) for offsets_ in classes.values()} | ({0} if len(classes) < s else set())
            uneven |= len(counts) > 1
            spans.append(max((c[-1] - c[0]) // s for c in classes.values()))
            factors.append(Fraction(1, s))
            offsets.append(Fraction(pb, s) - Fraction(ke - 1, 2 * s))
        rf = rfs[0].step(spans, factors, offsets)
        if uneven:
            rf = rf.flagged(f"{self.name}: taps per output vary with position (stride does not divide kernel)")
        return rf

    def rf_steps(self, rfs, ins):
        return []  # not a forward window: see receptive_field

    def erf_rule(self, ins, out, index):
        """Each output reads the inputs that scatter to it (o = i·s − p + t·d), C_out/g channels each."""
        from . import influence

        g = self.geometry(ins[index])
        readers = [influence.transposed(k, s, d, p[0]) for k, s, d, p in zip(g.kernel, g.stride, g.dilation, g.pads)]
        return influence.ERFRule(Fraction(g.c_out // g.groups), readers)

    def conv_query(self, in_shape, out_shape, source=""):
        return None  # an upsampling map: no design of compare builds it
