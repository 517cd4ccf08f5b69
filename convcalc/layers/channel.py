"""Channel operations: channel shuffle (ShuffleNet) and channel slice (ShuffleNet v2's channel split).

Also the shuffle-grouped design of ``convcalc compare`` (grouped k×k conv, channel shuffle, grouped pointwise
conv), which the channel shuffle makes possible.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

from ..cost.conventions import backward_flops_per_element
from ..spec.fields import Int
from .base import Example, Layer, register
from . import peers, saved
from .formula import NUMERIC, Counts

#: ShuffleNet v1 (Zhang et al. 2018, Table 1) tries g = 1, 2, 3, 4, 8
SHUFFLE_GROUPS = (2, 3, 4, 8)


@register
class ChannelShuffle(Layer):
    """Channel shuffle (Zhang et al. 2018, ShuffleNet), ``torch.nn.ChannelShuffle``'s permutation: view the C
    channels as (g, C/g), transpose to (C/g, g), flatten. A permutation: no params, no MACs, 0 FLOPs (a copy); the
    shape and the RF are unchanged. ``groups`` must divide C. torch takes (B, C, *N) maps only and refuses a flat
    (B, C) input; convcalc permutes a flat input the same way and warns."""

    kind = "channel_shuffle"
    peer_rules = peers.free("a view or a copy, no arithmetic")  # convcalc/layers/peers.py
    summary = "channel shuffle (ShuffleNet): view (g, C/g), transpose, flatten"
    family = "other"
    example = Example((6, 3, 3), {"groups": 3})
    shape_rule = "(C, *N) → (C, *N), C divisible by g"
    groups = Int(min=1)

    saved_for_backward = saved.saves_nothing  # a permutation (its backward is the inverse one)

    def output_shape(self, ins):
        channels = ins[0][0]
        if channels % self.groups:
            self.fail(f"the channels ({channels}) are not divisible by groups ({self.groups})",
                      f"choose groups dividing {channels}", "groups")
        return ins[0]

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(ins[0]) * q.cost("channel_shuffle"))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """The inverse permutation of g: ``rearrange``, 0 per element."""
        return prod(ins[0]) * backward_flops_per_element("rearrange")

    def warnings(self, ins):
        if len(ins[0]) > 1:
            return []
        return ["torch.nn.ChannelShuffle refuses a flat (C,) input (it needs a (B, C, *N) map); convcalc applies the "
                "same permutation to the flat channels; reshape to (C, 1) to run it in torch"]

    def erf_rule(self, ins, out, index):
        """A permutation of channels that all carry the same gradient: the identity."""
        from . import influence

        return influence.identity_rule(len(ins[index]) - 1)


@register
class ChannelSlice(Layer):
    """Channels ``[start, stop)`` of the input (ShuffleNet v2's channel split; ``x[:, start:stop]`` in PyTorch).
    No params, MACs or FLOPs (a view); the RF is unchanged. ``stop`` defaults to C."""

    kind = "channel_slice"
    peer_rules = peers.free("a view or a copy, no arithmetic")  # convcalc/layers/peers.py
    summary = "channels [start, stop) of the input (ShuffleNet v2 channel split)"
    family = "other"
    example = Example((6, 3), {"start": 2, "stop": 5})
    shape_rule = "(C, *N) → (stop − start, *N), 0 ≤ start < stop ≤ C"
    start = Int(default=0, min=0)
    stop = Int(default=None, min=1, doc="one past the last channel (default: all)")

    saved_for_backward = saved.is_strided_view  # a narrow along the channels: a strided view of its input

    def output_shape(self, ins):
        channels = ins[0][0]
        stop = channels if self.stop is None else self.stop
        if stop > channels:
            self.fail(f"stop ({stop}) is past the last channel (the input has {channels})",
                      f"use stop ≤ {channels}", "stop")
        if self.start >= stop:
            self.fail(f"start ({self.start}) must be below stop ({stop})", "give a non-empty range", "start")
        return (stop - self.start, *ins[0][1:])

    def counts(self, ins, q=NUMERIC):
        return Counts(flops=q.elements(self.output_shape(ins)) * q.cost("channel_slice"))

    def backward_flops(self, ins, input_grad=True, trainable=True):
        """g written into its channels of a zero gradient: ``rearrange``, 0 per element."""
        return prod(ins[0]) * backward_flops_per_element("rearrange")

    def moved_elements(self, ins, out, params, buffers):
        """A view of its input (a range of its channels): nothing moves through memory."""
        return 0, 0, 0

    def erf_rule(self, ins, out, index):
        """Only channels start … stop − 1 receive the gradient; it is spread evenly over all C input channels,
        which keeps every later channel sum exact but not a per-channel (depthwise) path."""
        from . import influence

        kept, channels = out[0], ins[index][0]
        return influence.identity_rule(len(ins[index]) - 1, Fraction(kept, channels), approximate=True,
                                       note=f"the gradient of {kept} of {channels} channels is averaged over all "
                                            f"input channels")


# ---- the shuffle-grouped design of `convcalc compare` (layers/design.py loads when compare asks) -------------
def _shuffle(q, g: int):
    """ShuffleNet-style: grouped k×k conv C_in→C_out, channel shuffle, pointwise grouped conv C_out→C_out."""
    from .design import Built, fit_fields, groups_reason

    reason = groups_reason(g, q)
    if reason:
        return Built(reason=reason)
    return fit_fields([{"type": "conv", **q.conv_fields(), "groups": g},
                       {"type": "channel_shuffle", "groups": g},
                       {"type": "pointwise", "out": q.c_out, "groups": g, "bias": q.bias}])


def _shuffle_ratio(q, g: int, out_sizes, layers):
    from .design import kernel_text

    c, n, k = q.c_in, q.c_out, prod(q.kernel)
    r = Fraction(1, g) + Fraction(n, g * c * k)
    return r, r, f"1/g + C_out/(g·C_in·k²) = 1/{g} + {n}/({g}·{c}·{kernel_text(q.kernel)})"


def _shuffle_designs():
    from .design import Design, groups_reason

    return (Design("shuffle", "shuffle-grouped", 50, _shuffle, _shuffle_ratio, ("conv", "channel_shuffle", "pointwise"),
                   "g", 4, lambda q, groups: groups or [g for g in SHUFFLE_GROUPS if not groups_reason(g, q)],
                   lambda q: f"none of g = {', '.join(map(str, SHUFFLE_GROUPS))} divides both channel counts",
                   arg_required=True, aliases=("shuffled", "shuffle_grouped")),)


ChannelShuffle.designs = staticmethod(_shuffle_designs)
