"""Channel operations: channel shuffle (ShuffleNet) and channel slice (ShuffleNet v2's channel split).

Notation: input (C_in, *N) with d spatial axes, output (C_out, *N_out); Πk is the product of the kernel sizes,
ΠN the number of positions. MACs and FLOPs are per sample.
"""

from __future__ import annotations


from ..spec.fields import Int
from .base import Example, Layer, register


@register
class ChannelShuffle(Layer):
    """Channel shuffle (Zhang et al. 2018, ShuffleNet), as ``torch.nn.ChannelShuffle``: view the C channels as
    (g, C/g), transpose to (C/g, g), flatten. A permutation: no params, no MACs, 0 FLOPs (a copy); the shape and
    the RF are unchanged. ``groups`` must divide C."""

    kind = "channel_shuffle"

    example = Example((6, 3, 3), {"groups": 3})
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

    example = Example((6, 3), {"start": 2, "stop": 5})
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


