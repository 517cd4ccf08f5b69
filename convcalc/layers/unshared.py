"""Unshared convolutions: locally connected (one kernel per output position, DeepFace) and tiled (t kernels per
axis cycled over the output positions); with their designs for ``convcalc compare``."""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..spec.fields import Axes, Bool, Field, Int
from ..spec.yamlio import YBool
from .base import Example, register
from .conv import Conv, as_itself
from . import saved
from .formula import NUMERIC, Counts
from .lowering import not_lowered


class BiasMode(Field):
    """``true`` / ``element`` (a bias per output element), ``channel`` (one per output channel), ``false``.
    Normalised to the words ``element``, ``channel`` or ``none``."""

    type_name = "bias mode"

    def value_schema(self):
        return {"anyOf": [{"type": "boolean"}, {"enum": ["element", "channel", "none"]}]}

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
    example = Example((2, 6, 6), {"out": 3, "kernel": 3, "stride": 2, "padding": 1},
                      also=({"bias": "channel"}, {"bias": False}))
    erf_rule = Conv.erf_rule  # uniform weights make every position's kernel the same: the conv's rule
    written_as = as_itself
    groups = None
    bias = BiasMode(default="element")
    padding_mode = None  # Keras' LocallyConnected2D pads with zeros only
    conv_lowering = not_lowered("unshared weights: every output position has its own kernel, so there is no shared "
                                "filter to transform (Winograd, FFT) nor one weight matrix for an im2col GEMM")

    def group_count(self, c_in):
        return 1

    def channel_terms(self, g, q):
        return q("C_out", g.c_out), q("C_in", g.c_in)  # no groups

    def gemm_flops(self, ins):
        """All its FLOPs: a matrix product per output position ((batch × C_in·Πk) by (C_in·Πk × C_out), as an
        unfold and a batched matmul run it), the bias added in its epilogue."""
        return self.counts(ins).flops

    def kernels(self, out_sizes, q=NUMERIC):
        """How many distinct kernels: one per output position."""
        return q.prod("N_out", out_sizes)

    def bias_term(self, q, c_out, positions, kernels):
        if self.bias == "channel":
            return q.opt(True, c_out, "bias per channel")
        return q.opt(self.bias == "element", c_out * positions, "bias per element")

    def has_bias(self) -> bool:
        return self.bias != "none"

    def saved_for_backward(self, ins):
        """Its input, as a conv: dW needs the input patches (kept as x, not unfolded), dX the weights."""
        return saved.saves(saved.input_())

    def counts(self, ins, q=NUMERIC):
        g = self.geometry(ins[0])
        c_out, per_group = self.channel_terms(g, q)
        taps, positions = q.prod("k", g.kernel), q.prod("N_out", g.out_sizes)
        kernels = self.kernels(g.out_sizes, q)
        macs = c_out * positions * per_group * taps
        params = kernels * c_out * per_group * taps + self.bias_term(q, c_out, positions, kernels)
        flops = 2 * q.named("MACs", macs) + q.opt(self.has_bias(), c_out * positions, "bias adds")
        return Counts(params, 0, macs, flops)

    # unshared weights change nothing in the count: each output position's products have their own weights, and
    # gx and gW still take one product per forward product (the dW sum runs over the batch only, not positions)
    backward_macs = Conv.backward_macs
    backward_flops = Conv.backward_flops

    def details(self, ins):
        return {"kernels": self.kernels(self.geometry(ins[0]).out_sizes)}


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
    example = Example((4, 7, 7), {"out": 4, "kernel": 3, "padding": 1, "tile": 2, "groups": 2})
    erf_rule = Conv.erf_rule  # uniform weights make every kernel the same: the conv's rule
    groups = Int(default=1, min=1)
    bias = Bool(default=True)
    tile = Axes(doc="t: distinct kernels per axis")

    channel_terms = Conv.channel_terms  # tiled convs are grouped: C_in/g
    backward_macs = Conv.backward_macs  # dX = dW = forward MACs, as locally_connected
    gemm_flops = Conv.gemm_flops  # one GEMM per kernel and group, unless one input channel per group
    backward_flops = Conv.backward_flops
    conv_lowering = not_lowered("tiled weights: t kernels per axis cycle over the output positions, so neighbouring "
                                "outputs use different filters; the Winograd and FFT models need one shared filter, "
                                "and im2col one weight matrix")

    def group_count(self, c_in):
        return self.groups

    def kernels(self, out_sizes, q=NUMERIC):
        tiles = self.per_axis("tile", len(out_sizes))
        return q.prod("min(t, N_out)", [min(t, n) for t, n in zip(tiles, out_sizes)])

    def bias_term(self, q, c_out, positions, kernels):
        return q.opt(self.bias, kernels * c_out, "bias per kernel")

    def has_bias(self) -> bool:
        return bool(self.bias)

    def warnings(self, ins):
        out_sizes = self.geometry(ins[0]).out_sizes
        tiles = self.per_axis("tile", len(out_sizes))
        return [f"tile {t} on spatial axis {axis} exceeds its {n} output positions: {n} distinct kernels there"
                for axis, (t, n) in enumerate(zip(tiles, out_sizes)) if t > n]
    saved_for_backward = LocallyConnected.saved_for_backward  # the same: its input


# ---- the designs of `convcalc compare` (layers/design.py loads when compare asks) --------------------------------
def _tiled(q, t: int):
    """Tiled conv (Goodfellow et al. 2016, ch. 9): t per axis, t^n kernels cycled over the output positions."""
    from .design import Built, fit_fields

    if t < 1:
        return Built(reason="the tile must be at least 1")
    return fit_fields([{"type": "tiled", **q.conv_fields(), "tile": t}])


def _locally_connected_ratio(q, arg, out_sizes, layers):
    return (Fraction(prod(out_sizes)), Fraction(1),
            f"params × output positions ({'·'.join(map(str, out_sizes))}); MACs × 1")


def _tiled_ratio(q, t, out_sizes, layers):
    return Fraction(prod(min(t, n) for n in out_sizes)), Fraction(1), f"params × t^n = {t}^{q.ndim}; MACs × 1"


def _locally_connected_designs():
    from .design import Design, as_kind

    return (Design("locally_connected", "locally connected", 70, as_kind("locally_connected"),
                   _locally_connected_ratio, ("locally_connected",), aliases=("lc", "unshared")),)


def _tiled_designs():
    from .design import Design

    return (Design("tiled", "tiled", 80, _tiled, _tiled_ratio, ("tiled",), "t", 2, least=1),)


LocallyConnected.designs = staticmethod(_locally_connected_designs)
Tiled.designs = staticmethod(_tiled_designs)
