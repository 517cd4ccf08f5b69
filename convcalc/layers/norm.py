"""Normalisation layers: batch, layer, group and instance normalisation (family ``norm``).

Every kind here standardises its input over a *set* of elements, y = (x − μ)/√(σ² + eps), then (with ``affine``)
scales and shifts it per channel, y·γ + β. They differ in the sets:

========================  =====================================================  ==========================
kind                      one set                                                 μ, σ² at inference
========================  =====================================================  ==========================
``batchnorm``             one channel, over the batch and every position          running statistics
``layernorm``             ``axis: channels``: the C channels of one position;     the sample's own
                          ``axis: last``: the last axis at every other index
``groupnorm``             the C/g channels of one group and every position        the sample's own
``instancenorm``          one channel, every position                             the sample's own, or the
                                                                                  running ones (tracking)
========================  =====================================================  ==========================

**FLOPs.** With running statistics (batch norm, instance norm with ``track_running_stats``) μ, σ, γ and β are
constants at inference and fold into y = x·scale + shift: ``batchnorm``'s 2 per element. With the sample's own
statistics every operation is counted once (convcalc/cost/conventions.py; docs/flops.md compares fvcore, ptflops
and thop): ``norm_stats`` per element (x − μ, its square, the two sums, × 1/σ), ``norm_set`` per set (two divides by
the set size, + eps, √, a reciprocal, less the first add of each sum) and ``norm_affine`` per element and affine
term (× γ, + β).

**Receptive field and analytic ERF.** An output reads its own position; statistics taken over positions (group and
instance norm, layer norm along a spatial last axis) make it depend on every position of the set as well. That is
global context, like a squeeze-and-excitation gate: the receptive field is kept and says so in a note, and
``convcalc verify --rf`` holds the statistics constant. The analytic ERF (Luo et al. 2016) linearises the network
with uniform weights, and there the statistics have no data-independent linearisation: the Jacobian of a
standardisation over a set of n elements is (1/σ)·(I − 11ᵀ/n − x̂x̂ᵀ/n), which depends on the input through σ and x̂.
Worse, uniform weights give every channel the same value and the same gradient, and I − 11ᵀ/n cancels a gradient
that is constant over the set, so the literal uniform-weight gradient through a layer norm over channels is zero.
So the data-statistics kinds take the *direct path*, statistics held fixed (the identity, as batch norm at
inference is), and report the result as **approximate** with a note; ``--erf measured`` differentiates through
the statistics. The running-statistics forms are affine per channel, so the identity is exact for them.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import backward_flops_per_element as bwd
from ..limits import divisors
from ..spec.fields import Bool, Choice, Int, Number
from .base import Example, Layer, register
from .elementwise import Elementwise
from . import peers, saved
from .formula import NUMERIC, Counts

_EPS_DOC = "added to the variance, torch's default 1e-5; the executor uses it, no count depends on it"


def _eps():
    return Number(default=Fraction(1, 100000), min=0, doc=_EPS_DOC)


@register
class BatchNorm(Elementwise):
    """Batch normalisation, as ``torch.nn.BatchNorm{1,2,3}d`` (Ioffe & Szegedy 2015).

    ``params = 2·C`` (γ, β) when ``affine``; ``buffers = 2·C`` (running mean and variance) when
    ``track_running_stats``. PyTorch also keeps an integer ``num_batches_tracked`` counter, which holds no
    activation statistics and is not counted. FLOPs: the folded inference form, 2 per element.
    """

    kind = "batchnorm"
    summary = "batch normalisation: 2C params (γ, β) and 2C buffers (running mean, var)"
    family = "norm"
    op = "batchnorm"
    any_layout = False  # per channel, on axis 0 (convcalc/cost/layout.py)
    example = Example((3, 4, 4), also=({"affine": False, "track_running_stats": False},))
    affine = Bool(default=True)
    track_running_stats = Bool(default=True)
    eps = _eps()
    #: how the peers count torch.nn.BatchNorm{1,2,3}d in eval mode (convcalc/layers/peers.py)
    peer_rules = {
        "fvcore": peers.per_input(lambda bn: (2 if bn.affine else 1) if bn.track_running_stats else
                                  (5 if bn.affine else 4),
                                  "batchnorm_flop_jit: 2 per element with affine, 1 without (5 or 4 when it "
                                  "normalises with the batch's statistics)"),
        "ptflops": peers.per_input(lambda bn: 2 if bn.affine else 1, "bn hook: 2 per element with affine, else 1"),
        "thop": peers.per_input(lambda bn: 4 if bn.affine else 2, "count_normalization: 2 per element, ×2 affine"),
        "torchinfo": peers.params_times(lambda *_: 1, "its weight and bias params, once per sample"),
    }

    def saved_for_backward(self, ins):
        """Training mode: its input, and the batch's mean and 1/σ per channel in float32 (``native_batch_norm``
        returns ``save_mean``, ``save_invstd``, which ``native_batch_norm_backward`` reads with x; γ and the
        running statistics are parameters and buffers, not activations)."""
        channels = ins[0][0]
        return saved.saves(saved.input_(), saved.own("stats", "mean, 1/σ per channel", 2 * channels, "float32",
                                                     per_sample=False))

    def counts(self, ins, q=NUMERIC):
        channels = 2 * q("C", ins[0][0])
        return Counts(q.opt(self.affine, channels, "γ and β, with affine"),
                      q.opt(self.track_running_stats, channels, "running mean and var, with track_running_stats"),
                      0, q.elements(ins[0]) * q.cost(self.op))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """A training step normalises with the batch statistics, so the backward is batch_norm_backward's
        (PyTorch's CPU kernel): the two sums Σ g and Σ (x − μ)·g per channel (``batchnorm_sums``, 4 per element)
        give dβ and dγ and are needed by the input gradient, dx = (g − Σg/M − (x − μ)·Σ(x − μ)g/(σ²M))·γ/σ
        (``batchnorm_input``, 5 per element). Per sample: C·ΠN × (4 + 5) with the input gradient, × 4 with only
        the parameter gradients."""
        elements = prod(ins[0])
        if input_grad:
            return elements * (bwd("batchnorm_sums") + bwd("batchnorm_input"))
        return elements * bwd("batchnorm_sums") if trainable else 0

    def moved_elements(self, ins, out, params, buffers):
        """At inference the folded form reads one scale and one shift per channel (2·C), whatever ``affine`` and
        ``track_running_stats`` store; the input read and the output written once."""
        return 2 * ins[0][0], prod(ins[0]), prod(out)

    def erf_rule(self, ins, out, index):
        """At inference an affine map per channel; uniform weights make it the identity (Luo et al. 2016)."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


class Standardisation(Layer):
    """The kinds that normalise with the sample's own statistics (unregistered family base).

    A kind gives ``set_size(shape)``: n, the elements of one normalised set (checking the input on the way), and
    ``over``: the set in words, for its notes. Its FLOPs are :meth:`standardise_flops` plus its affine terms.
    """

    family = "norm"
    over = ""

    def set_size(self, shape) -> int:
        raise NotImplementedError

    def global_context(self, shape) -> bool:
        """Whether the statistics read other positions than the output's own (then the RF says so)."""
        return True

    def affine_terms(self) -> int:
        """The affine terms: 2 (γ and β) with ``affine``, else 0."""
        return 2 if self.affine else 0

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """native_layer_norm_backward's work (native_group_norm_backward's, batch norm over (1, B·C, …) for instance
        norm, are the same sums): with the input gradient, per element ``norm_input`` (7) + ``norm_input_affine``
        (1, g·γ) with γ, per normalised set ``norm_backward_set`` (10); when trainable, per element
        ``norm_scale_weight`` (4, dγ = Σ g·x̂) and ``norm_shift_weight`` (1, dβ = Σ g) with β. A training step uses
        the sample's statistics, also with ``track_running_stats``."""
        shape = ins[0]
        elements, terms = prod(shape), self.affine_terms()
        sets = elements // self.set_size(shape)
        flops = 0
        if input_grad:
            flops += elements * (bwd("norm_input") + (bwd("norm_input_affine") if terms else 0)) \
                + sets * bwd("norm_backward_set")
        if trainable and terms:
            flops += elements * (bwd("norm_scale_weight") + (bwd("norm_shift_weight") if terms == 2 else 0))
        return flops

    @staticmethod
    def standardise_flops(q, elements, sets):
        """(x − μ)/σ with μ and σ² from the data: per element and per set (convcalc/cost/conventions.py)."""
        return elements * q.cost("norm_stats") + sets * q.cost("norm_set")

    def output_shape(self, ins):
        self.set_size(ins[0])  # the kind's checks (groups dividing C, a map for instance norm)
        return ins[0]

    def warnings(self, ins):
        if self.set_size(ins[0]) == 1:
            return [f"its normalised sets ({self.over}) hold a single value each, which normalises to 0: the "
                    f"output is β (0 without affine) whatever the input, and no gradient reaches the input"]
        return []

    def receptive_field(self, rfs, ins):
        rf = rfs[0]
        if not self.global_context(ins[0]):
            return rf
        return rf.replaced(notes=rf.notes + (f"{self.name}: also sees {self.over} through its mean and variance",),
                           untracked="", erf_block="")  # (the layout, if a permute set one, is kept)

    def erf_rule(self, ins, out, index):
        """The direct path, statistics held fixed: the identity, approximate (see the module docstring)."""
        from . import influence

        return influence.identity_rule(
            len(ins[index]) - 1, approximate=True,
            note=f"its statistics over {self.over} are held fixed (the identity): the gradient through the mean "
                 f"and variance and the data-dependent 1/σ are left out (--erf measured includes them)")


@register
class LayerNorm(Standardisation):
    """Layer normalisation (Ba, Kiros & Hinton 2016) of each position's channels, as torchvision's
    ``LayerNorm2d`` (ConvNeXt), or of the last axis, as ``torch.nn.LayerNorm(n)``
    (https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html) on a channels-last tensor::

        axis channels: sets of n = C (one per position, S = ΠN);  axis last: n = N_last, S = C·ΠN/N_last
        params = 2·n (γ, β) with ``affine``; n (γ) with ``bias: false`` (torch ≥ 2.1's bias=False)
        FLOPs  = C·ΠN·f_norm_stats + S·f_norm_set + C·ΠN·f_norm_affine per affine term

    Shapes: any → the same. A flat (C,) input is one set of C with either axis.
    """

    kind = "layernorm"
    summary = "layer normalisation over the channels of each position, or over the last axis"
    example = Example((4, 3, 3), also=({"axis": "last"}, {"bias": False}, {"affine": False}))
    rf_rule = "unchanged; along a spatial last axis (`axis: last`) also sees that whole axis through its statistics"
    axis = Choice(("channels", "last"), default="channels",
                  doc="`channels`: over C at every position (LayerNorm2d); `last`: over the last axis")
    affine = Bool(default=True, doc="learnable γ (and β) per element of the normalised axis")
    bias = Bool(default=True, doc="β, with affine (torch.nn.LayerNorm(bias=False) has γ only)")
    own_defaults = ("bias",)  # its shift β is part of the norm: a flat `bias: false` meant for convs is reported
    #: how the peers count torch.nn.LayerNorm (convcalc/layers/peers.py)
    peer_rules = {
        "fvcore": peers.per_input(lambda ln: 5 if ln.affine else 4, "aten::layer_norm: 5 per element with affine, "
                                  "else 4"),
        "ptflops": peers.per_input(1, "its bn hook doubles only modules with `affine`, which LayerNorm calls "
                                      "`elementwise_affine`: 1 per element"),
        "thop": peers.per_input(lambda ln: 4 if ln.affine else 2, "count_normalization: 2 per element, ×2 affine"),
        "torchinfo": peers.params_times(lambda *_: 1, "its weight and bias params, once per sample"),
    }
    eps = _eps()

    @property
    def over(self):
        return "the channels of its position" if self.axis == "channels" else "the whole last axis"

    def set_size(self, shape):
        return shape[0] if self.axis == "channels" else shape[-1]

    def affine_terms(self) -> int:
        """γ and β with ``affine`` (2), γ alone with ``bias: false`` (1), none without ``affine``."""
        return (2 if self.bias else 1) if self.affine else 0

    def global_context(self, shape):
        return self.axis == "last" and len(shape) > 1

    @property
    def any_layout(self) -> bool:
        """``last`` finds its axis itself (a channels-last tensor's channels); ``channels`` reads axis 0."""
        return self.axis == "last"

    def receptive_field(self, rfs, ins):
        if self.axis == "last" and rfs[0].layout is not None:  # a permute moved the axes (convcalc/cost/layout.py)
            from ..cost import layout

            current = layout.entries(rfs[0].layout, ins[0])
            if current != layout.UNKNOWN and layout.features_only(current[-1]):
                return rfs[0]  # channels-last: the statistics are the channels of one position
        return super().receptive_field(rfs, ins)

    def saved_for_backward(self, ins):
        """Its input and the mean and 1/σ of every normalised set in float32 (``native_layer_norm`` returns mean,
        rstd for ``native_layer_norm_backward``); γ and β are parameters."""
        shape = ins[0]
        sets = prod(shape[1:]) if self.axis == "channels" else prod(shape) // shape[-1]
        return saved.saves(saved.input_(), saved.own("stats", "mean, 1/σ per set", 2 * sets, "float32"))

    def counts(self, ins, q=NUMERIC):
        shape = ins[0]
        elements = q.elements(shape)
        if self.axis == "channels":
            n, sets = q("C", shape[0]), q.prod("N", shape[1:])
        else:
            n = q("N_last", shape[-1])
            sets = q.exact_div(elements, n) if len(shape) > 1 else 1
        if self.bias:
            terms, params_note, flops_note = 2, "γ and β, with affine", "scale and shift, with affine"
        else:
            terms, params_note, flops_note = 1, "γ, with affine; no bias", "scale, with affine; no bias"
        return Counts(q.opt(self.affine, terms * n, params_note), 0, 0, self.standardise_flops(q, elements, sets)
                      + q.opt(self.affine, terms * elements * q.cost("norm_affine"), flops_note))


def _divisors_text(channels: int) -> str:
    """``one of 1, 2, 4, …`` (every divisor of ``channels``, ascending) up to 2^20 channels; beyond, only the words
    (listing the divisors of 10^20 − 1 by trying every candidate never ended)."""
    if channels > 1 << 20:
        return f"a divisor of {channels:,}"
    return "one of " + ", ".join(map(str, divisors(channels)))


@register
class GroupNorm(Standardisation):
    """Group normalisation (Wu & He 2018), as ``torch.nn.GroupNorm(g, C)``
    (https://pytorch.org/docs/stable/generated/torch.nn.GroupNorm.html): the channels split into g groups of C/g,
    each standardised over its channels and every position::

        sets: S = g of n = (C/g)·ΠN
        params = 2·C (γ, β per channel, with ``affine``)
        FLOPs  = C·ΠN·f_norm_stats + g·f_norm_set + 2·C·ΠN·f_norm_affine (with affine)

    Shapes: any → the same. g = 1 is a layer norm over (C, *N); g = C an instance norm with affine.
    """

    kind = "groupnorm"
    summary = "group normalisation: g groups of C/g channels, statistics over the group and every position"
    example = Example((4, 3, 3), {"groups": 2}, also=({"groups": 4, "affine": False},))
    rf_rule = "unchanged per position; also sees every position of its group through its statistics"
    over = "every position of its group"
    groups = Int(min=1, doc="g, which must divide C")
    affine = Bool(default=True, doc="learnable γ and β per channel")
    eps = _eps()
    #: how the peers count torch.nn.GroupNorm (convcalc/layers/peers.py)
    peer_rules = {
        "fvcore": peers.per_input(lambda gn: 5 if gn.affine else 4, "aten::group_norm: 5 per element with affine, "
                                  "else 4"),
        "ptflops": peers.per_input(lambda gn: 2 if gn.affine else 1, "bn hook: 2 per element with affine, else 1"),
        "thop": peers.zero("no rule for GroupNorm: zero ops and zero params", params=False),
        "torchinfo": peers.params_times(lambda *_: 1, "its weight and bias params, once per sample"),
    }

    def set_size(self, shape):
        channels = shape[0]
        if channels % self.groups:
            self.fail(f"the channels ({channels}) are not divisible by groups ({self.groups})",
                      f"torch.nn.GroupNorm needs groups dividing C: {_divisors_text(channels)}", "groups")
        return channels // self.groups * prod(shape[1:])

    def global_context(self, shape):
        return len(shape) > 1

    def saved_for_backward(self, ins):
        """Its input and the mean and 1/σ of every group in float32 (``native_group_norm``)."""
        return saved.saves(saved.input_(), saved.own("stats", "mean, 1/σ per group", 2 * self.groups, "float32"))

    def counts(self, ins, q=NUMERIC):
        shape = ins[0]
        self.set_size(shape)
        elements = q.elements(shape)
        return Counts(q.opt(self.affine, 2 * q("C", shape[0]), "γ and β, with affine"), 0, 0,
                      self.standardise_flops(q, elements, q("g", self.groups))
                      + q.opt(self.affine, 2 * elements * q.cost("norm_affine"), "scale and shift, with affine"))


@register
class InstanceNorm(Standardisation):
    """Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016), as ``torch.nn.InstanceNorm{1,2,3}d``
    (https://pytorch.org/docs/stable/generated/torch.nn.InstanceNorm2d.html): each channel standardised over its
    positions::

        sets: S = C of n = ΠN
        params = 2·C (γ, β, with ``affine``); buffers = 2·C (running mean and var, with ``track_running_stats``)
        FLOPs  = C·ΠN·f_norm_stats + C·f_norm_set + 2·C·ΠN·f_norm_affine (with affine)
                 with track_running_stats: C·ΠN·f_batchnorm (eval uses the running statistics: the folded form)

    As torch in eval mode: with ``track_running_stats`` the running statistics normalise (an affine map per
    channel, like batch norm at inference), else the sample's own. Shapes: (C, *N) → the same, N at least 1-D.
    """

    kind = "instancenorm"
    summary = "instance normalisation: each channel over its positions (running statistics when tracked)"
    ranks = (1, 2, 3)
    example = Example((3, 4, 4), {"affine": True}, also=({"track_running_stats": True},))
    rf_rule = "unchanged per position; without track_running_stats also sees its whole map through its statistics"
    over = "every position of its channel"
    affine = Bool(default=False, doc="learnable γ and β per channel (torch's default: none)")
    track_running_stats = Bool(default=False, doc="running mean and var as buffers; eval then normalises with them")
    #: how the peers count torch.nn.InstanceNorm{1,2,3}d (convcalc/layers/peers.py)
    peer_rules = {
        "fvcore": peers.per_input(lambda n: 5 if n.affine else 4, "aten::instance_norm: 5 per element with "
                                  "affine, else 4"),
        "ptflops": peers.per_input(lambda n: 2 if n.affine else 1, "bn hook: 2 per element with affine, else 1"),
        "thop": peers.per_input(lambda n: 4 if n.affine else 2, "count_normalization: 2 per element, ×2 affine"),
        "torchinfo": peers.params_times(lambda *_: 1, "its weight and bias params, once per sample"),
    }
    eps = _eps()

    def set_size(self, shape):
        if len(shape) < 2:
            self.fail(f"expects a map (C, L), (C, H, W) or (C, D, H, W), got flat features ({shape[0]},)",
                      "instance norm takes its statistics over positions; on flat features use layernorm or "
                      "batchnorm")
        self.check_rank(shape)
        return prod(shape[1:])

    def global_context(self, shape):
        return not self.track_running_stats

    def warnings(self, ins):
        if self.track_running_stats:
            return []
        return [warning + " (torch.nn.InstanceNorm refuses such an input: \"Expected more than 1 spatial element\")"
                for warning in super().warnings(ins)]

    def saved_for_backward(self, ins):
        """torch's ``instance_norm`` runs ``batch_norm`` on the input viewed as (1, B·C, …): its input, the mean
        and 1/σ of every (sample, channel) in float32, and the per-sample copies it makes of γ (with ``affine``)
        and of the running mean and var (with ``track_running_stats``), which batch norm saves as its weight and
        running statistics."""
        channels = ins[0][0]
        items = [saved.input_(), saved.own("stats", "mean, 1/σ per channel", 2 * channels, "float32")]
        if self.affine:
            items.append(saved.own("weight", "γ repeated per sample", channels))
        if self.track_running_stats:
            items.append(saved.own("running", "running mean, var repeated per sample", 2 * channels))
        return saved.SavedTensors(items)

    def counts(self, ins, q=NUMERIC):
        shape = ins[0]
        self.set_size(shape)
        channels, elements = q("C", shape[0]), q.elements(shape)
        params = q.opt(self.affine, 2 * channels, "γ and β, with affine")
        buffers = q.opt(self.track_running_stats, 2 * channels, "running mean and var, with track_running_stats")
        if self.track_running_stats:
            return Counts(params, buffers, 0, elements * q.cost("batchnorm"))
        return Counts(params, buffers, 0, self.standardise_flops(q, elements, channels)
                      + q.opt(self.affine, 2 * elements * q.cost("norm_affine"), "scale and shift, with affine"))

    def erf_rule(self, ins, out, index):
        """With running statistics an affine map per channel: the identity, exact. Else the direct path."""
        from . import influence

        if self.track_running_stats:
            return influence.identity_rule(len(ins[index]) - 1)
        return Standardisation.erf_rule(self, ins, out, index)

